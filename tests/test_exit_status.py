"""The exit status is the verdict: a closed pipe, a full disk or a dead worker never turns into a pass."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dupfix_policy import cli
from dupfix_policy.audit import collect
from dupfix_policy.collector import COMMAND_LINE_THRESHOLDS
from dupfix_policy.sources.snapshot import source as snapshot
from dupfix_policy.sources.snapshot.writer import write_snapshot

ROOT = Path(__file__).resolve().parents[1]
TENANT = ROOT / "examples" / "tenant.json"
DUPLICATE_PLAN = """\
version: 1
changes:
  - op: create
    kind: user
    set: {userPrincipalName: alice@contoso.com}
"""


@pytest.fixture
def duplicate_plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(DUPLICATE_PLAN, encoding="utf-8")
    return path


def _run_with_stdout(stdout: int, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "dupfix_policy", *args], stdout=stdout, stderr=subprocess.PIPE,
        env=env, timeout=120, check=False,
    )  # fmt: skip


def test_a_closed_stdout_pipe_keeps_the_failing_verdict(duplicate_plan: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (`| head -0`) is gone before dupfix writes a byte
    try:
        done = _run_with_stdout(write_end, "check", str(duplicate_plan), "--source", f"snapshot:{TENANT}")
    finally:
        os.close(write_end)
    assert done.returncode == 1, done.stderr.decode()
    assert b"Traceback" not in done.stderr


def test_stdout_on_a_full_disk_is_exit_2_with_a_message(duplicate_plan: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    with open("/dev/full", "wb") as full:
        done = _run_with_stdout(full.fileno(), "check", str(duplicate_plan), "--source", f"snapshot:{TENANT}")
    assert done.returncode == 2
    assert b"cannot write to standard output" in done.stderr
    assert b"Traceback" not in done.stderr


def test_the_console_entry_leaves_early_but_only_after_the_whole_report_is_written(duplicate_plan: Path, tmp_path) -> None:
    """`cli.entry` skips interpreter teardown (os._exit): the JSON on stdout, the SARIF file and
    the exit code must all be complete by then."""
    import json

    sarif = tmp_path / "report.sarif"
    done = _run_with_stdout(subprocess.PIPE, "check", str(duplicate_plan), "--source", f"snapshot:{TENANT}",
                            "--format", "json", "--format", f"sarif={sarif}")  # fmt: skip
    assert done.returncode == 1, done.stderr.decode()
    report = json.loads(done.stdout)
    assert any(f["code"] == "DUP001" for f in report["findings"])
    assert json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]["results"]


def test_a_profiled_run_still_writes_its_profile(duplicate_plan: Path, tmp_path) -> None:
    """The early exit steps aside under a profiler, which writes its results after the run."""
    out = tmp_path / "check.prof"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "dupfix_policy", "check", str(duplicate_plan),
         "--source", f"snapshot:{TENANT}", "--format", "json=/dev/null"],
        capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert b"Traceback" not in done.stderr  # (cProfile itself swallows the exit code)
    assert out.stat().st_size > 0


def test_atexit_handlers_still_run_before_the_early_exit(tmp_path) -> None:
    marker = tmp_path / "ran"
    code = (
        "import atexit, pathlib, sys\n"
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')\n"
        "sys.argv = ['dupfix', '--version']\n"
        "from dupfix_policy.cli import entry\n"
        "entry()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert marker.read_text() == "yes"


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_a_dead_audit_key_counting_worker_is_exit_4(monkeypatch, capsys) -> None:
    monkeypatch.setenv("DUPFIX_AUDIT_WORKERS", "2")
    monkeypatch.setattr(collect, "_work", lambda *_: _die())
    code = cli.main(["audit", "--source", f"snapshot:{TENANT}", "--quiet", "--format", "json"])
    assert code == 4
    assert "key-counting worker" in capsys.readouterr().err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_a_dead_snapshot_scan_worker_is_exit_4(monkeypatch, tmp_path, duplicate_plan, capsys) -> None:
    source = snapshot.SnapshotSource(str(TENANT))
    big = tmp_path / "tenant.jsonl"
    write_snapshot(str(big), list(source.scan()), source.tenant, source.as_of, source.directories)
    parent = os.getpid()
    real_scan = snapshot.SnapshotSource._scan_range

    def scan_or_die(self, matcher, start, end):  # type: ignore[no-untyped-def]
        if os.getpid() != parent:
            _die()
        return real_scan(self, matcher, start, end)

    monkeypatch.setenv("DUPFIX_SNAPSHOT_WORKERS", "2")
    monkeypatch.setattr(snapshot.SnapshotSource, "_scan_range", scan_or_die)
    code = cli.main(["check", str(duplicate_plan), "--source", f"snapshot:{big}", "--format", "json"])
    assert code == 4
    assert "scan worker died" in capsys.readouterr().err


def test_the_console_entry_makes_the_garbage_collector_collect_rarely(tmp_path) -> None:
    """A short `dupfix` process raises the collector's thresholds (collector.tune_for_command_line);
    importing dupfix_policy as a library leaves them as they were."""
    seen = tmp_path / "thresholds"
    code = (
        "import atexit, gc, pathlib, sys\n"
        "import dupfix_policy.cli\n"
        "before = gc.get_threshold()\n"
        f"atexit.register(lambda: pathlib.Path({str(seen)!r}).write_text(repr((before, gc.get_threshold()))))\n"
        "sys.argv = ['dupfix', '--version']\n"
        "dupfix_policy.cli.entry()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    before, after = ast.literal_eval(seen.read_text())
    assert before != COMMAND_LINE_THRESHOLDS  # Python's own defaults, while imported
    assert after == COMMAND_LINE_THRESHOLDS
