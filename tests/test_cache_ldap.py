"""`dupfix sync --source ldap://…`: on-prem AD into the state cache, a full scan first and then the
DirSync changes (or full scans without the right), against a real Samba AD DC."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from ldap3 import MODIFY_REPLACE
from ldap_fixtures import Ou

from dupfix_policy import cli
from dupfix_policy.addresses import upn_key
from dupfix_policy.sources.cache.source import CacheSource

pytest_plugins = ["ldap_fixtures"]  # the Samba fixtures (samba, ad, ldap_env, ...)


@pytest.fixture(autouse=True)
def _workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _upns(cache: Path, upn: str) -> list[str]:
    source = CacheSource(str(cache), max_age_s=None)
    try:
        return [o.get("userPrincipalName") for o in source.lookup([upn_key(upn)], [])]
    finally:
        source.close()


def test_later_ad_syncs_read_only_what_dirsync_reports_changed(ad: Ou, ldap_env, tmp_path, capsys):
    alice, carol, bob = (f"{n}.{ad.tag}@example.test" for n in ("alice", "carol", "bob"))
    alice_dn = ad.user("alice", upn=alice)
    carol_dn = ad.user("carol", upn=carol)
    cache = tmp_path / "state.db"
    assert cli.main(["sync", "--source", ad.url, "--cache", str(cache), "--quiet"]) == 0
    assert (_upns(cache, alice), _upns(cache, carol)) == ([alice], [carol])
    ad.user("bob", upn=bob)
    ad.conn.modify(alice_dn, {"userPrincipalName": [(MODIFY_REPLACE, [f"alice.new.{ad.tag}@example.test"])]})
    ad.conn.delete(carol_dn)
    capsys.readouterr()
    assert cli.main(["sync", "--cache", str(cache), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"{ad.url}: incremental" in err and "DirSync:" in err
    assert _upns(cache, bob) == [bob]
    assert _upns(cache, alice) == []
    assert _upns(cache, f"alice.new.{ad.tag}@example.test") == [f"alice.new.{ad.tag}@example.test"]
    assert _upns(cache, carol) == []


def test_without_the_replication_right_the_sync_says_so_and_scans_fully(ad: Ou, ldap_env, samba, tmp_path,
                                                                        monkeypatch, capsys):  # fmt: skip
    name, password = f"reader{ad.tag[:8]}", f"Rd-{ad.tag}-0nly!"
    done = subprocess.run(
        ["samba-tool", "user", "create", name, password, "-H", f"ldap://{samba.plain.host}",
         f"--userou={ad.dn.rsplit(',DC=', 2)[0]}", "-U", f"{samba.plain.user}%{samba.plain.password}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-500:]
    monkeypatch.setenv("DUPFIX_LDAP_USER", f"{name}@example.test")
    monkeypatch.setenv("DUPFIX_LDAP_PASSWORD", password)
    alice = f"alice.{ad.tag}@example.test"
    ad.user("alice", upn=alice)
    cache = tmp_path / "state.db"
    assert cli.main(["sync", "--source", ad.url, "--cache", str(cache), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "full scan" in err and "'Replicating Directory Changes' right" in err
    assert _upns(cache, alice) == [alice]
    assert cli.main(["sync", "--cache", str(cache), "--quiet"]) == 0
    assert "full scan" in capsys.readouterr().err  # no cookie stored: a full scan again, not a failure


def test_a_check_from_the_cache_names_the_ad_holder(ad: Ou, ldap_env, tmp_path):
    upn = f"carol.{ad.tag}@example.test"
    dn = ad.user("carol", upn=upn)
    cache = tmp_path / "state.db"
    assert cli.main(["sync", "--source", ad.url, "--cache", str(cache), "--quiet"]) == 0
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"version: 1\nchanges:\n  - op: create\n    kind: user\n    set: {{userPrincipalName: {upn}}}\n")
    report = tmp_path / "report.json"
    assert cli.main(["check", str(plan), "--source", f"cache:{cache}", "--format", f"json={report}"]) == 1
    (finding,) = [f for f in json.loads(report.read_text())["findings"] if f["code"] == "DUP001"]
    assert finding["holders"][0]["objects"] == [{"directory": "ad", "id": ad.guid(dn)}]
