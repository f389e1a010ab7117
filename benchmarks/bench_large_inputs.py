"""Large-input figures for issue 13: a 1e6-row csvde CSV and an LDIF value folded over 100k lines.

    python benchmarks/bench_large_inputs.py                   # 1,000,000 rows, 100,000 folded lines
    python benchmarks/bench_large_inputs.py --rows 200000 --folded 20000

Each load runs in a fresh process (so its peak RSS is its own) at a quarter of the size and at the
full size; the time ratio shows whether the loader is linear (about 4x) or not (16x for a
quadratic one). Files go to benchmarks/data/large-inputs/ (git-ignored). Not a test: timings
depend on the machine, so the suite never asserts them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from bench_plan_formats import write_csvde  # noqa: E402

DATA = os.path.join(HERE, "data", "large-inputs")
LOAD = """
import json, resource, sys, time
from dupfix_policy.plans import {module} as loader
started = time.perf_counter()
plan = loader.load(sys.argv[1], {{}})
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "peak_mb": peak, "changes": len(plan.changes)}}))
"""


def write_folded_ldif(path: str, folded: int) -> None:
    """One add record whose description is folded over `folded` continuation lines (ldifde folds at 78)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("version: 1\n\ndn: CN=Folded,OU=Staff,DC=contoso,DC=com\nchangetype: add\nobjectClass: user\n")
        fh.write("userPrincipalName: folded@contoso.com\ndescription: start\n")
        for i in range(folded):
            fh.write(f" continuation {i:07d} of a very long description value, folded by ldifde\n")
        fh.write("\n")


def measure(module: str, path: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.path.join(HERE, "..")}
    out = subprocess.run([sys.executable, "-c", LOAD.format(module=module), path], check=True,
                         capture_output=True, text=True, env=env).stdout  # fmt: skip
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--folded", type=int, default=100_000)
    args = parser.parse_args()
    os.makedirs(DATA, exist_ok=True)
    cases = [
        ("csvde CSV rows", "onprem_csv", "csvde-{n}.csv", write_csvde, args.rows),
        ("LDIF folded lines", "ldif", "folded-{n}.ldf", write_folded_ldif, args.folded),
    ]
    print(f"{'input':<20} {'size':>10} {'seconds':>9} {'peak MB':>9} {'x time (4x size)':>17}")
    for label, module, pattern, write, full in cases:
        previous = None
        for n in (full // 4, full):
            path = os.path.join(DATA, pattern.format(n=n))
            if not os.path.exists(path):
                write(path, n)
            result = measure(module, path)
            ratio = f"{result['seconds'] / previous:.1f}" if previous else ""
            print(f"{label:<20} {n:>10,} {result['seconds']:>9.2f} {result['peak_mb']:>9.0f} {ratio:>17}")
            previous = result["seconds"]


if __name__ == "__main__":
    main()
