"""Time the format rules and every report format on a large synthetic report.

    python benchmarks/bench_reporters.py                 # 5,000 changes, ~10,000 findings
    python benchmarks/bench_reporters.py --changes 20000

The plan is made in memory: pairs of creates that claim the same UPN (DUP005 on both) and carry a
malformed proxy address (FMT006), judged with `--source none`, so the numbers measure the rules and
the reporters, not a state source. Prints seconds per step and the size of each report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import time

from dupfix_policy.engine import check
from dupfix_policy.model import Change, Location, Plan
from dupfix_policy.plugins import load_registry
from dupfix_policy.policy import load_policy
from dupfix_policy.rules import formats
from dupfix_policy.sources.none import NoneSource


def plan(changes: int) -> Plan:
    out = []
    for i in range(changes):
        upn = f"user{i // 2}@contoso.com"
        out.append(
            Change(
                op="create", kind="user", location=Location("bench/plan.yaml", 4 * i + 3, 5), index=i,
                ref=f"row-{i}", set={"userPrincipalName": upn, "proxyAddresses": (f"user{i}@contoso.com",)},
            )
        )
    return Plan("bench/plan.yaml", "native", tuple(out))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=5000)
    args = parser.parse_args()
    registry = load_registry()
    policy = load_policy("default")
    p = plan(args.changes)

    fmt_rules = {r.info.code: r for r in formats.dupfix_rules()}
    start = time.perf_counter()
    check([p], [NoneSource()], fmt_rules, policy, today=dt.date(2026, 11, 26))
    print(f"format rules only: {time.perf_counter() - start:.2f} s for {args.changes} changes")

    start = time.perf_counter()
    report = check([p], [NoneSource()], registry.rules, policy, today=dt.date(2026, 11, 26))
    print(f"all rules: {time.perf_counter() - start:.2f} s, {len(report.findings)} findings")

    for name in ("text", "json", "sarif", "junit", "github"):
        out = io.StringIO()
        start = time.perf_counter()
        registry.reporters[name].render(report, out)
        took = time.perf_counter() - start
        print(f"{name:>6}: {took:.2f} s, {len(out.getvalue()) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
