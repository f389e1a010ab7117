"""The `cache:PATH` source: what `dupfix sync` wrote is answered by indexed keys, exactly as the
snapshot it came from would answer, and a cache too old for `--max-age` is refused (exit 3)."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from dupfix_policy import cli
from dupfix_policy.addresses import all_lookup_keys, proxy_key, upn_key
from dupfix_policy.errors import EXIT_STATE_UNAVAILABLE, StateUnavailableError, UserInputError
from dupfix_policy.model import Target
from dupfix_policy.sources.cache.source import SCHEMA_VERSION, CacheSource
from dupfix_policy.sources.cache.source import create as create_cache
from dupfix_policy.sources.cache.sync import sync
from dupfix_policy.sources.snapshot.source import SnapshotSource
from dupfix_policy.sources.snapshot.writer import write_snapshot
from dupfix_policy.testing import CONTOSO, ad_user, entra_obj, entra_user, synced_pair

SYNCED_AT = "2026-11-26T08:00:00Z"
ALICE_AD, ALICE_ENTRA = synced_pair("alice@contoso.com", proxyAddresses=("SMTP:alice@contoso.com",))
OBJECTS = [
    ALICE_AD,
    ALICE_ENTRA,
    entra_user("bob@contoso.com", mail="bob@contoso.com", proxyAddresses=("SMTP:bob@contoso.com", "smtp:rob@contoso.com")),
    entra_user("5f0c1e2a3b4c4d5e8f6a7b8c9d0e1f2acarol@contoso.com", id="5f0c1e2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a",
               state="soft-deleted", proxyAddresses=("SMTP:carol@contoso.com",)),
    entra_obj("group", "Sales", displayName="Sales", mail="sales@contoso.com", mailNickname="sales",
              mailEnabled=True, proxyAddresses=("SMTP:sales@contoso.com",)),
    ad_user("dave@contoso.com", sAMAccountName="dave"),
    entra_obj("contact", "Sales (old list)", displayName="Sales (old list)", mail="sales@contoso.com",
              proxyAddresses=("SMTP:sales@contoso.com",)),  # an existing duplicate, for the audit
]  # fmt: skip


@pytest.fixture
def snapshot_file(tmp_path: Path) -> Path:
    path = tmp_path / "tenant.jsonl"
    write_snapshot(str(path), OBJECTS, CONTOSO, "2026-11-26T07:55:00Z", ["entra", "ad"])
    return path


@pytest.fixture
def cache_file(tmp_path: Path, snapshot_file: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DUPFIX_NOW", SYNCED_AT)
    path = tmp_path / "state.db"
    source = SnapshotSource(str(snapshot_file))
    sync(str(path), [source], out=io.StringIO())
    source.close()
    return path


def test_every_key_of_every_object_finds_the_same_holders_as_the_snapshot(cache_file, snapshot_file):
    cache, snapshot = CacheSource(str(cache_file)), SnapshotSource(str(snapshot_file))
    for obj in OBJECTS:
        keys = sorted(all_lookup_keys(obj))
        assert {o.ref for o in cache.lookup(keys, [])} == {o.ref for o in snapshot.lookup(keys, [])}
    cache.close()


def test_objects_come_back_equal_to_what_was_synced(cache_file):
    cache = CacheSource(str(cache_file))
    assert sorted(cache.scan(), key=lambda o: o.ref) == sorted(OBJECTS, key=lambda o: o.ref)
    cache.close()


def test_lookup_by_key_is_case_insensitive_through_the_normalised_key(cache_file):
    cache = CacheSource(str(cache_file))
    found = cache.lookup([proxy_key("smtp:ROB@Contoso.COM") or ""], [])
    assert [o.get("userPrincipalName") for o in found] == ["bob@contoso.com"]
    cache.close()


def test_lookup_by_target_finds_a_soft_deleted_user_by_its_original_upn(cache_file):
    cache = CacheSource(str(cache_file))
    found = cache.lookup([], [Target("userPrincipalName", "carol@contoso.com")])
    assert [o.state for o in found] == ["soft-deleted"]
    cache.close()


def test_a_key_nobody_holds_finds_nothing(cache_file):
    cache = CacheSource(str(cache_file))
    assert cache.lookup([upn_key("nobody@contoso.com")], []) == []
    cache.close()


def test_tenant_directories_and_as_of_come_from_the_synced_source(cache_file, snapshot_file):
    cache = CacheSource(str(cache_file))
    assert cache.tenant == CONTOSO
    assert cache.directories == frozenset({"entra", "ad"})
    assert cache.info.as_of == "2026-11-26T07:55:00Z"
    assert cache.report_notes(frozenset()) == [
        f"cache:{cache_file}: snapshot:{snapshot_file} as of 2026-11-26T07:55:00Z (synced {SYNCED_AT})"
    ]
    cache.close()


def test_schema_version_is_stored_in_the_file(cache_file):
    conn = sqlite3.connect(cache_file)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    conn.close()


def test_a_cache_of_another_schema_version_is_refused_with_how_to_rebuild(cache_file):
    conn = sqlite3.connect(cache_file)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(UserInputError, match="schema version") as exc:
        CacheSource(str(cache_file))
    assert "dupfix sync --full" in str(exc.value)


def test_a_missing_cache_file_is_bad_input_saying_how_to_fill_it(tmp_path):
    with pytest.raises(UserInputError, match="state cache not found") as exc:
        CacheSource(str(tmp_path / "nope.db"))
    assert "dupfix sync" in str(exc.value)


def test_a_file_that_is_not_a_cache_is_bad_input(tmp_path):
    bogus = tmp_path / "state.db"
    bogus.write_text("this is not sqlite\n" * 100)
    with pytest.raises(UserInputError, match="not a dupfix state cache"):
        CacheSource(str(bogus))


def test_a_cache_older_than_max_age_is_refused_naming_the_stale_source(cache_file, monkeypatch):
    monkeypatch.setenv("DUPFIX_NOW", "2026-11-27T09:00:00Z")  # 25 h after the sync
    with pytest.raises(StateUnavailableError, match=r"older than --max-age 24\.0 h") as exc:
        create_cache(f"cache:{cache_file}", {})
    assert "snapshot:" in str(exc.value) and "--refresh" in str(exc.value)


def test_a_cache_within_max_age_is_accepted(cache_file, monkeypatch):
    monkeypatch.setenv("DUPFIX_NOW", "2026-11-27T07:00:00Z")  # 23 h after the sync
    create_cache(f"cache:{cache_file}", {}).close()


def test_max_age_option_narrows_what_is_fresh(cache_file, monkeypatch):
    monkeypatch.setenv("DUPFIX_NOW", "2026-11-26T09:00:00Z")  # 1 h after the sync
    with pytest.raises(StateUnavailableError):
        create_cache(f"cache:{cache_file}", {"max_age": 1800})


def _plan(tmp_path: Path, upn: str) -> Path:
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"version: 1\nchanges:\n  - op: create\n    kind: user\n    set: {{userPrincipalName: {upn}, displayName: New hire}}\n")
    return plan


def test_check_against_a_stale_cache_exits_3(cache_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DUPFIX_NOW", "2026-11-28T08:00:00Z")
    code = cli.main(["check", str(_plan(tmp_path, "bob@contoso.com")), "--source", f"cache:{cache_file}"])
    assert code == EXIT_STATE_UNAVAILABLE
    assert "older than --max-age" in capsys.readouterr().err


def test_check_with_a_longer_max_age_accepts_the_same_cache(cache_file, tmp_path, monkeypatch):
    monkeypatch.setenv("DUPFIX_NOW", "2026-11-28T08:00:00Z")
    args = ["check", str(_plan(tmp_path, "bob@contoso.com")), "--source", f"cache:{cache_file}", "--max-age", "3d"]
    assert cli.main(args) == 1  # bob's UPN is taken: a real verdict, not a refusal


def test_check_with_refresh_syncs_first_then_sees_the_new_state(cache_file, snapshot_file, tmp_path, monkeypatch,
                                                                capsys):  # fmt: skip
    write_snapshot(str(snapshot_file), [*OBJECTS, entra_user("erin@contoso.com")], CONTOSO, "2026-11-28T07:59:00Z",
                   ["entra", "ad"])  # fmt: skip
    monkeypatch.setenv("DUPFIX_NOW", "2026-11-28T08:00:00Z")
    args = ["check", str(_plan(tmp_path, "erin@contoso.com")), "--source", f"cache:{cache_file}", "--refresh",
            "--format", "json"]  # fmt: skip
    assert cli.main(args) == 1
    report = json.loads(capsys.readouterr().out)
    assert [f["code"] for f in report["findings"]] == ["DUP001"]
    assert report["sources"][0]["asOf"] == "2026-11-28T07:59:00Z"


def test_whois_reads_the_cache(cache_file, capsys):
    assert cli.main(["whois", "rob@contoso.com", "--source", f"cache:{cache_file}", "--format", "json"]) == 0
    holders = json.loads(capsys.readouterr().out)["holders"]
    assert [h["name"] for h in holders] == ["bob@contoso.com"]


def test_audit_reads_the_cache(cache_file, snapshot_file, capsys):
    assert cli.main(["audit", "--source", f"snapshot:{snapshot_file}", "--format", "json", "--fail-on", "never"]) == 0
    from_snapshot = json.loads(capsys.readouterr().out)
    assert cli.main(["audit", "--source", f"cache:{cache_file}", "--format", "json", "--fail-on", "never"]) == 0
    from_cache = json.loads(capsys.readouterr().out)

    def without_location(findings: list[dict]) -> list[dict]:  # the location names the source read
        return [{k: v for k, v in f.items() if k != "location"} for f in findings]

    assert without_location(from_cache["findings"]) == without_location(from_snapshot["findings"])
    assert from_cache["findings"]  # the Sales duplicate: the comparison means something


def test_max_age_takes_minutes_hours_and_days(cache_file, tmp_path, monkeypatch):
    monkeypatch.setenv("DUPFIX_NOW", "2026-11-26T09:00:00Z")  # 1 h after the sync
    plan = str(_plan(tmp_path, "nobody@contoso.com"))
    assert cli.main(["check", plan, "--source", f"cache:{cache_file}", "--max-age", "30m"]) == EXIT_STATE_UNAVAILABLE
    assert cli.main(["check", plan, "--source", f"cache:{cache_file}", "--max-age", "90m"]) == 0
    assert cli.main(["check", plan, "--source", f"cache:{cache_file}", "--max-age", "2h"]) == 0


def test_a_check_from_the_cache_imports_neither_msgraph_nor_ldap3(cache_file, tmp_path):
    code = (
        "import sys; from dupfix_policy import cli; "
        f"rc = cli.main(['check', {str(_plan(tmp_path, 'bob@contoso.com'))!r}, '--source', 'cache:{cache_file}', "
        "'--max-age', '3650d', '--format', 'json=/dev/null']); "
        "print(rc, sorted(m for m in ('msgraph', 'ldap3', 'azure.identity', 'httpx') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["1", "[]"], done.stderr


# --- the layout of schema 3 (issue 16) ---------------------------------------------------------


def test_a_hash_collision_never_adds_an_object_to_a_lookup(tmp_path, snapshot_file, monkeypatch):
    """Every key hashed alike: every object is a candidate, and only the true holders come back."""
    import dupfix_policy.sources.cache.source as cache_module
    import dupfix_policy.sources.cache.sync as sync_module

    for module in (cache_module, sync_module):
        monkeypatch.setattr(module, "key_hash", lambda key: 7)
        monkeypatch.setattr(module, "key_hashes", lambda keys: {7})
    monkeypatch.setenv("DUPFIX_NOW", SYNCED_AT)
    path = tmp_path / "colliding.db"
    sync(str(path), [SnapshotSource(str(snapshot_file))], out=io.StringIO())
    cache = CacheSource(str(path))
    assert [o.display for o in cache.lookup([upn_key("bob@contoso.com")], [])] == ["bob@contoso.com"]
    cache.close()


def test_bobs_upn_and_his_primary_smtp_address_are_one_key_row_and_each_still_finds_him(cache_file):
    bob = OBJECTS[2]
    conn = sqlite3.connect(cache_file)
    rowid = next(r for r, rec in conn.execute("SELECT rowid, record FROM objects") if bob.id in rec)
    stored = conn.execute("SELECT count(*) FROM keys WHERE obj = ?", (rowid,)).fetchone()[0]
    conn.close()
    assert {upn_key("bob@contoso.com"), "proxy:smtp:bob@contoso.com"} <= all_lookup_keys(bob)
    assert stored == len(all_lookup_keys(bob)) - 1
    cache = CacheSource(str(cache_file))
    for key in (upn_key("bob@contoso.com"), proxy_key("SMTP:bob@contoso.com") or ""):
        assert [o.id for o in cache.lookup([key], [])] == [bob.id]
    cache.close()


def test_a_fill_encoded_by_forked_workers_writes_the_same_rows_as_one_process(tmp_path, snapshot_file, monkeypatch):
    import dupfix_policy.sources.cache.sync as sync_module

    monkeypatch.setenv("DUPFIX_NOW", SYNCED_AT)
    monkeypatch.setattr(sync_module, "FORK_BATCH", 2)
    monkeypatch.setattr(sync_module, "FORK_MIN", 1)
    tables = []
    for workers in ("1", "2"):
        monkeypatch.setenv("DUPFIX_CACHE_WORKERS", workers)
        path = tmp_path / f"state-{workers}.db"
        sync(str(path), [SnapshotSource(str(snapshot_file))], out=io.StringIO())
        conn = sqlite3.connect(path)
        tables.append([conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in ("objects", "keys")])
        conn.close()
    assert tables[0] == tables[1]


def test_a_record_decodes_to_the_object_it_encodes():
    from dupfix_policy.model import DirectoryObject, Quarantined
    from dupfix_policy.sources.records import decode_record, encode_record

    obj = DirectoryObject("9c7a0b1e-3f2d-4c5b-8a69-0123456789ab", "user", "entra", "active",
                          {"userPrincipalName": "zoë@contoso.com", "proxyAddresses": ("SMTP:zoë@contoso.com",),
                           "mailEnabled": True, "extensionAttribute9": "kept as named"},
                          (Quarantined("ProxyAddress", "smtp:zoe@contoso.com"),))  # fmt: skip
    assert decode_record(encode_record(obj), "active") == obj
