"""`dupfix audit` over a real Samba AD DC (scan() through ldap3) together with a snapshot of the
Entra side: the duplicate AD allows, its suggested fix as plan and LDIF, and the check's verdict on
both against the same two sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ldap_fixtures import Ou

from dupfix_policy import cli
from dupfix_policy.addresses import guid_to_immutable_id

pytest_plugins = ["ldap_fixtures"]  # the Samba fixtures (samba, ad, ldap_env, ...)


@pytest.fixture(autouse=True)
def _workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def entra_snapshot(tmp_path: Path, *objects: dict) -> str:
    path = tmp_path / "entra.json"
    header = {"version": 1, "tenant": {"initialDomain": "example.onmicrosoft.com", "verifiedDomains": ["example.test"]},
              "asOf": "2026-11-20T08:00:00Z", "directories": ["entra"]}  # fmt: skip
    path.write_text(json.dumps({**header, "objects": [{"kind": "user", "directory": "entra", "state": "active", **o}
                                                       for o in objects]}), encoding="utf-8")  # fmt: skip
    return f"snapshot:{path}"


def run_json(tmp_path: Path, *args: str) -> tuple[int, dict]:
    report = tmp_path / "report.json"
    code = cli.main([*args, "--format", f"json={report}"])
    return code, json.loads(report.read_text(encoding="utf-8"))


def test_a_proxy_address_two_ad_accounts_hold_is_found_and_fixed_on_the_one_not_yet_synced(
    ad: Ou, ldap_env, tmp_path
):
    shared = f"smtp:events.{ad.tag}@example.test"
    nora_upn = f"nora.{ad.tag}@example.test"
    nora = ad.user("nora", upn=nora_upn, proxies=[f"SMTP:{nora_upn}", shared])
    ivy = ad.user(
        "ivy", upn=f"ivy.{ad.tag}@example.test", proxies=[f"SMTP:ivy.{ad.tag}@example.test", shared]
    )
    twin = {"id": "0c1e0000-0000-4000-8000-0000000000c1", "userPrincipalName": nora_upn,
            "proxyAddresses": [f"SMTP:{nora_upn}", shared],
            "onPremisesImmutableId": guid_to_immutable_id(ad.guid(nora))}  # fmt: skip
    sources = ["--source", ad.url, "--source", entra_snapshot(tmp_path, twin)]
    plan, ldif = tmp_path / "fix.yaml", tmp_path / "fix.ldf"

    code, report = run_json(tmp_path, "audit", *sources, "--emit-plan", str(plan), "--emit-ldif", str(ldif))

    (dup,) = [f for f in report["findings"] if f["code"] == "DUP002"]
    assert code == 1 and dup["key"] == f"proxy:smtp:events.{ad.tag}@example.test"
    holders = {h["name"]: sorted(o["directory"] for o in h["objects"]) for h in dup["holders"]}
    assert holders == {nora_upn: ["ad", "entra"], f"ivy.{ad.tag}@example.test": ["ad"]}
    assert dup["resolution"]["actions"] == [
        {"op": "update", "kind": "user", "directory": "ad", "target": {"objectGUID": ad.guid(ivy)},
         "remove": {"proxyAddresses": [shared]}}
    ]  # fmt: skip
    assert (
        f"dn: {ivy}\nchangetype: modify\ndelete: proxyAddresses\nproxyAddresses: {shared}\n-\n"
        in ldif.read_text()
    )

    for fix in (plan, ldif):
        code, checked = run_json(tmp_path, "check", str(fix), *sources)
        assert code == 0 and checked["summary"]["error"] == 0
        assert not [f for f in checked["findings"] if f["code"] == "DUP009" and f["key"] == dup["key"]]


def test_the_audit_leaves_out_what_idfix_leaves_out_and_says_which(ad: Ou, ldap_env, tmp_path):
    # An Exchange health mailbox shares an address with a real mailbox: it never syncs, so IdFix
    # does not report it and neither does the audit; the notes name it.
    shared = f"smtp:ops.{ad.tag}@example.test"
    ad.user(f"HealthMailbox{ad.tag[:7]}", proxies=[shared])
    ad.user("ops", upn=f"ops.{ad.tag}@example.test", proxies=[f"SMTP:ops.{ad.tag}@example.test", shared])

    code, report = run_json(tmp_path, "audit", "--source", ad.url, "--source", entra_snapshot(tmp_path))

    assert code == 0 and [f for f in report["findings"] if f["code"] == "DUP002"] == []
    assert any("CN starts with HealthMailbox" in n and f"HealthMailbox{ad.tag[:7]}" in n for n in report["notes"])


def test_the_audit_leaves_out_idfix_exclusions_from_a_snapshot_too(tmp_path):
    # A snapshot (or the cache) of AD written before dupfix skipped these still holds them.
    path = tmp_path / "ad.json"
    objects = [
        {"id": "0c1e0000-0000-4000-8000-0000000000a1", "kind": "user", "directory": "ad",
         "distinguishedName": "CN=SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c},CN=Users,DC=contoso,DC=com",
         "proxyAddresses": ["SMTP:desk@contoso.com"]},
        {"id": "0c1e0000-0000-4000-8000-0000000000a2", "kind": "user", "directory": "ad",
         "distinguishedName": "CN=Service Desk,OU=Staff,DC=contoso,DC=com", "userPrincipalName": "desk@contoso.com",
         "proxyAddresses": ["SMTP:desk@contoso.com"]},
    ]  # fmt: skip
    path.write_text(json.dumps({"version": 1, "asOf": "2026-11-20T08:00:00Z", "directories": ["ad"],
                                "objects": objects}), encoding="utf-8")  # fmt: skip
    code, report = run_json(tmp_path, "audit", "--source", f"snapshot:{path}")
    assert code == 0 and report["findings"] == []
    (note,) = [n for n in report["notes"] if "left out" in n]
    assert "1 CN starts with SystemMailbox" in note
