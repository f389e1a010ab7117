"""`dupfix sync --source graph`: the first run lists everything through Graph's `/delta`, later runs
read only what changed (real msgraph-sdk over HTTP against the fake Graph in tests/graphfake)."""

from __future__ import annotations

import datetime as dt
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
from dupfix_policy.sources.cache.source import CacheSource
from dupfix_policy.sources.snapshot.writer import write_snapshot

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
    assert "recycle bin: deletions (all), newest first: 1 objects" in err
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


def _writes_seen(monkeypatch, graph) -> list[tuple[list[str], int]]:  # noqa: F811
    """Each write of delta changes to the cache: the kinds of change, and how many `$batch`
    requests the fake Graph had answered at that moment (the recycle bin's listing rides in one)."""
    from dupfix_policy.sources.cache import sync as cache_sync

    seen: list[tuple[list[str], int]] = []
    apply = cache_sync._apply_changes

    def recording(conn, writer, source_id, changes, result):  # type: ignore[no-untyped-def]
        changes = list(changes)
        seen.append(([c[0] for c in changes], graph.stats.batch_posts))
        apply(conn, writer, source_id, changes, result)

    monkeypatch.setattr(cache_sync, "_apply_changes", recording)
    return seen


def test_the_delta_rounds_are_written_while_the_recycle_bin_is_still_being_read(synced, graph, monkeypatch):  # noqa: F811
    graph.directory.change(upserts=[user("erin@contoso.com", "SMTP:erin@contoso.com")])
    graph.inject(Fault("/$batch", delay=2, times=None, where="http"))  # the recent deletions' $batch
    seen = _writes_seen(monkeypatch, graph)
    assert _sync(synced) == 0
    assert seen == [(["upsert"], 0), (["merge-state"], 1)]
    assert _holders(synced, upn_key("erin@contoso.com")) == [("erin@contoso.com", "active")]


def test_a_large_delta_round_is_written_after_the_recycle_bin_is_read(synced, graph, monkeypatch):  # noqa: F811
    """Writing holds the event loop and counts against --timeout: beyond EARLY_WRITE_MAX changes
    the round waits for the bin, so a mass change can't starve the bin's request."""
    from dupfix_policy.sources.graph import delta

    monkeypatch.setattr(delta, "EARLY_WRITE_MAX", 0)
    graph.directory.change(upserts=[user("erin@contoso.com", "SMTP:erin@contoso.com")])
    seen = _writes_seen(monkeypatch, graph)
    assert _sync(synced) == 0
    assert seen == [(["upsert", "merge-state"], 1)]


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
    graph.inject(Fault("/$batch", delay=5, times=None, where="http"))  # the recycle bin's $batch
    proc = _start_sync(cache)
    _wait_for_request(graph, "/$batch")  # the snapshot is rewritten, Graph half read
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
    _wait_for_request(graph, "/$batch")  # the sync is writing; it commits once we close
    for upn, expected in (("bob@contoso.com", 1), ("erin@contoso.com", 0), ("carol@contoso.com", 0)):
        assert len(reader.lookup([upn_key(upn)], [])) == expected, upn  # later rounds: the same old state
    reader.close()
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    assert _holders(cache, upn_key("bob@contoso.com")) == []
    assert _holders(cache, upn_key("erin@contoso.com")) == [("erin@contoso.com", "active")]
    assert _holders(cache, upn_key("carol@contoso.com")) == [("carol@contoso.com", "active")]


# --- the recycle bin: only what was deleted since the last sync (issue 16) -----------------------

OLD_DELETIONS = [user(f"gone{i}@contoso.com", f"SMTP:gone{i}@contoso.com", state="soft-deleted") for i in range(1200)]


def _bin_requests(graph) -> list[str]:  # noqa: F811
    """Every recycle bin request of the round: direct GETs and $batch items."""
    direct = [path for _, path in graph.stats.requests if "deletedItems" in path]
    return direct + [url for url in graph.stats.item_urls if "deletedItems" in url]


def _plan_with_address(tmp_path: Path, address: str) -> Path:
    plan = tmp_path / f"plan-{address}.yaml"
    plan.write_text(
        "version: 1\nchanges:\n  - op: create\n    kind: user\n"
        f"    set: {{userPrincipalName: newhire@contoso.com, displayName: New hire, proxyAddresses: [SMTP:{address}]}}\n"
    )
    return plan


@pytest.fixture
def big_bin(graph, tmp_path) -> Path:  # noqa: F811
    """A cache of a tenant whose recycle bin holds 1,200 users: more than one page."""
    graph.directory = Directory.of([ALICE, BOB, SALES, *OLD_DELETIONS], TENANT)
    for i, record in enumerate(graph.directory.collections["deletedUsers"].records):  # over two weeks
        record["deletedDateTime"] = f"2026-11-{1 + i % 14:02d}T{i % 24:02d}:{i % 60:02d}:00Z"
    cache = tmp_path / "state.db"
    assert _sync(cache) == 0
    return cache


