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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_cache import run_usage  # noqa: E402

DUPFIX = [sys.executable, "-m", "dupfix_policy"]


def run_once(args: list[str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one process; CPU (user + system) is the steadier figure on a
    virtual machine whose wall times jump with the host's load."""
    wall, usage, _code = run_usage(args, str(cwd))
    return wall, usage.ru_utime + usage.ru_stime


def timed(commands: dict[str, list[str]], repeat: int, cwd: Path) -> dict[str, tuple[float, float, float]]:
    """(min wall, median wall, min CPU) seconds per command, the commands interleaved round by
    round so that a burst of load on a shared machine falls on all of them alike."""
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, args in commands.items():
            wall, cpu = run_once(args, cwd)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {name: (min(walls[name]), statistics.median(walls[name]), min(cpus[name])) for name in commands}


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
    (help_min, help_med, help_cpu), (check_min, check_med, check_cpu) = figures["help"], figures["check"]
    none_min, _none_med, none_cpu = figures["none"]
    print(f"dupfix --help                 wall min {help_min:.3f} s  median {help_med:.3f} s   CPU min {help_cpu:.3f} s")
    print(f"check, 10 changes, cache      wall min {check_min:.3f} s  median {check_med:.3f} s   CPU min {check_cpu:.3f} s")
    print(f"check, 10 changes, --source none  wall min {none_min:.3f} s   CPU min {none_cpu:.3f} s")
    print(f"ratio check/help: wall {check_min / help_min:.2f}x (median {check_med / help_med:.2f}x), "
          f"CPU {check_cpu / help_cpu:.2f}x; --source none: wall {none_min / help_min:.2f}x")
    print(f"(python {sys.version.split()[0]}, {os.cpu_count()} cores, repeat {args.repeat})")


if __name__ == "__main__":
    main()
