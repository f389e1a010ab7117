"""Incomplete state is exit 3: a cut snapshot, a stale or damaged cache, a malformed Graph answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dupfix_policy import cli
from dupfix_policy.errors import StateUnavailableError
from dupfix_policy.sources.snapshot.source import SnapshotSource
from dupfix_policy.sources.snapshot.writer import write_snapshot
from dupfix_policy.testing import entra_user

PLAN = "version: 1\nchanges:\n  - {op: create, kind: user, set: {userPrincipalName: quinn@contoso.com}}\n"
OBJECTS = [entra_user(f"user{i}@contoso.com", id=f"u{i}") for i in range(5)]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("DUPFIX_SOURCES", "DUPFIX_POLICY", "DUPFIX_FAIL_ON", "DUPFIX_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "plan.yaml").write_text(PLAN, encoding="utf-8")
    return tmp_path


def _export(path: Path) -> list[str]:
    write_snapshot(str(path), OBJECTS, None, "2026-11-20T08:00:00Z", ["entra"])
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _check(*extra: str, source: Path) -> int:
    return cli.main(["check", "plan.yaml", "--source", f"snapshot:{source}", "--format", "json", *extra])


def test_json_lines_export_ends_with_an_end_record_counting_its_objects(workdir) -> None:
    lines = _export(workdir / "t.jsonl")
    assert json.loads(lines[0])["endRecord"] is True
    assert json.loads(lines[-1]) == {"end": {"objects": 5}}


def test_complete_json_lines_snapshot_passes(workdir) -> None:
    _export(workdir / "t.jsonl")
    assert _check(source=workdir / "t.jsonl") == 0


def test_json_lines_snapshot_cut_at_a_line_break_is_exit_3(workdir, capsys) -> None:
    path = workdir / "t.jsonl"
    path.write_text("".join(_export(path)[:-3]), encoding="utf-8")
    assert _check(source=path) == 3
    assert "cut short" in capsys.readouterr().err


def test_json_document_cut_at_a_line_break_is_exit_3(workdir, capsys) -> None:
    path = workdir / "t.json"
    write_snapshot(str(path), OBJECTS, None, None, ["entra"])
    path.write_text("".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[:-2]), encoding="utf-8")
    assert _check(source=path) == 3
    assert "cut short" in capsys.readouterr().err


def _without_end_record(path: Path) -> Path:
    lines = _export(path)
    header = json.loads(lines[0])
    del header["endRecord"]
    path.write_text(json.dumps(header) + "\n" + "".join(lines[1:-1]), encoding="utf-8")
    return path


def test_json_lines_snapshot_without_end_record_passes_with_a_note(workdir, capsys) -> None:
    path = _without_end_record(workdir / "t.jsonl")
    assert _check(source=path) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert any("no end record" in n for n in notes)


def test_json_lines_snapshot_without_end_record_is_exit_3_under_strict_inputs(workdir, capsys) -> None:
    path = _without_end_record(workdir / "t.jsonl")
    assert _check("--strict-inputs", source=path) == 3
    assert "no end record" in capsys.readouterr().err


def test_end_record_count_that_disagrees_with_the_lines_is_state_unavailable(workdir) -> None:
    path = workdir / "t.jsonl"
    lines = _export(path)
    path.write_text("".join(lines[:2] + lines[3:]), encoding="utf-8")  # one object line lost
    with pytest.raises(StateUnavailableError, match="end record says 5 objects"):
        list(SnapshotSource(str(path)).scan())


# --- the state cache ---------------------------------------------------------------------------

SYNCED_AT = "2026-11-26T08:00:00Z"


@pytest.fixture
def cache_file(workdir, monkeypatch) -> Path:
    import io

    from dupfix_policy.sources.cache.sync import sync

    monkeypatch.setenv("DUPFIX_NOW", SYNCED_AT)
    snapshot = workdir / "t.jsonl"
    _export(snapshot)
    path = workdir / "state.db"
    source = SnapshotSource(str(snapshot))
    sync(str(path), [source], out=io.StringIO())
    source.close()
    return path


def _damage(path: Path, *statements: str) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()


def _check_cache(path: Path) -> int:
    """Check a plan that takes user0's UPN, so the look-up has to read that cached object."""
    plan = path.parent / "touch.yaml"
    plan.write_text(PLAN.replace("quinn", "user0"), encoding="utf-8")
    return cli.main(["check", str(plan), "--source", f"cache:{path}", "--format", "json"])


def test_cache_read_right_after_its_sync_finds_the_duplicate(cache_file) -> None:
    assert _check_cache(cache_file) == 1


def test_cache_synced_in_the_future_is_stale(cache_file, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DUPFIX_NOW", "2026-11-25T08:00:00Z")
    assert _check_cache(cache_file) == 3
    assert "synced in the future" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        ("UPDATE meta SET value = '{not json' WHERE name = 'tenant'", "bad tenant metadata JSON"),
        ("UPDATE sources SET directories = 'null'", "null directories"),
        ("UPDATE sources SET synced_at = 'yesterday'", "a synced_at that is no time"),
        ("UPDATE objects SET record = 'null'", "null records"),
        ("""UPDATE objects SET record = '{"id": "x"}'""", "kind-less records"),
        ("DROP TABLE keys", "a dropped table"),
        ("UPDATE objects SET record = CAST(X'7b22ff22' AS TEXT)", "invalid UTF-8"),
    ],
)
def test_damaged_cache_contents_are_exit_2_or_3_never_4(cache_file, capsys, damage, what) -> None:
    _damage(cache_file, damage)
    assert _check_cache(cache_file) in (2, 3), what
    err = capsys.readouterr().err
    assert "internal error" not in err and "cache" in err


def test_malformed_cache_page_is_exit_2_or_3_never_4(cache_file, capsys) -> None:
    data = bytearray(cache_file.read_bytes())
    page = 4096
    for offset in range(page, len(data), page):  # every page after the first: b-tree headers gone
        data[offset : offset + 64] = b"\xff" * 64
    cache_file.write_bytes(bytes(data))
    assert _check_cache(cache_file) in (2, 3)
    assert "internal error" not in capsys.readouterr().err
