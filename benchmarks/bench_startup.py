"""Start-up: a 10-change check from the state cache against `dupfix --help`, in one run.

The check path should import only what the check uses (issue 14: ≤ 2× `dupfix --help`). Each
command runs as its own process (what a pre-commit hook pays), `--repeat` times; the minimum is
the figure (the least disturbed run on a shared machine), the median is printed beside it.

    python benchmarks/bench_startup.py                       # cache filled from examples/tenant.json
    python benchmarks/bench_startup.py --cache /tmp/cb/bench/state.db   # e.g. bench_cache.py's 1M cache
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DUPFIX = [sys.executable, "-m", "dupfix_policy"]


def timed(commands: dict[str, list[str]], repeat: int, cwd: Path) -> dict[str, tuple[float, float]]:
    """(min, median) seconds per command, the commands interleaved round by round so that a
    burst of load on a shared machine falls on all of them alike."""
    runs: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, args in commands.items():
            start = time.perf_counter()
            done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
            runs[name].append(time.perf_counter() - start)
            if done.returncode not in (0, 1):
                raise SystemExit(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return {name: (min(r), statistics.median(r)) for name, r in runs.items()}


def plan_of(n: int) -> str:
    rows = "".join(
        f"  - {{op: create, kind: user, set: {{userPrincipalName: startup{i}@contoso.com, displayName: S{i}}}}}\n"
        for i in range(n)
    )
    return "version: 1\nchanges:\n" + rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", help="an existing state cache (default: filled from examples/tenant.json)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cache = args.cache
        if not cache:
            cache = str(work / "state.db")
            subprocess.run([*DUPFIX, "sync", "--source", f"snapshot:{ROOT / 'examples' / 'tenant.json'}",
                            "--cache", cache, "--quiet"], check=True, cwd=work)  # fmt: skip
        (work / "plan.yaml").write_text(plan_of(10), encoding="utf-8")
        env_cmd = [*DUPFIX, "check", "plan.yaml", "--source", f"cache:{cache}", "--max-age", "1000000000"]
        figures = timed(
            {
                "help": [*DUPFIX, "--help"],
                "check": env_cmd,
                "none": [*DUPFIX, "check", "plan.yaml", "--source", "none"],
            },
            args.repeat,
            work,
        )
    (help_min, help_med), (check_min, check_med) = figures["help"], figures["check"]
    none_min = figures["none"][0]
    print(f"dupfix --help                 min {help_min:.3f} s   median {help_med:.3f} s")
    print(f"check, 10 changes, cache      min {check_min:.3f} s   median {check_med:.3f} s   "
          f"ratio {check_min / help_min:.2f}x (median {check_med / help_med:.2f}x)")  # fmt: skip
    print(f"check, 10 changes, --source none  min {none_min:.3f} s   ratio {none_min / help_min:.2f}x")
    print(f"(python {sys.version.split()[0]}, {os.cpu_count()} cores, repeat {args.repeat})")


if __name__ == "__main__":
    main()
