"""Time the `graph` source against the fake Graph holding 100k objects, 20 ms added per request.

    python benchmarks/bench_graph.py [--objects 100000] [--changes 1000] [--latency 0.02]

Generates (deterministically, into benchmarks/data/, git-ignored) an Entra-only tenant and a plan,
starts `tests/graphfake` in its own process on 127.0.0.1 with the added latency, and measures:

- point mode: a 1,000-change plan checked through the engine in this process, counting the
  look-ups (distinct keys and targets the engine asked for) and HTTP round trips (a `$batch` POST
  is one), then the whole `dupfix check` process, wall time;
- full scan: `GraphSource.scan()` in this process (objects/s), after one untimed scan that warms
  the fake's JSON cache, then the whole `dupfix snapshot` process writing a JSON Lines file, wall
  time and objects/s.

Goals (issue 3): point mode under 5 s with at most one round trip per 20 look-ups; a full
snapshot at 20k objects/s or more (a goal, not a gate).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from typing import Any

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from generate_tenant import AS_OF, DOMAIN, INITIAL_DOMAIN, Sample, generate_objects, generate_plan  # noqa: E402

from dupfix_policy.model import Tenant  # noqa: E402
from dupfix_policy.sources.snapshot.writer import write_snapshot  # noqa: E402

DATA = os.path.join(HERE, "data")
TOKEN = "bench-token"


def ensure_data(objects: int, changes: int, seed: int) -> tuple[str, str]:
    """An Entra-only tenant of exactly `objects` objects and a plan against it."""
    tenant_path = os.path.join(DATA, f"graph-tenant-{objects}.jsonl")
    plan_path = os.path.join(DATA, f"graph-plan-{objects}-{changes}.yaml")
    if os.path.exists(tenant_path) and os.path.exists(plan_path):
        return tenant_path, plan_path
    os.makedirs(DATA, exist_ok=True)
    sample = Sample()
    entra = []
    for obj in generate_objects(objects * 2, seed, sample):  # AD twins are skipped: over-generate
        if obj.directory == "entra":
            entra.append(obj)
            if len(entra) == objects:
                break
    tenant = Tenant(INITIAL_DOMAIN, tuple(sorted({DOMAIN, INITIAL_DOMAIN})))
    write_snapshot(tenant_path, entra, tenant, AS_OF, directories=["entra"])
    ids = {o.id for o in entra}
    sample.users = [u for u in sample.users if u[0] in ids]
    sample.deleted = [d for d in sample.deleted if d[0] in ids]
    with open(plan_path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(generate_plan(changes, seed, sample), fh, sort_keys=False)
    return tenant_path, plan_path


class FakeGraph:
    """tests/graphfake in a child process (so its CPU is not ours), serving the snapshot."""

    def __init__(self, snapshot: str, latency: float):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.join(ROOT, "tests"), ROOT])}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "graphfake", snapshot, "--latency", str(latency), "--token", TOKEN],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
        )  # fmt: skip
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("port "):
            raise SystemExit(f"the fake Graph did not start: {line!r}")
        self.port = int(line.split()[1])
        self.objects = int(line.split()[3])
        self.url = f"http://127.0.0.1:{self.port}/v1.0"

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_stats") as r:
            return json.loads(r.read())

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def env_for(fake: FakeGraph) -> dict[str, str]:
    return {
        **os.environ,
        "DUPFIX_GRAPH_URL": fake.url,
        "DUPFIX_GRAPH_TOKEN": TOKEN,
        "DUPFIX_DISABLE_PLUGIN_AUTOLOAD": "1",
    }


def point_mode(fake: FakeGraph, plan_path: str) -> dict[str, Any]:
    from dupfix_policy.engine import check
    from dupfix_policy.plans.native import load as load_native
    from dupfix_policy.plugins import load_registry
    from dupfix_policy.policy import load_policy
    from dupfix_policy.sources.graph.source import GraphSource

    os.environ.update(env_for(fake))
    registry = load_registry()
    plan = load_native(plan_path, {})
    source = GraphSource("graph", fake.url, quiet=True)
    asked: set[str] = set()
    inner = source.lookup

    def counting(keys, targets):
        from dupfix_policy.addresses import target_key

        keys = list(keys)
        asked.update(keys)
        asked.update(target_key(t) for t in targets)
        return inner(keys, targets)

    source.lookup = counting  # type: ignore[method-assign]
    before = fake.stats()
    started, cpu = time.perf_counter(), time.process_time()
    report = check([plan], [source], registry.rules, load_policy("default"))
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = fake.stats()
    stats = source.stats
    source.close()
    round_trips = after["http_requests"] - before["http_requests"]
    out = {
        "changes": report.changes,
        "findings": len(report.findings),
        "lookups": len(asked),
        "http_round_trips": round_trips,
        "requests_in_batches": after["batch_items"] - before["batch_items"],
        "lookups_per_round_trip": round(len(asked) / max(1, round_trips), 1),
        "engine_wall_s": round(took, 2),
        "engine_cpu_s": round(cpu, 2),  # this process only: other load on the machine doesn't inflate it
        "client_counted_round_trips": stats.http_requests,
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dupfix_policy", "check", plan_path, "--source", "graph", "--quiet",
         "--format", "json=/dev/null", "--fail-on", "never"],
        env=env_for(fake), capture_output=True, text=True, cwd=DATA,
    )  # fmt: skip
    out["cli_wall_s"] = round(time.perf_counter() - started, 2)
    out["cli_exit"] = done.returncode
    if done.returncode != 0:
        out["cli_stderr"] = done.stderr[-500:]
    return out


def full_scan(fake: FakeGraph) -> dict[str, Any]:
    from dupfix_policy.sources.graph.source import GraphSource

    os.environ.update(env_for(fake))
    # One untimed scan first: the fake serialises each record once and keeps the bytes, as a
    # server would; what is measured is the client (and the round trips), not the fake's JSON.
    warm = GraphSource("graph", fake.url, quiet=True)
    sum(1 for _ in warm.scan())
    warm.close()
    source = GraphSource("graph", fake.url, quiet=True)
    before = fake.stats()
    started, cpu = time.perf_counter(), time.process_time()
    count = sum(1 for _ in source.scan())
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = fake.stats()
    source.close()
    out: dict[str, Any] = {
        "objects": count,
        "http_round_trips": after["http_requests"] - before["http_requests"],
        "scan_wall_s": round(took, 2),
        "scan_objects_per_s": round(count / took),
        "scan_cpu_s": round(cpu, 2),
    }
    target = os.path.join(DATA, "graph-snapshot-out.jsonl")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dupfix_policy", "snapshot", "--source", "graph", "--quiet", "--output", target],
        env=env_for(fake), capture_output=True, text=True, cwd=DATA,
    )  # fmt: skip
    took = time.perf_counter() - started
    out["cli_wall_s"] = round(took, 2)
    out["cli_objects_per_s"] = round(count / took)
    out["cli_exit"] = done.returncode
    if done.returncode != 0:
        out["cli_stderr"] = done.stderr[-500:]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every HTTP request")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    tenant, plan = ensure_data(args.objects, args.changes, args.seed)
    fake = FakeGraph(tenant, args.latency)
    try:
        result = {
            "tenant_objects": fake.objects,
            "latency_ms": args.latency * 1000,
            "point_mode": point_mode(fake, plan),
            "full_scan": full_scan(fake),
        }
    finally:
        fake.stop()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
