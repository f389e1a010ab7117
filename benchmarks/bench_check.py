"""Time `dupfix check` of a 1,000-change plan against 100k- and 1M-object JSON Lines snapshots.

    python benchmarks/bench_check.py [--sizes 100000,1000000] [--changes 1000] [--repeat 1]

Generates the tenants and plans into benchmarks/data/ (git-ignored) when missing, then measures:

- baseline: a bare `json.loads` of every line of the snapshot, the yardstick of the issue
  ("within 1.5x of the time a bare json.loads of every line takes");
- lookup: `SnapshotSource.lookup` for the plan's keys and targets, in this process;
- links: a second lookup for the link keys (anchor, SID) of what the first found, as the engine
  asks to join twins;
- check: the whole `dupfix check PLAN --source snapshot:FILE --format json=/dev/null
  --fail-on never` process, wall time and peak RSS (skipped with a note while `dupfix check`
  can't run yet).

Target (issue): 1M objects + 1,000 changes under 30 s and 2 GB peak RSS on a 2-core machine;
direction: lookup within 1.5x of the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from dupfix_policy.addresses import claims_of, cross_key, link_keys_of  # noqa: E402
from dupfix_policy.model import DirectoryObject, Target  # noqa: E402
from dupfix_policy.sources.snapshot.source import SnapshotSource  # noqa: E402

DATA = os.path.join(HERE, "data")

# Runs a command and reports its peak RSS: RUSAGE_CHILDREN of a fresh process covers only it.
_RSS_WRAPPER = (
    "import resource, subprocess, sys, json;"
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE);"
    "ru = resource.getrusage(resource.RUSAGE_CHILDREN);"
    "scale = 1 if sys.platform == 'darwin' else 1024;"
    "print(json.dumps({'rc': rc.returncode, 'maxrss': ru.ru_maxrss * scale,"
    " 'stderr': rc.stderr.decode('utf-8', 'replace')[-2000:]}))"
)


def label(size: int) -> str:
    return f"{size // 1_000_000}m" if size % 1_000_000 == 0 else f"{size // 1000}k"


def ensure_data(size: int, changes: int) -> tuple[str, str]:
    """The tenant and plan for `size`, generated (deterministically) when missing."""
    tenant = os.path.join(DATA, f"tenant-{label(size)}.jsonl")
    plan = os.path.join(DATA, f"plan-{label(size)}-{changes}.yaml")
    if not (os.path.exists(tenant) and os.path.exists(plan)):
        os.makedirs(DATA, exist_ok=True)
        print(f"generating {tenant} and {plan} ...", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                os.path.join(HERE, "generate_tenant.py"),
                "--objects",
                str(size),
                "--output",
                tenant,
                "--plan",
                plan,
                "--plan-changes",
                str(changes),
            ],
            check=True,
        )
    return tenant, plan


def plan_keys(plan_path: str) -> tuple[set[str], list[Target]]:
    """The keys and targets a native plan touches, without the engine.

    Creates: the claims of the object the change would make (plus UPN <-> smtp cross keys, as
    the engine asks for both); updates: the claims of the added values; targets as written.
    """
    with open(plan_path, encoding="utf-8") as fh:
        plan = yaml.safe_load(fh)
    keys: set[str] = set()
    targets: list[Target] = []
    for i, change in enumerate(plan["changes"]):
        attrs: dict[str, Any] = {}
        for section in ("set", "add"):
            for name, value in (change.get(section) or {}).items():
                attrs[name] = tuple(value) if isinstance(value, list) else value
        probe = DirectoryObject(
            f"plan:{i}", change["kind"], change.get("directory", "entra"), "active", attrs
        )
        keys |= {c.key for c in claims_of(probe)}
        for attribute, value in (change.get("target") or {}).items():
            targets.append(Target(attribute, str(value)))
    keys |= {k for k in (cross_key(key) for key in keys) if k}
    return keys, targets


def time_baseline(tenant: str) -> float:
    started = time.perf_counter()
    with open(tenant, "rb") as fh:
        for line in fh:
            json.loads(line)
    return time.perf_counter() - started


def time_lookup(tenant: str, keys: set[str], targets: Sequence[Target]) -> tuple[float, float, int, int]:
    source = SnapshotSource(tenant)
    started = time.perf_counter()
    found = source.lookup(sorted(keys), targets)
    first = time.perf_counter() - started
    links = sorted({k for obj in found for k in link_keys_of(obj)})
    started = time.perf_counter()
    twins = source.lookup(links, [])
    second = time.perf_counter() - started
    source.close()
    return first, second, len(found), len(twins)


def time_check(tenant: str, plan: str) -> tuple[float | None, float | None, str]:
    """Wall seconds and peak RSS (MB) of the whole CLI, or (None, None, why not)."""
    dupfix = os.path.join(os.path.dirname(sys.executable), "dupfix")
    command = [dupfix] if os.path.exists(dupfix) else [sys.executable, "-m", "dupfix_policy"]
    command += [
        "check",
        plan,
        "--source",
        f"snapshot:{tenant}",
        "--format",
        "json=/dev/null",
        "--fail-on",
        "never",
    ]
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _RSS_WRAPPER, *command], capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - started
    result = json.loads(out.stdout)
    if result["rc"] not in (0, 1):
        last = (result["stderr"].strip().splitlines() or ["no output"])[-1]
        return None, None, f"dupfix check exited {result['rc']}: {last}"
    return wall, result["maxrss"] / 1e6, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated object counts")
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the best is kept")
    parser.add_argument("--no-check", action="store_true", help="skip the whole-CLI measurement")
    args = parser.parse_args(argv)
    rows = []
    notes: list[str] = []
    for size in (int(s) for s in args.sizes.split(",")):
        tenant, plan = ensure_data(size, args.changes)
        keys, targets = plan_keys(plan)
        baseline = min(time_baseline(tenant) for _ in range(args.repeat))
        runs = [time_lookup(tenant, keys, targets) for _ in range(args.repeat)]
        lookup, links, found, twins = min(runs)
        wall = rss = None
        if not args.no_check:
            checks = [time_check(tenant, plan) for _ in range(args.repeat)]
            wall, rss, why = min(checks, key=lambda c: c[0] if c[0] is not None else float("inf"))
            if why:
                notes.append(f"{label(size)}: check skipped ({why})")
        rows.append((label(size), baseline, lookup, lookup / baseline, links, found, twins, wall, rss))
    print(
        f"{'size':>5} {'baseline s':>10} {'lookup s':>9} {'ratio':>6} {'links s':>8} {'found':>6} "
        f"{'twins':>6} {'check s':>8} {'peak RSS MB':>11}"
    )
    for name, base, look, ratio, link, found, twins, wall, rss in rows:
        wall_s = f"{wall:8.2f}" if wall is not None else f"{'n/a':>8}"
        rss_s = f"{rss:11.0f}" if rss is not None else f"{'n/a':>11}"
        timings = f"{base:10.2f} {look:9.2f} {ratio:6.2f} {link:8.2f}"
        print(f"{name:>5} {timings} {found:6d} {twins:6d} {wall_s} {rss_s}")
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
