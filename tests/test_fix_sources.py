"""Suggestions against every kind of source: snapshot, state cache, the Graph fake, Samba AD.

The same domain case each time: jane.doe is taken, jane.doe2 is someone's secondary address, so
the suggestion is jane.doe3 (free under each directory's own comparison), found with at most two
extra look-up round trips, and the fixed plan re-checks clean against the same source.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_support import check_report, dupfix, entra_user, errors, write_tenant
from graph_support import (
    TENANT,
    graph,  # noqa: F401  (fixture)
    graph_server,  # noqa: F401  (fixture)
    user,
)
from graphfake import Directory
from ldap_fixtures import Ou

pytest_plugins = ["ldap_fixtures"]  # the Samba fixtures (samba, ad, ldap_env)

PLAN = "version: 1\nchanges:\n  - op: create\n    kind: user\n    set: {{userPrincipalName: {upn}, displayName: Jane Doe}}\n"


@pytest.fixture(autouse=True)
def _workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("DUPFIX_SOURCES", "DUPFIX_CONFIG", "DUPFIX_POLICY", "DUPFIX_FAIL_ON"):
        monkeypatch.delenv(name, raising=False)


def fix(plan: Path, source: str, capsys) -> tuple[int, str]:
    code = dupfix("fix", str(plan), "--source", source, "--write")
    return code, capsys.readouterr().err


def round_trips(err: str) -> int:
    return int(err.rsplit("; ", 1)[1].split(" ", 1)[0])


def test_cache_gives_the_same_suggestion_as_the_snapshot_it_was_synced_from(tmp_path, capsys):
    tenant = write_tenant(tmp_path)
    assert dupfix("sync", "--source", f"snapshot:{tenant}", "--cache", "state.db", "--quiet") == 0
    for source in (f"snapshot:{tenant}", "cache:state.db"):
        plan = tmp_path / "plan.yaml"
        plan.write_text(PLAN.format(upn="jane.doe@contoso.com"), encoding="utf-8")
        code, err = fix(plan, source, capsys)
        assert code == 0 and round_trips(err) == 1, err
        assert "jane.doe3@contoso.com" in plan.read_text(encoding="utf-8")
        _, report = check_report(tmp_path, str(plan), "--source", source)
        assert errors(report) == []


def test_a_second_batch_is_asked_only_when_the_first_has_no_free_value(tmp_path, capsys):
    # jane.doe and jane.doe2 ... jane.doe9 are all someone's: the first batch is used up.

    taken = [entra_user("jane.doe@contoso.com")]
    taken += [entra_user(f"jane.doe{n}@contoso.com") for n in range(2, 10)]
    source = f"snapshot:{write_tenant(tmp_path, taken)}"
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.format(upn="jane.doe@contoso.com"), encoding="utf-8")
    code, err = fix(plan, source, capsys)
    assert code == 0 and round_trips(err) == 2, err
    assert "jane.doe10@contoso.com" in plan.read_text(encoding="utf-8")


def test_graph_soft_deleted_and_quarantined_values_are_never_suggested(graph, tmp_path, capsys):  # noqa: F811
    graph.directory = Directory.of(
        [
            user("jane.doe@contoso.com"),
            user("jane.doe2@contoso.com", state="soft-deleted"),  # in the recycle bin: still held
            user("desk@contoso.com", quarantined=[("UserPrincipalName", "jane.doe3@contoso.com")]),
        ],
        TENANT,
    )
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.format(upn="jane.doe@contoso.com"), encoding="utf-8")
    code, err = fix(plan, "graph", capsys)
    assert code == 0 and round_trips(err) == 1, err
    assert "userPrincipalName: jane.doe4@contoso.com" in plan.read_text(encoding="utf-8")
    _, report = check_report(tmp_path, str(plan), "--source", "graph")
    assert errors(report) == []


def test_samba_ad_holders_of_the_upn_a_secondary_address_and_the_sam_are_all_stepped_around(
    ad: Ou, ldap_env, tmp_path, capsys
):
    domain = "example.test"
    ad.user("jane", upn=f"jane.doe.{ad.tag}@{domain}", sam=f"jd{ad.tag[:8]}")
    # Another AD user has jane.doe.<tag>2 as a secondary address: AD allows it, Entra would not.
    ad.user("desk", upn=f"desk.{ad.tag}@{domain}", proxies=[f"smtp:jane.doe.{ad.tag}2@{domain}"])
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\nchanges:\n  - op: create\n    kind: user\n    directory: ad\n    set:\n"
        f"      userPrincipalName: jane.doe.{ad.tag}@{domain}\n"
        f"      distinguishedName: CN=Jane New,{ad.dn}\n      sAMAccountName: jd{ad.tag[:8]}\n",
        encoding="utf-8",
    )
    code, err = fix(plan, ad.url, capsys)
    assert code == 0 and round_trips(err) == 1, err
    text = plan.read_text(encoding="utf-8")
    assert f"userPrincipalName: jane.doe.{ad.tag}3@{domain}" in text
    assert f"sAMAccountName: jd{ad.tag[:8]}2" in text
    _, report = check_report(tmp_path, str(plan), "--source", ad.url)
    assert errors(report) == []
