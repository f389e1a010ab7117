"""`dupfix sync`: filling the state cache atomically, so a killed sync or a check running beside it
never sees a half-written state, and the file CI saves is the whole state."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dupfix_policy import cli
from dupfix_policy.addresses import upn_key
from dupfix_policy.errors import EXIT_BAD_INPUT
from dupfix_policy.sources.cache.source import CacheSource
from dupfix_policy.sources.cache.sync import TMP_MARK
from dupfix_policy.sources.snapshot.writer import write_snapshot
from dupfix_policy.testing import CONTOSO, entra_user

BOB = entra_user("bob@contoso.com", proxyAddresses=("SMTP:bob@contoso.com",))
ERIN = entra_user("erin@contoso.com", proxyAddresses=("SMTP:erin@contoso.com",))


def _snapshot(path: Path, *objects, as_of: str = "2026-11-26T08:00:00Z") -> str:
    write_snapshot(str(path), objects, CONTOSO, as_of, ["entra"])
    return f"snapshot:{path}"


def _holders(cache: CacheSource, upn: str) -> list[str]:
    return [o.get("userPrincipalName") for o in cache.lookup([upn_key(upn)], [])]


def _sync(*args: str) -> int:
    return cli.main(["sync", *args])


def test_first_sync_fills_the_cache_with_a_full_scan_and_says_so(tmp_path, capsys):
    spec = _snapshot(tmp_path / "t.jsonl", BOB)
    assert _sync("--source", spec, "--cache", str(tmp_path / "state.db")) == 0
    assert f"{spec}: full scan, 1 objects (first sync)" in capsys.readouterr().err
    cache = CacheSource(str(tmp_path / "state.db"), max_age_s=None)
    assert _holders(cache, "bob@contoso.com") == ["bob@contoso.com"]
    cache.close()


def test_sync_leaves_only_the_cache_file_no_journal_or_wal(tmp_path):
    _sync("--source", _snapshot(tmp_path / "t.jsonl", BOB), "--cache", str(tmp_path / "cache" / "state.db"))
    assert os.listdir(tmp_path / "cache") == ["state.db"]


def test_sync_without_sources_resyncs_the_ones_the_cache_holds(tmp_path, capsys):
    snapshot = tmp_path / "t.jsonl"
    spec = _snapshot(snapshot, BOB)
    _sync("--source", spec, "--cache", str(tmp_path / "state.db"))
    _snapshot(snapshot, BOB, ERIN)
    assert _sync("--cache", str(tmp_path / "state.db")) == 0
    assert f"{spec}: full scan, 2 objects (no source has an incremental read)" in capsys.readouterr().err
    cache = CacheSource(str(tmp_path / "state.db"), max_age_s=None)
    assert _holders(cache, "erin@contoso.com") == ["erin@contoso.com"]
    cache.close()


def test_sync_with_other_sources_rebuilds_with_only_those(tmp_path):
    _sync("--source", _snapshot(tmp_path / "a.jsonl", BOB), "--cache", str(tmp_path / "state.db"))
    spec_b = _snapshot(tmp_path / "b.jsonl", ERIN)
    _sync("--source", spec_b, "--cache", str(tmp_path / "state.db"))
    cache = CacheSource(str(tmp_path / "state.db"), max_age_s=None)
    assert [s.spec for s in cache.sources] == [spec_b]
    assert _holders(cache, "bob@contoso.com") == []
    cache.close()


def test_sync_without_a_cache_path_is_exit_2_naming_the_flag_and_config_key(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _sync("--source", _snapshot(tmp_path / "t.jsonl", BOB)) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "--cache" in err and "cache:" in err


def test_sync_takes_the_cache_path_from_the_config_file(tmp_path, monkeypatch):
    spec = _snapshot(tmp_path / "t.jsonl", BOB)
    (tmp_path / ".dupfix.yaml").write_text(f"sources: ['{spec}']\ncache: .dupfix/state.db\n")
    monkeypatch.chdir(tmp_path)
    assert _sync() == 0
    assert (tmp_path / ".dupfix" / "state.db").is_file()


def test_a_cache_cannot_be_synced_from_a_cache(tmp_path, capsys):
    _sync("--source", _snapshot(tmp_path / "t.jsonl", BOB), "--cache", str(tmp_path / "state.db"))
    code = _sync("--source", f"cache:{tmp_path / 'state.db'}", "--cache", str(tmp_path / "other.db"))
    assert code == EXIT_BAD_INPUT
    assert "cannot be synced from a cache" in capsys.readouterr().err


def test_a_check_that_opened_the_cache_keeps_seeing_the_old_state_while_a_sync_replaces_it(tmp_path):
    snapshot = tmp_path / "t.jsonl"
    _sync("--source", _snapshot(snapshot, BOB), "--cache", str(tmp_path / "state.db"))
    reader = CacheSource(str(tmp_path / "state.db"), max_age_s=None)
    assert _holders(reader, "bob@contoso.com") == ["bob@contoso.com"]  # round 1, before the sync
    _snapshot(snapshot, ERIN)  # bob left, erin arrived
    done = subprocess.run(
        [sys.executable, "-m", "dupfix_policy", "sync", "--cache", str(tmp_path / "state.db")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # round 2 of the same run: still the old state, whole
    assert _holders(reader, "bob@contoso.com") == ["bob@contoso.com"]
    assert _holders(reader, "erin@contoso.com") == []
    reader.close()
    after = CacheSource(str(tmp_path / "state.db"), max_age_s=None)
    assert (_holders(after, "bob@contoso.com"), _holders(after, "erin@contoso.com")) == ([], ["erin@contoso.com"])
    after.close()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_sync_killed_midway_leaves_the_previous_cache_intact_and_the_next_sync_cleans_up(tmp_path):
    snapshot = tmp_path / "t.jsonl"
    cache_path = tmp_path / "state.db"
    _sync("--source", _snapshot(snapshot, BOB), "--cache", str(cache_path))
    before = cache_path.read_bytes()
    many = [entra_user(f"user{i}@contoso.com", proxyAddresses=(f"SMTP:user{i}@contoso.com",)) for i in range(20_000)]
    _snapshot(snapshot, ERIN, *many)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dupfix_policy", "sync", "--cache", str(cache_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not any(TMP_MARK in name for name in os.listdir(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert any(TMP_MARK in name for name in os.listdir(tmp_path)), "the sync was not caught mid-way"
    assert cache_path.read_bytes() == before
    cache = CacheSource(str(cache_path), max_age_s=None)
    assert (_holders(cache, "bob@contoso.com"), _holders(cache, "erin@contoso.com")) == (["bob@contoso.com"], [])
    cache.close()
    assert _sync("--cache", str(cache_path)) == 0
    assert not any(TMP_MARK in name for name in os.listdir(tmp_path))


class _Deltas:
    """A source with an incremental read that hands out scripted rounds (a stand-in for Graph)."""

    spec = "scripted"
    directories = frozenset({"entra"})
    tenant = CONTOSO

    def __init__(self, *rounds):
        self.rounds = list(rounds)

    @property
    def info(self):
        from dupfix_policy.model import SourceInfo

        return SourceInfo(self.spec, "entra", "2026-11-26T08:00:00Z")

    def delta(self, state):
        return self.rounds.pop(0), "next"

    def scan(self):
        return iter(())


def test_an_object_changed_twice_in_one_round_keeps_the_later_version(tmp_path):
    from dupfix_policy.sources.cache.sync import sync

    renamed = entra_user("bob@contoso.com", id=BOB.id, proxyAddresses=("SMTP:robert@contoso.com",))
    cache = tmp_path / "state.db"
    source = _Deltas([("upsert", BOB)], [("upsert", BOB), ("upsert", ERIN), ("upsert", renamed)])
    sync(str(cache), [source], out=io.StringIO())
    sync(str(cache), [source], out=io.StringIO())
    reader = CacheSource(str(cache), max_age_s=None)
    assert [o.get("proxyAddresses") for o in reader.lookup([upn_key("bob@contoso.com")], [])] == [
        ("SMTP:robert@contoso.com",)
    ]
    assert _holders(reader, "erin@contoso.com") == ["erin@contoso.com"]
    reader.close()


def _rows(cache: Path) -> tuple[dict[str, int], set[tuple[int, int]]]:
    """(id -> rowid, every key row) of a cache file."""
    import json
    import sqlite3

    conn = sqlite3.connect(cache)
    ids = {json.loads(record)[0]: rowid for rowid, record in conn.execute("SELECT rowid, record FROM objects")}
    keys = set(conn.execute("SELECT h, obj FROM keys"))
    conn.close()
    return ids, keys


def test_bobs_new_title_rewrites_his_record_in_place_and_no_key_row(tmp_path):
    from dupfix_policy.sources.cache.sync import sync

    promoted = entra_user("bob@contoso.com", id=BOB.id, proxyAddresses=("SMTP:bob@contoso.com",), jobTitle="Lead")
    cache = tmp_path / "state.db"
    source = _Deltas([("upsert", BOB), ("upsert", ERIN)], [("upsert", promoted)])
    sync(str(cache), [source], out=io.StringIO())
    ids, keys = _rows(cache)
    sync(str(cache), [source], out=io.StringIO())
    assert _rows(cache) == (ids, keys)
    reader = CacheSource(str(cache), max_age_s=None)
    assert [o.get("jobTitle") for o in reader.lookup([upn_key("bob@contoso.com")], [])] == ["Lead"]
    reader.close()


def test_bobs_swapped_alias_address_moves_one_key_row_and_the_old_address_finds_nobody(tmp_path):
    from dupfix_policy.addresses import proxy_key
    from dupfix_policy.sources.cache.sync import sync

    bob = entra_user("bob@contoso.com", id=BOB.id, proxyAddresses=("SMTP:bob@contoso.com", "smtp:bobby@contoso.com"))
    moved = entra_user("bob@contoso.com", id=BOB.id, proxyAddresses=("SMTP:bob@contoso.com", "smtp:robert@contoso.com"))
    cache = tmp_path / "state.db"
    source = _Deltas([("upsert", bob), ("upsert", ERIN)], [("upsert", moved)])
    sync(str(cache), [source], out=io.StringIO())
    ids, keys = _rows(cache)
    sync(str(cache), [source], out=io.StringIO())
    ids_after, keys_after = _rows(cache)
    assert ids_after == ids  # rewritten in place
    assert len(keys_after - keys) == 1 and len(keys - keys_after) == 1  # smtp:bobby@ out, smtp:robert@ in
    reader = CacheSource(str(cache), max_age_s=None)
    assert reader.lookup([proxy_key("smtp:bobby@contoso.com") or ""], []) == []
    assert [o.id for o in reader.lookup([proxy_key("smtp:robert@contoso.com") or ""], [])] == [BOB.id]
    reader.close()
