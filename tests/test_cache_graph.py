"""`dupfix sync --source graph`: the first run lists everything through Graph's `/delta`, later runs
read only what changed (real msgraph-sdk over HTTP against the fake Graph in tests/graphfake)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from graph_support import TENANT, graph, graph_server, group, user  # noqa: F401
from graphfake import Directory
from graphfake.server import Fault

from dupfix_policy import cli
from dupfix_policy.addresses import proxy_key, upn_key
from dupfix_policy.sources.cache import CacheSource
from dupfix_policy.sources.snapshot_writer import write_snapshot

ALICE = user("alice@contoso.com", "SMTP:alice@contoso.com")
BOB = user("bob@contoso.com", "SMTP:bob@contoso.com", "smtp:rob@contoso.com")
SALES = group("Sales", "SMTP:sales@contoso.com")


def _sync(cache: Path, *extra: str) -> int:
    return cli.main(["sync", "--source", "graph", "--cache", str(cache), "--quiet", *extra])


def _holders(cache: Path, key: str) -> list[tuple[str, str]]:
    source = CacheSource(str(cache), max_age_s=None)
    try:
        return [(o.display, o.state) for o in source.lookup([key], [])]
    finally:
        source.close()


@pytest.fixture
def synced(graph, tmp_path) -> Path:  # noqa: F811
    graph.directory = Directory.of([ALICE, BOB, SALES], TENANT)
    cache = tmp_path / "state.db"
    assert _sync(cache) == 0
    return cache


def test_first_sync_lists_every_object_through_delta_and_stores_the_links(graph, tmp_path, capsys):  # noqa: F811
    graph.directory = Directory.of([ALICE, BOB, SALES], TENANT)
    synced = tmp_path / "state.db"
    assert _sync(synced) == 0
    assert "graph: full scan, 3 objects (first sync)" in capsys.readouterr().err
    assert any("/users/delta" in path for _, path in graph.stats.requests)
    conn = sqlite3.connect(synced)
    (state,) = conn.execute("SELECT delta_state FROM sources").fetchone()
    conn.close()
    assert "$deltatoken" in state
    assert _holders(synced, upn_key("alice@contoso.com")) == [("alice@contoso.com", "active")]


def test_second_sync_reads_only_what_changed(synced, graph, capsys):  # noqa: F811
    capsys.readouterr()
    graph.directory.change(upserts=[user("carol@contoso.com", "SMTP:carol@contoso.com")])
    graph.reset()
    assert _sync(synced) == 0
    assert "graph: incremental, 1 changed, 0 removed" in capsys.readouterr().err
    assert not any(path.startswith("/v1.0/users?") for _, path in graph.stats.requests)  # no full listing
    assert _holders(synced, upn_key("carol@contoso.com")) == [("carol@contoso.com", "active")]
    assert _holders(synced, upn_key("alice@contoso.com")) == [("alice@contoso.com", "active")]


def test_a_changed_address_moves_its_key(synced, graph):  # noqa: F811
    renamed = user("bob@contoso.com", "SMTP:bob@contoso.com")  # smtp:rob removed
    assert renamed.id == BOB.id
    graph.directory.change(upserts=[renamed])
    assert _sync(synced) == 0
    assert _holders(synced, proxy_key("smtp:rob@contoso.com") or "") == []


def test_a_removed_contact_group_and_a_soft_deleted_user_are_handled(synced, graph, capsys):  # noqa: F811
    graph.directory.change(deletes=[("user", ALICE.id)], purges=[("group", SALES.id)])
    capsys.readouterr()
    assert _sync(synced) == 0
    err = capsys.readouterr().err
    assert "2 removed" in err
    assert "recycle bin (soft-deleted objects have no delta) read whole: 1 objects" in err
    # alice is soft-deleted now: her address is still held, by the soft-deleted object
    assert _holders(synced, proxy_key("SMTP:alice@contoso.com") or "") == [("alice@contoso.com", "soft-deleted")]
    assert _holders(synced, proxy_key("SMTP:sales@contoso.com") or "") == []


def test_a_forgotten_delta_link_is_a_full_resync_said_in_the_output(synced, graph, capsys):  # noqa: F811
    graph.directory.change(upserts=[user("dan@contoso.com")])
    graph.directory.delta_floor = graph.directory.version + 1  # every token issued so far is expired
    capsys.readouterr()
    assert _sync(synced) == 0
    err = capsys.readouterr().err
    assert "graph: full scan, 4 objects" in err and "410" in err and "full resync" in err
    assert _holders(synced, upn_key("dan@contoso.com")) == [("dan@contoso.com", "active")]


def test_a_delta_link_older_than_7_days_is_a_full_resync(synced, graph, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DUPFIX_NOW", "2099-01-01T00:00:00Z")
    capsys.readouterr()
    assert _sync(synced) == 0
    assert "graph: full scan, 3 objects (delta link older than 7 days: full resync)" in capsys.readouterr().err


def test_a_sync_that_fails_midway_keeps_the_previous_state(synced, graph, capsys):  # noqa: F811
    graph.directory.change(upserts=[user("erin@contoso.com")])
    graph.inject(Fault("/directory/deletedItems", status=403, times=None))
    assert _sync(synced) == 3
    assert _holders(synced, upn_key("erin@contoso.com")) == []
    assert _holders(synced, upn_key("alice@contoso.com")) == [("alice@contoso.com", "active")]


@pytest.fixture
def mixed(graph, tmp_path) -> tuple[Path, Path]:  # noqa: F811
    """A cache of two sources: a snapshot (always rescanned) and Graph (delta)."""
    graph.directory = Directory.of([ALICE], TENANT)
    snapshot = tmp_path / "onprem.jsonl"
    write_snapshot(str(snapshot), [BOB], TENANT, "2026-11-26T08:00:00Z", ["entra"])
    cache = tmp_path / "state.db"
    assert cli.main(["sync", "--source", f"snapshot:{snapshot}", "--source", "graph", "--quiet",
                     "--cache", str(cache)]) == 0  # fmt: skip
    return cache, snapshot


def _start_sync(cache: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dupfix_policy", "sync", "--quiet", "--cache", str(cache)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for_request(graph, fragment: str) -> None:  # noqa: F811
    deadline = time.monotonic() + 30
    while not any(fragment in path for _, path in graph.stats.requests):
        assert time.monotonic() < deadline, "the sync never got there"
        time.sleep(0.01)


def test_an_incremental_sync_killed_midway_leaves_the_previous_state(mixed, graph):  # noqa: F811
    cache, snapshot = mixed
    write_snapshot(str(snapshot), [BOB, user("erin@contoso.com")], TENANT, "2026-11-26T09:00:00Z", ["entra"])
    graph.directory.change(upserts=[user("carol@contoso.com")])
    graph.reset()
    graph.inject(Fault("/directory/deletedItems", delay=5, times=None))
    proc = _start_sync(cache)
    _wait_for_request(graph, "/directory/deletedItems")  # the snapshot is rewritten, Graph half read
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _holders(cache, upn_key("erin@contoso.com")) == []
    assert _holders(cache, upn_key("carol@contoso.com")) == []
    assert _holders(cache, upn_key("bob@contoso.com")) == [("bob@contoso.com", "active")]
    graph.reset()
    assert cli.main(["sync", "--quiet", "--cache", str(cache)]) == 0
    assert _holders(cache, upn_key("erin@contoso.com")) == [("erin@contoso.com", "active")]
    assert _holders(cache, upn_key("carol@contoso.com")) == [("carol@contoso.com", "active")]
    assert sorted(os.listdir(cache.parent)) == ["onprem.jsonl", "state.db"]  # no journal left behind


def test_a_check_reading_while_an_incremental_sync_writes_sees_one_state(mixed, graph):  # noqa: F811
    cache, snapshot = mixed
    reader = CacheSource(str(cache), max_age_s=None)
    assert [o.display for o in reader.lookup([upn_key("bob@contoso.com")], [])] == ["bob@contoso.com"]
    write_snapshot(str(snapshot), [user("erin@contoso.com")], TENANT, "2026-11-26T09:00:00Z", ["entra"])
    graph.directory.change(upserts=[user("carol@contoso.com")])
    graph.reset()
    proc = _start_sync(cache)
    _wait_for_request(graph, "/directory/deletedItems")  # the sync is writing; it commits once we close
    for upn, expected in (("bob@contoso.com", 1), ("erin@contoso.com", 0), ("carol@contoso.com", 0)):
        assert len(reader.lookup([upn_key(upn)], [])) == expected, upn  # later rounds: the same old state
    reader.close()
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    assert _holders(cache, upn_key("bob@contoso.com")) == []
    assert _holders(cache, upn_key("erin@contoso.com")) == [("erin@contoso.com", "active")]
    assert _holders(cache, upn_key("carol@contoso.com")) == [("carol@contoso.com", "active")]
