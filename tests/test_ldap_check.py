"""`dupfix check / snapshot / whois / doctor` with `--source ldap://…` against a real Samba AD DC,
alone and together with a snapshot of the Entra side (AD + Entra as one check).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ldap_fixtures import Ou, Samba

from dupfix_policy import cli
from dupfix_policy.addresses import guid_to_immutable_id
from dupfix_policy.sources.snapshot.source import SnapshotSource

pytest_plugins = ["ldap_fixtures"]  # the Samba fixtures (samba, ad, ad_exchange, ldap_env, ...)


def dupfix(*args: str) -> int:
    return cli.main(list(args))


def write_plan(tmp_path: Path, text: str) -> str:
    path = tmp_path / "plans" / "change.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("version: 1\nchanges:\n" + text, encoding="utf-8")
    return str(path)


def entra_snapshot(tmp_path: Path, *objects: dict) -> str:
    """A snapshot of the Entra side only (directories: [entra]), as `dupfix snapshot --source graph` writes."""
    path = tmp_path / "entra.json"
    header = {"version": 1, "tenant": {"initialDomain": "example.onmicrosoft.com", "verifiedDomains": ["example.test"]},
              "asOf": "2026-11-20T08:00:00Z", "directories": ["entra"]}  # fmt: skip
    path.write_text(json.dumps({**header, "objects": [{"kind": "user", "directory": "entra", "state": "active", **o}
                                                       for o in objects]}), encoding="utf-8")  # fmt: skip
    return f"snapshot:{path}"


def check(tmp_path: Path, plan: str, *sources: str, extra: tuple[str, ...] = ()) -> tuple[int, dict]:
    report = tmp_path / "report.json"
    args = ["check", plan, *(a for s in sources for a in ("--source", s)), "--format", f"json={report}", *extra]
    code = dupfix(*args)
    return code, json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}


def findings(report: dict, code: str | None = None) -> list[dict]:
    return [f for f in report.get("findings", []) if code is None or f["code"] == code]


def duplicates(report: dict) -> list[dict]:
    return [f for f in report.get("findings", []) if f["code"].startswith("DUP")]


@pytest.fixture(autouse=True)
def _workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


# --- AD alone --------------------------------------------------------------------------------------------


def test_a_planned_upn_held_by_an_ad_user_is_dup001_naming_the_ad_holder(ad: Ou, ldap_env, tmp_path):
    upn = f"alice.{ad.tag}@example.test"
    dn = ad.user("alice", upn=upn)
    plan = write_plan(tmp_path, f"  - op: create\n    kind: user\n    set: {{userPrincipalName: {upn.upper()}}}\n")
    code, report = check(tmp_path, plan, ad.url)
    assert code == 1
    (dup,) = findings(report, "DUP001")
    assert dup["holders"][0]["objects"] == [{"directory": "ad", "id": ad.guid(dn)}]
    assert "on-prem AD" in dup["message"]
    assert report["sources"][0]["origin"] == "ad" and report["sources"][0]["asOf"]


@pytest.mark.parametrize("kind", ["user", "group", "contact"])
def test_a_planned_proxy_held_by_an_ad_object_is_dup002(ad: Ou, ldap_env, tmp_path, kind):
    address = f"sales.{ad.tag}@example.test"
    dn = getattr(ad, kind)(f"holder-{kind}", proxies=[f"SMTP:{address}"])
    plan = write_plan(tmp_path, f"  - op: create\n    kind: group\n    set:\n      displayName: New sales\n"
                                f"      proxyAddresses: ['SMTP:{address}']\n")  # fmt: skip
    code, report = check(tmp_path, plan, ad.url)
    (dup,) = findings(report, "DUP002")
    assert code == 1 and dup["holders"][0]["objects"] == [{"directory": "ad", "id": ad.guid(dn)}]
    assert dup["holders"][0]["kind"] == kind


def test_existing_duplicate_proxies_on_a_touched_key_are_dup009(ad: Ou, ldap_env, tmp_path):
    shared = f"smtp:shared.{ad.tag}@example.test"
    first = ad.user("first", upn=f"first.{ad.tag}@example.test", proxies=[shared])
    second = ad.contact("second", proxies=[shared])  # AD lets two objects hold one address
    plan = write_plan(tmp_path, f"  - op: update\n    kind: user\n    directory: ad\n"
                                f"    target: {{distinguishedName: '{first}'}}\n"
                                f"    add: {{proxyAddresses: ['smtp:first.new.{ad.tag}@example.test']}}\n")  # fmt: skip
    code, report = check(tmp_path, plan, ad.url)
    (existing,) = findings(report, "DUP009")
    assert code == 0 and existing["severity"] == "note"
    holders = sorted(o["id"] for h in existing["holders"] for o in h["objects"])
    assert holders == sorted([ad.guid(first), ad.guid(second)])


def test_filter_metacharacters_in_existing_and_planned_values(ad: Ou, ldap_env, tmp_path):
    odd = f"SMTP:sales(eu)*\\{ad.tag}@example.test"
    ad.contact("odd", proxies=[odd])
    wildcard = "smtp:*@example.test"  # must not match every address in the directory
    plan = write_plan(tmp_path, "  - op: create\n    kind: contact\n    set:\n      displayName: Odd\n"
                                f"      proxyAddresses: [{json.dumps(odd)}, {json.dumps(wildcard)}]\n")  # fmt: skip
    code, report = check(tmp_path, plan, ad.url)
    assert code == 1 and [d["value"] for d in findings(report, "DUP002")] == [odd]


def test_an_unknown_ad_target_is_ref001(ad: Ou, ldap_env, tmp_path):
    plan = write_plan(tmp_path, f"  - op: update\n    kind: user\n    directory: ad\n"
                                f"    target: {{distinguishedName: 'CN=nobody,{ad.dn}'}}\n"
                                f"    set: {{displayName: Nobody}}\n")  # fmt: skip
    code, report = check(tmp_path, plan, ad.url)
    assert code == 1 and [f["change"]["op"] for f in findings(report, "REF001")] == ["update"]


def test_without_the_exchange_schema_the_report_says_what_was_not_checked(ad: Ou, ldap_env, tmp_path):
    plan = write_plan(tmp_path, f"  - op: create\n    kind: user\n    set: {{userPrincipalName: nick.{ad.tag}@example.test,"
                                f" mailNickname: nick{ad.tag}}}\n")  # fmt: skip
    code, report = check(tmp_path, plan, ad.url)
    assert code == 0
    assert any("mailNickname is not in the schema" in n for n in report["notes"])


def test_with_the_exchange_schema_a_user_alias_is_checked_against_ad(ad_exchange: Ou, ldap_env, tmp_path):
    dn = ad_exchange.user("nick", upn=f"nick.{ad_exchange.tag}@example.test", mailNickname=f"nick{ad_exchange.tag}")
    plan = write_plan(tmp_path, f"  - op: create\n    kind: user\n    set: {{userPrincipalName: other.{ad_exchange.tag}"
                                f"@example.test, mailNickname: NICK{ad_exchange.tag}}}\n")  # fmt: skip
    code, report = check(tmp_path, plan, ad_exchange.url, extra=("--fail-on", "warning"))
    (alias,) = findings(report, "DUP013")
    assert code == 1 and alias["holders"][0]["objects"] == [{"directory": "ad", "id": ad_exchange.guid(dn)}]
    assert not any("not in the schema" in n for n in report["notes"])


def test_with_the_exchange_schema_a_target_address_is_checked_against_ad(ad_exchange: Ou, ldap_env, tmp_path):
    ad_exchange.contact("ext", targetAddress=f"SMTP:ext.{ad_exchange.tag}@fabrikam.test")
    plan = write_plan(tmp_path, "  - op: create\n    kind: contact\n    set:\n      displayName: Ext again\n"
                                f"      targetAddress: SMTP:ext.{ad_exchange.tag}@fabrikam.test\n")  # fmt: skip
    code, report = check(tmp_path, plan, ad_exchange.url)
    assert code == 1 and [f["key"] for f in findings(report, "DUP002")] == [
        f"proxy:smtp:ext.{ad_exchange.tag}@fabrikam.test"
    ]


# --- AD + Entra ----------------------------------------------------------------------------------------------


def test_an_ad_user_and_its_entra_twin_are_one_holder(ad: Ou, ldap_env, tmp_path):
    upn = f"bob.{ad.tag}@example.test"
    dn = ad.user("bob", upn=upn, proxies=[f"SMTP:{upn}"])
    guid = ad.guid(dn)
    twin = {"id": "0c1e0000-0000-4000-8000-0000000000b0", "userPrincipalName": upn, "proxyAddresses": [f"SMTP:{upn}"],
            "onPremisesImmutableId": guid_to_immutable_id(guid)}  # fmt: skip
    plan = write_plan(tmp_path, f"  - op: create\n    kind: user\n    set: {{userPrincipalName: {upn}}}\n")
    code, report = check(tmp_path, plan, ad.url, entra_snapshot(tmp_path, twin))
    (dup,) = findings(report, "DUP001")
    assert dup["holders"] == [dup["holders"][0]] and sorted(o["directory"] for o in dup["holders"][0]["objects"]) == [
        "ad", "entra",
    ]  # fmt: skip
    assert {o["id"] for o in dup["holders"][0]["objects"]} == {guid, twin["id"]}
    assert "Entra ID and on-prem AD" in dup["message"]
    assert code == 1


def test_a_twin_linked_by_consistency_guid_is_not_a_duplicate_of_itself(ad: Ou, ldap_env, tmp_path):
    upn = f"carl.{ad.tag}@example.test"
    dn = ad.user("carl", upn=upn, proxies=[f"SMTP:{upn}"])
    anchor = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    ad.set_consistency_guid(dn, anchor)
    twin = {"id": "0c1e0000-0000-4000-8000-0000000000c0", "userPrincipalName": upn,
            "proxyAddresses": [f"SMTP:{upn}", f"smtp:carl.alias.{ad.tag}@example.test"],
            "onPremisesImmutableId": guid_to_immutable_id(anchor)}  # fmt: skip
    plan = write_plan(tmp_path, f"  - op: update\n    kind: user\n    directory: ad\n    target: {{distinguishedName: '{dn}'}}\n"
                                f"    add: {{proxyAddresses: ['smtp:carl.alias.{ad.tag}@example.test']}}\n")  # fmt: skip
    for spec in (ad.url, ad.gc_url):  # a DC port reads the anchor itself; the GC through its DC port
        code, report = check(tmp_path, plan, spec, entra_snapshot(tmp_path, twin))
        assert (code, duplicates(report)) == (0, []), spec


def test_an_ad_create_that_would_soft_match_a_cloud_only_user_is_dup011(ad: Ou, ldap_env, tmp_path):
    upn = f"dana.{ad.tag}@example.test"
    cloud_only = {"id": "0c1e0000-0000-4000-8000-0000000000d0", "userPrincipalName": upn, "proxyAddresses": [f"SMTP:{upn}"]}
    plan = write_plan(tmp_path, f"  - op: create\n    kind: user\n    directory: ad\n"
                                f"    set: {{userPrincipalName: {upn}, sAMAccountName: dana{ad.tag[:8]},"
                                f" proxyAddresses: ['SMTP:{upn}']}}\n")  # fmt: skip
    code, report = check(tmp_path, plan, ad.url, entra_snapshot(tmp_path, cloud_only), extra=("--fail-on", "warning"))
    (takeover,) = findings(report, "DUP011")
    assert takeover["holders"][0]["objects"] == [{"directory": "entra", "id": cloud_only["id"]}]
    assert code == 1 and not findings(report, "DUP001") and not findings(report, "DUP002")


def test_a_cloud_create_that_an_unsynced_ad_user_would_join_is_dup011(ad: Ou, ldap_env, tmp_path):
    upn = f"eve.{ad.tag}@example.test"
    dn = ad.user("eve", upn=upn, proxies=[f"SMTP:{upn}"])  # in AD, no Entra twin yet
    plan = write_plan(tmp_path, f"  - op: create\n    kind: user\n    set: {{userPrincipalName: {upn},"
                                f" proxyAddresses: ['SMTP:{upn}']}}\n")  # fmt: skip
    code, report = check(tmp_path, plan, ad.url, entra_snapshot(tmp_path), extra=("--fail-on", "warning"))
    (takeover,) = findings(report, "DUP011")
    assert takeover["holders"][0]["objects"] == [{"directory": "ad", "id": ad.guid(dn)}]
    assert code == 1


def test_whois_shows_a_synced_user_as_one_identity_in_both_directories(ad: Ou, ldap_env, tmp_path, capsys):
    upn = f"fay.{ad.tag}@example.test"
    dn = ad.user("fay", upn=upn)
    twin = {"id": "0c1e0000-0000-4000-8000-0000000000f0", "userPrincipalName": upn,
            "onPremisesSecurityIdentifier": ad.sid(dn)}  # fmt: skip
    assert dupfix("whois", upn, "--source", ad.url, "--source", entra_snapshot(tmp_path, twin), "--format", "json") == 0
    (holder,) = json.loads(capsys.readouterr().out)["holders"]
    assert sorted(o["directory"] for o in holder["objects"]) == ["ad", "entra"]


# --- snapshot and doctor --------------------------------------------------------------------------------------


def test_snapshot_exports_ad_objects_that_a_check_reads_back(ad: Ou, ldap_env, tmp_path, capsys):
    upn = f"gus.{ad.tag}@example.test"
    dn = ad.user("gus", upn=upn, proxies=[f"SMTP:{upn}"])
    ad.group("gus-team", proxies=[f"SMTP:team.{ad.tag}@example.test"])
    out = tmp_path / "ad.jsonl"
    assert dupfix("snapshot", "--source", ad.url, "--output", str(out)) == 0
    assert "mailNickname is not in the schema" in capsys.readouterr().err
    snap = SnapshotSource(str(out), verify=True)
    (gus,) = [o for o in snap.scan() if o.get("userPrincipalName") == upn]
    assert (gus.id, gus.directory, gus.get("distinguishedName")) == (ad.guid(dn), "ad", dn)
    assert gus.get("objectSid") == ad.sid(dn) and gus.get("sourceAnchor") == guid_to_immutable_id(gus.id)
    assert snap.info.as_of is not None and snap.directories == frozenset({"ad"})
    plan = write_plan(tmp_path, f"  - op: create\n    kind: user\n    set: {{userPrincipalName: {upn}}}\n")
    live = check(tmp_path, plan, ad.url)[1]
    offline = check(tmp_path, plan, f"snapshot:{out}")[1]
    assert [f["code"] for f in duplicates(live)] == [f["code"] for f in duplicates(offline)] == ["DUP001"]


def test_doctor_reports_bind_schema_and_global_catalog(samba: Samba, ldap_env, capsys):
    assert dupfix("doctor", "--source", samba.plain.url) == 0
    out = capsys.readouterr().out
    assert f"bind: bound to ldap://{samba.plain.host}:389" in out
    assert "exchange schema: absent: no mailNickname, targetAddress and no msExch* attributes" in out
    assert f"global catalog: reachable at ldap://{samba.plain.host}:3268" in out


def test_doctor_on_the_global_catalog_names_its_dc_port(samba: Samba, ldap_env, capsys):
    assert dupfix("doctor", "--source", f"ldap://{samba.exchange.host}:3268/") == 0
    out = capsys.readouterr().out
    assert "exchange schema: present (mailNickname, targetAddress, msExchRecipientTypeDetails)" in out
    assert f"domain controller: ldap://{samba.exchange.host}:389" in out


def test_doctor_with_a_wrong_password_fails_without_printing_it(samba: Samba, ldap_env, monkeypatch, capsys):
    monkeypatch.setenv("DUPFIX_LDAP_PASSWORD", "Wr0ng-Secret-77")
    assert dupfix("doctor", "--source", samba.plain.url) == 3
    captured = capsys.readouterr()
    assert "invalid credentials" in captured.out
    assert "Wr0ng-Secret-77" not in captured.out + captured.err


# --- issue 11: AD's comparison, scope, mail-enabled groups (real Samba) -------------------------------------


def ad_create(tmp_path: Path, kind: str, **attrs: str) -> str:
    body = "".join(f"      {k}: '{v}'\n" for k, v in attrs.items())
    return write_plan(tmp_path, f"  - op: create\n    kind: {kind}\n    directory: ad\n    set:\n{body}")


def test_a_upn_with_diacritics_is_refused_as_the_ascii_upn_an_ad_user_holds(ad: Ou, ldap_env, tmp_path):
    upn = f"jorg.{ad.tag}@example.test"
    dn = ad.user("jorg", upn=upn)
    plan = ad_create(tmp_path, "user", userPrincipalName=f"jörg.{ad.tag}@example.test",
                     distinguishedName=f"CN=Jorg Two,{ad.dn}")  # fmt: skip
    code, report = check(tmp_path, plan, ad.url)
    (dup,) = findings(report, "DUP001")
    assert code == 1 and dup["key"] == f"adupn:{upn}"
    assert dup["holders"][0]["objects"] == [{"directory": "ad", "id": ad.guid(dn)}]


def test_an_ad_create_at_a_dn_that_exists_in_another_case_is_dup015(ad: Ou, ldap_env, tmp_path):
    dn = ad.user("Kai Lee", upn=f"kai.{ad.tag}@example.test")
    plan = ad_create(tmp_path, "user", userPrincipalName=f"kai2.{ad.tag}@example.test", distinguishedName=dn.upper())
    code, report = check(tmp_path, plan, ad.url)
    (dup,) = findings(report, "DUP015")
    assert code == 1 and dup["holders"][0]["objects"] == [{"directory": "ad", "id": ad.guid(dn)}]


def test_an_ad_user_outside_sync_scope_holds_nothing_in_entra(ad: Ou, ldap_env, tmp_path):
    upn = f"lena.{ad.tag}@example.test"
    ad.user("lena", upn=upn, proxies=[f"SMTP:{upn}"])
    plan = write_plan(tmp_path, f"  - op: create\n    kind: user\n    set: {{userPrincipalName: {upn}}}\n")
    entra = entra_snapshot(tmp_path)
    _, in_scope = check(tmp_path, plan, ad.url, entra)
    assert [f["code"] for f in duplicates(in_scope)] == ["DUP011"]  # it would sync and soft-match
    config = tmp_path / "scope.dupfix.yaml"
    config.write_text(f"sync:\n  scope:\n    exclude:\n      - '{ad.dn}'\n", encoding="utf-8")
    code, out_of_scope = check(tmp_path, plan, ad.url, entra, extra=("--config", str(config)))
    assert code == 0 and duplicates(out_of_scope) == []


def test_an_ad_group_with_mail_is_mail_enabled_and_its_alias_taken_is_dup010(ad_exchange: Ou, ldap_env, tmp_path):
    tag = ad_exchange.tag
    ad_exchange.group("team", mail=f"team.{tag}@example.test", mailNickname=f"team{tag}")
    plan = ad_create(tmp_path, "group", displayName="Team 2", mail=f"team2.{tag}@example.test",
                     mailNickname=f"TEAM{tag}", distinguishedName=f"CN=Team 2,{ad_exchange.dn}")  # fmt: skip
    code, report = check(tmp_path, plan, ad_exchange.url)
    assert code == 1 and [f["code"] for f in duplicates(report)] == ["DUP010"]