def test_a_later_sync_reads_the_recycle_bin_newest_first_back_to_the_last_deletion(big_bin, graph, capsys):  # noqa: F811
    graph.directory.change(deletes=[("user", ALICE.id)])
    graph.reset()
    capsys.readouterr()
    assert _sync(big_bin) == 0
    err = capsys.readouterr().err
    requests = _bin_requests(graph)
    assert len(requests) == 2 and graph.stats.batch_posts == 1  # both bin collections, one $batch, one page each
    assert all("$orderby=deletedDateTime" in url and "$count=true" in url for url in requests)
    assert "recycle bin: deletions since" in err and "in 1 request(s)" in err
    assert _holders(big_bin, proxy_key("SMTP:alice@contoso.com") or "") == [("alice@contoso.com", "soft-deleted")]
    assert [state for _, state in _holders(big_bin, proxy_key("SMTP:gone7@contoso.com") or "")] == ["soft-deleted"]


def test_a_deletion_missing_from_the_ordered_listing_reads_the_whole_bin(big_bin, graph, capsys):  # noqa: F811
    graph.directory.clock = lambda: "2020-01-01T00:00:00Z"  # listed far back: as if Graph's index lagged
    graph.directory.change(deletes=[("user", ALICE.id)])
    capsys.readouterr()
    assert _sync(big_bin) == 0
    assert "recycle bin read whole (1 deletion(s) the delta reported are not in the ordered listing yet)" in (
        capsys.readouterr().err
    )
    assert _holders(big_bin, proxy_key("SMTP:alice@contoso.com") or "") == [("alice@contoso.com", "soft-deleted")]


def test_the_whole_bin_is_read_again_after_the_configured_age(big_bin, graph, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DUPFIX_RECYCLE_BIN_MAX_AGE", "1d")
    monkeypatch.setenv("DUPFIX_NOW", (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).isoformat())
    capsys.readouterr()
    assert _sync(big_bin) == 0
    assert "recycle bin read whole (last whole read 2.0 days ago" in capsys.readouterr().err


def test_a_purge_seen_late_is_a_false_alarm_never_a_false_pass(big_bin, graph, tmp_path, monkeypatch):  # noqa: F811
    gone = OLD_DELETIONS[3]
    graph.directory.change(purges=[("user", gone.id)])  # no delta reports it; the ordered listing can't show it
    assert _sync(big_bin) == 0
    assert [state for _, state in _holders(big_bin, proxy_key("SMTP:gone3@contoso.com") or "")] == ["soft-deleted"]
    purged_address = _plan_with_address(tmp_path, "gone3@contoso.com")
    cache = ["--source", f"cache:{big_bin}", "--format", "json=/dev/null"]
    assert cli.main(["check", str(purged_address), *cache]) == 1  # the stale holder: a false alarm
    assert cli.main(["check", str(purged_address), "--source", "graph", "--format", "json=/dev/null"]) == 0
    taken = _plan_with_address(tmp_path, "bob@contoso.com")
    assert cli.main(["check", str(taken), *cache]) == 1  # a real holder is found all the same
    monkeypatch.setenv("DUPFIX_RECYCLE_BIN_MAX_AGE", "5d")
    monkeypatch.setenv("DUPFIX_NOW", (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=6)).isoformat())
    assert _sync(big_bin) == 0  # the whole bin again: the purge is seen
    assert _holders(big_bin, proxy_key("SMTP:gone3@contoso.com") or "") == []
    assert cli.main(["check", str(purged_address), "--source", f"cache:{big_bin}", "--max-age", "30d"]) == 0


def test_a_burst_of_deletions_larger_than_a_page_is_read_page_by_page_and_all_cached(big_bin, graph, capsys):  # noqa: F811
    leavers = [user(f"leaver{i}@contoso.com", f"SMTP:leaver{i}@contoso.com") for i in range(150)]
    graph.directory.change(upserts=leavers)
    assert _sync(big_bin) == 0
    graph.directory.change(deletes=[("user", u.id) for u in leavers])
    graph.reset()
    capsys.readouterr()
    assert _sync(big_bin) == 0
    bin_pages = _bin_requests(graph)
    assert len(bin_pages) == 3  # users: 100 newest, then 50 more (and older ones); groups: one page
    first_pages = [url for url in graph.stats.item_urls if "deletedItems" in url]  # the $batch items
    assert len(first_pages) == 2 and all("top=100" in url for url in first_pages), first_pages
    for i in (0, 99, 149):
        assert _holders(big_bin, proxy_key(f"SMTP:leaver{i}@contoso.com") or "") == [(f"leaver{i}@contoso.com", "soft-deleted")]
