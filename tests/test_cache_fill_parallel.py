"""A cache fill from a large snapshot is read, parsed and encoded by forked workers (issue 16):
the result must be the very cache one process makes, and the snapshot's own checks (duplicate
ids, the end record, a dying worker) must still fail the sync."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from dupfix_policy import cli, forking
from dupfix_policy.addresses import all_lookup_keys
from dupfix_policy.errors import EXIT_BAD_INPUT, EXIT_STATE_UNAVAILABLE
from dupfix_policy.sources.cache import sync as cache_sync
from dupfix_policy.sources.cache.source import key_hashes
from dupfix_policy.sources.snapshot import source as snapshot
from dupfix_policy.sources.snapshot.source import SnapshotSource
from dupfix_policy.sources.snapshot.writer import write_snapshot
from dupfix_policy.testing import CONTOSO, ad_user, entra_user

pytestmark = pytest.mark.skipif(not forking.usable(), reason="forked workers need Linux")


def _tenant(count: int) -> list:
    """Entra users and AD users (with projected keys), each with two addresses."""
    out = []
    for i in range(count):
        if i % 3:
            out.append(entra_user(f"user{i}@contoso.com", id=f"e{i:05d}",
                                  proxyAddresses=(f"SMTP:user{i}@contoso.com", f"smtp:u{i}@contoso.com")))  # fmt: skip
        else:
            out.append(ad_user(f"aduser{i}@contoso.com", sAMAccountName=f"ad{i}",
                               proxyAddresses=(f"SMTP:aduser{i}@contoso.com",)))  # fmt: skip
    return out


def _write(path: Path, objects: list) -> str:
    write_snapshot(str(path), objects, CONTOSO, "2026-12-01T08:00:00Z", ["entra", "ad"])
    return str(path)


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces of a few lines, and workers even for a small file: the forked path on test data."""
    monkeypatch.setattr(snapshot, "PIECE_BYTES", 2048)
    monkeypatch.setenv(snapshot.WORKERS_ENV, "2")
    monkeypatch.setenv(cache_sync.WORKERS_ENV, "2")


def _lines_with(path: str, oid: str) -> list[int]:
    """Line numbers (1 = the header) of the lines that hold object `oid`."""
    text = Path(path).read_text(encoding="utf-8").splitlines()
    return [n for n, line in enumerate(text, start=1) if f'"id":"{oid}"' in line]


def _table(db: str, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_batches_read_by_workers_are_every_object_in_file_order(tmp_path, small_pieces):
    path = _write(tmp_path / "t.jsonl", _tenant(300))
    source = SnapshotSource(path)
    batches = list(source.map_batches(lambda objects: [o.id for o in objects], 2))
    assert len(batches) > 2  # really split
    assert [i for b in batches for i in b] == [o.id for o in SnapshotSource(path, workers=1).scan()]


def test_a_cache_filled_by_workers_is_the_cache_one_process_fills(tmp_path, small_pieces, monkeypatch):
    spec = f"snapshot:{_write(tmp_path / 't.jsonl', _tenant(300))}"
    assert cli.main(["sync", "--source", spec, "--cache", str(tmp_path / "parallel.db"), "-q"]) == 0
    monkeypatch.setenv(cache_sync.WORKERS_ENV, "1")
    monkeypatch.setenv(snapshot.WORKERS_ENV, "1")
    assert cli.main(["sync", "--source", spec, "--cache", str(tmp_path / "serial.db"), "-q"]) == 0
    for sql in ("SELECT rowid, source, state, record FROM objects ORDER BY rowid",
                "SELECT h, obj FROM keys ORDER BY h, obj"):  # fmt: skip
        assert _table(str(tmp_path / "parallel.db"), sql) == _table(str(tmp_path / "serial.db"), sql)


def test_an_sqlite_without_json_functions_fills_the_same_key_rows(tmp_path, small_pieces, monkeypatch):
    """Key rows are inserted by SQLite reading each batch's JSON array (json_each); an SQLite built
    without the JSON functions gets the same rows through executemany, hashes of either sign too."""
    path = _write(tmp_path / "t.jsonl", _tenant(300))
    spec = f"snapshot:{path}"
    assert cli.main(["sync", "--source", spec, "--cache", str(tmp_path / "json.db"), "-q"]) == 0
    monkeypatch.setattr(cache_sync, "reads_json", lambda conn: False)
    assert cli.main(["sync", "--source", spec, "--cache", str(tmp_path / "rows.db"), "-q"]) == 0
    keys = _table(str(tmp_path / "json.db"), "SELECT h, obj FROM keys ORDER BY h, obj")
    assert keys == _table(str(tmp_path / "rows.db"), "SELECT h, obj FROM keys ORDER BY h, obj")
    assert min(h for h, _ in keys) < 0 < max(h for h, _ in keys)
    expected = {(h, rowid) for rowid, obj in enumerate(SnapshotSource(path, workers=1).scan(), start=1)
                for h in key_hashes(all_lookup_keys(obj))}  # fmt: skip
    assert set(keys) == expected


def test_an_id_listed_twice_in_different_pieces_fails_the_fill_naming_the_second_line(tmp_path, small_pieces, capsys):
    path = tmp_path / "t.jsonl"
    _write(path, _tenant(200))
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(len(lines) - 1, lines[3])  # object 3 again, just before the end record
    path.write_bytes(b"".join(lines))
    code = cli.main(["sync", "--source", f"snapshot:{path}", "--cache", str(tmp_path / "c.db"), "-q"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    oid = lines[3].split(b'"id":"')[1].split(b'"')[0].decode()
    assert f"{path}:{len(lines) - 1}: id: object {oid} (" in err and "appears twice" in err
    assert not os.path.exists(tmp_path / "c.db")


def test_an_id_listed_twice_within_one_piece_names_the_second_line(tmp_path, small_pieces, capsys):
    objects = _tenant(20)
    objects.insert(3, objects[2])
    path = _write(tmp_path / "t.jsonl", objects)
    assert cli.main(["sync", "--source", f"snapshot:{path}", "--cache", str(tmp_path / "c.db"), "-q"]) == EXIT_BAD_INPUT
    first, second = _lines_with(path, objects[2].id)
    assert second == first + 1
    assert f"{path}:{second}: id: object {objects[2].id}" in capsys.readouterr().err


def test_lines_lost_after_the_export_fail_the_fill_against_the_end_record(tmp_path, small_pieces, capsys):
    path = tmp_path / "t.jsonl"
    _write(path, _tenant(100))
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:40] + lines[41:]))  # one object line gone, end record kept
    code = cli.main(["sync", "--source", f"snapshot:{path}", "--cache", str(tmp_path / "c.db"), "-q"])
    assert code == EXIT_STATE_UNAVAILABLE
    assert "the end record says 100 objects, but the snapshot holds 99" in capsys.readouterr().err


def test_a_bad_line_read_by_a_worker_is_exit_2_naming_its_line(tmp_path, small_pieces, capsys):
    path = tmp_path / "t.jsonl"
    _write(path, _tenant(100))
    lines = path.read_bytes().splitlines(keepends=True)
    lines[70] = b'{"id": "x1", "kind": "user", "directory": "entra", "mail": 5}\n'
    path.write_bytes(b"".join(lines))
    assert cli.main(["sync", "--source", f"snapshot:{path}", "--cache", str(tmp_path / "c.db"), "-q"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"{path}:71" in err and "mail" in err


def test_a_worker_that_dies_is_never_a_filled_cache(tmp_path, small_pieces):
    path = _write(tmp_path / "t.jsonl", _tenant(100))

    def die_in_third_piece(objects):
        if any(o.id == "e00050" for o in objects):
            os._exit(9)
        return len(objects)

    with pytest.raises(forking.WorkerDied):
        list(SnapshotSource(path).map_batches(die_in_third_piece, 2))


def test_a_small_snapshot_is_read_in_process(tmp_path, monkeypatch):
    monkeypatch.delenv(snapshot.WORKERS_ENV, raising=False)
    path = _write(tmp_path / "t.jsonl", _tenant(10))
    pids = list(SnapshotSource(path).map_batches(lambda objects: os.getpid(), 2))
    assert pids == [os.getpid()]
