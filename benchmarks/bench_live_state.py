"""Issue 16 side by side: the same measurements for a base revision ("before") and this checkout
("after"), interleaved in one run so that both see the same machine load.

    python benchmarks/bench_live_state.py [--before main] [--repeat 3] [--size 1000000] [--graph 100000]
    python benchmarks/bench_live_state.py --only graph      # or: --only fill

"before" is `git archive BEFORE` unpacked in a temporary directory; each revision runs from its
own tree (`_run_from.py`); both use this checkout's tests/graphfake (in its own process, 20 ms added per request) and the
benchmarks/data files (generated when missing). Measured, each as a whole process, best of
`--repeat` (other processes on a shared machine only ever slow a run down):

- `dupfix snapshot --source graph --output FILE` of N objects: wall, objects/s;
- `dupfix sync --source graph`: the first (full) sync, then after 1% of the objects changed
  (`/_actions/touch`) the incremental one, five times from a copy of the cache the full sync left
  (fastest and median): wall and HTTP round trips, and the ratio delta / full;
- `dupfix sync --full --source snapshot:tenant-1m.jsonl`: wall, peak RSS, file size; then
  `dupfix check` of 10 and of 1,000 changes from that cache.

Both revisions must produce the same snapshot body (checked: the run fails otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from bench_cache import ensure_data as cache_data  # noqa: E402
from bench_cache import first_changes, run  # noqa: E402
from bench_graph import FakeGraph, env_for  # noqa: E402
from bench_graph import ensure_data as graph_data  # noqa: E402

DUPFIX = [sys.executable, "-m", "dupfix_policy"]
LAUNCHER = os.path.join(HERE, "_run_from.py")


PYTHON = sys.executable  # main() points it at the user venv (or --python)


def dupfix(code: str) -> list[str]:
    """`dupfix` run from the source tree `code` (an editable install would win over PYTHONPATH)."""
    return [PYTHON, LAUNCHER, code]


def user_venv() -> str:
    """A venv holding what `pip install dupfix-policy[all]` installs and nothing else (made once
    with uv, byte-compiled), whose Python runs the measured processes.

    Why not the development venv: its tools change what a user would measure. httpx imports its
    command line (rich, click) whenever they are installed, and import-linter installs them: that
    alone adds ~60 ms to every Graph process, a tenth of a delta sync. The project itself is not
    installed there: each revision runs from its own tree (`_run_from.py`).
    """
    import shutil

    import tomllib

    venv = os.path.join(HERE, "data", "venv-user")
    python = os.path.join(venv, "bin", "python")
    if os.path.exists(python):
        return python
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        project = tomllib.load(fh)["project"]
    extras = project["optional-dependencies"]
    requirements = [*project["dependencies"], *extras["graph"], *extras["ldap"]]
    uv = shutil.which("uv") or os.path.join(os.path.dirname(sys.executable), "uv")
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, venv], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", python, "--compile-bytecode", *requirements], check=True)
    return python


def export_revision(rev: str, into: str) -> str:
    """`git archive REV` unpacked under `into`: the code "before" runs from there."""
    target = os.path.join(into, "before")
    os.makedirs(target)
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", target], input=archive, check=True)
    return target


def _objects_of(path: str) -> str:
    """A snapshot's object lines: the header (its export time) and the end record (added by issue
    13, absent before it) are not part of what the two revisions must agree on."""
    lines = Path(path).read_text(encoding="utf-8").split("\n")[1:]
    while lines and (not lines[-1] or lines[-1].startswith('{"end":')):
        lines.pop()
    return "\n".join(lines)


def best_of(repeat: int, variants: dict[str, str], measure: Callable[[str, str], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Run `measure(label, code)` for each variant in turn, `repeat` rounds; keep each one's fastest."""
    out: dict[str, dict[str, Any]] = {}
    for _ in range(repeat):
        for label, code in variants.items():
            result = measure(label, code)
            if label not in out or result["wall_s"] < out[label]["wall_s"]:
                out[label] = result
    return out


def graph_snapshot(tenant: str, latency: float, out_dir: str) -> Callable[[str, str], dict[str, Any]]:
    fake = FakeGraph(tenant, latency)
    warm = subprocess.run([*DUPFIX, "snapshot", "--source", "graph", "--quiet", "--output", os.path.join(out_dir, "warm.jsonl")],
                          env=env_for(fake), capture_output=True)  # fmt: skip
    if warm.returncode != 0:
        raise SystemExit(warm.stderr.decode()[-2000:])

    def measure(label: str, code: str) -> dict[str, Any]:
        path = os.path.join(out_dir, f"snapshot-{label}.jsonl")
        started = time.perf_counter()
        done = subprocess.run([*dupfix(code), "snapshot", "--source", "graph", "--quiet", "--output", path],
                              env=env_for(fake), capture_output=True, text=True)  # fmt: skip
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{label}: snapshot failed: {done.stderr[-2000:]}")
        return {"wall_s": wall, "objects_per_s": fake.objects / wall, "path": path}

    measure.fake = fake  # type: ignore[attr-defined]
    return measure


def graph_sync(tenant: str, latency: float, out_dir: str, deltas: int = 5) -> Callable[[str, str], dict[str, Any]]:
    """The first (full) sync, then `deltas` incremental syncs after 1% changed, each from a copy of
    the cache the full sync left (the same delta link, the same changes): one sub-second run is
    mostly noise, so the fastest of several is the figure, with the median beside it."""

    def run_sync(cmd: list[str], fake: FakeGraph, label: str) -> dict[str, Any]:
        before = fake.stats()
        started = time.perf_counter()
        done = subprocess.run(cmd, env=env_for(fake), capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{label}: sync failed: {done.stderr[-2000:]}")
        after = fake.stats()
        return {"wall_s": wall, "http_requests": after["http_requests"] - before["http_requests"],
                "batched": after["batch_items"] - before["batch_items"],
                "output": done.stderr.strip().splitlines()}  # fmt: skip

    def measure(label: str, code: str) -> dict[str, Any]:
        fake = FakeGraph(tenant, latency)  # a fresh tenant each time: touch changes it
        cache = os.path.join(out_dir, f"graph-{label}.db")
        synced = cache + ".full"
        if os.path.exists(cache):
            os.unlink(cache)
        sync = [*dupfix(code), "sync", "--source", "graph", "--quiet", "--cache", cache]
        out: dict[str, Any] = {}
        try:
            out["full"] = run_sync(sync, fake, label)
            with urllib.request.urlopen(f"http://127.0.0.1:{fake.port}/_actions/touch?fraction=0.01") as r:
                out["changed"] = json.loads(r.read())["changed"]
            shutil.copyfile(cache, synced)
            runs = []
            for _ in range(deltas):
                shutil.copyfile(synced, cache)
                os.sync()  # as the full sync left it: on disk, nothing left for the delta's commit to flush
                runs.append(run_sync(sync, fake, label))
        finally:
            fake.stop()
        out["delta"] = min(runs, key=lambda r: r["wall_s"])
        out["delta_runs_s"] = [r["wall_s"] for r in runs]
        out["delta_median_s"] = statistics.median(out["delta_runs_s"])
        out["wall_s"] = out["delta"]["wall_s"]
        out["time_ratio"] = out["delta"]["wall_s"] / out["full"]["wall_s"]
        out["request_ratio"] = out["delta"]["http_requests"] / out["full"]["http_requests"]
        return out

    return measure


def cache_fill(tenant: str, plan: str, out_dir: str) -> Callable[[str, str], dict[str, Any]]:
    plan10 = first_changes(plan, 10, os.path.join(out_dir, "plan-10.yaml"))
    check = ["check", "--format", "json=/dev/null", "--fail-on", "never", "--max-age", "365d"]

    def measure(label: str, code: str) -> dict[str, Any]:
        cache = os.path.join(out_dir, f"state-{label}.db")
        for suffix in ("", "-journal"):
            if os.path.exists(cache + suffix):
                os.unlink(cache + suffix)
        wall, rss, _ = run([*dupfix(code), "sync", "--full", "--source", f"snapshot:{tenant}", "--cache", cache])
        out = {"wall_s": wall, "rss_mb": rss, "file_mb": os.path.getsize(cache) / 2**20}
        for name, p in (("check_10_s", plan10), ("check_1000_s", plan)):
            out[name] = min(run([*dupfix(code), *check, p, "--source", f"cache:{cache}"])[0] for _ in range(3))
        return out

    return measure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="git revision measured as 'before' (default: where this branch left main)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=1_000_000, help="objects in the cache fill's snapshot")
    parser.add_argument("--graph", type=int, default=100_000, help="objects in the fake Graph tenant")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--only", choices=("graph", "fill"))
    parser.add_argument("--after", default=ROOT, help="source tree measured as 'after' (default: this checkout)")
    parser.add_argument("--python", help="Python that runs the measured processes (default: a venv with only "
                                         "dupfix-policy[all]'s dependencies, benchmarks/data/venv-user)")  # fmt: skip
    args = parser.parse_args()
    global PYTHON
    PYTHON = args.python or user_venv()
    if args.before is None:
        args.before = subprocess.run(["git", "-C", ROOT, "merge-base", "HEAD", "main"], check=True,
                                     capture_output=True, text=True).stdout.strip()[:12]  # fmt: skip
    work = tempfile.mkdtemp(prefix="dupfix-bench16-")
    variants = {"before": export_revision(args.before, work), "after": args.after}
    for code in variants.values():  # as installed: compiled once (PYTHONDONTWRITEBYTECODE would recompile every run)
        subprocess.run([PYTHON, "-m", "compileall", "-q", os.path.join(code, "dupfix_policy")], check=True)
    report: dict[str, Any] = {"before": args.before, "repeat": args.repeat, "python": PYTHON,
                              "load_average_at_start": os.getloadavg()}  # fmt: skip
    if args.only in (None, "graph"):
        tenant, _ = graph_data(args.graph, 1000, 1)
        snap = graph_snapshot(tenant, args.latency, work)
        try:
            report["snapshot"] = best_of(args.repeat, variants, snap)
        finally:
            snap.fake.stop()  # type: ignore[attr-defined]
        bodies = [_objects_of(report["snapshot"][v]["path"]) for v in variants]
        if bodies[0] != bodies[1]:
            raise SystemExit("the two snapshots differ: the export is not byte-identical")
        report["snapshot_identical"] = True
        report["graph_sync"] = best_of(args.repeat, variants, graph_sync(tenant, args.latency, work))
    if args.only in (None, "fill"):
        tenant, plan = cache_data(args.size)
        report["cache"] = best_of(args.repeat, variants, cache_fill(tenant, plan, work))
    report["load_average_at_end"] = os.getloadavg()
    print(json.dumps(report, indent=2, default=str))
    print_table(report)
    return 0


def print_table(report: dict[str, Any]) -> None:
    rows: list[tuple[str, float, float]] = []
    if "snapshot" in report:
        s = report["snapshot"]
        rows.append(("snapshot --source graph, objects/s", s["before"]["objects_per_s"], s["after"]["objects_per_s"]))
        rows.append(("snapshot --source graph, wall s", s["before"]["wall_s"], s["after"]["wall_s"]))
    if "graph_sync" in report:
        g = report["graph_sync"]
        for key, name in (("full", "Graph full sync"), ("delta", "Graph delta sync after 1%")):
            rows.append((f"{name}, wall s", g["before"][key]["wall_s"], g["after"][key]["wall_s"]))
            rows.append((f"{name}, HTTP requests", g["before"][key]["http_requests"], g["after"][key]["http_requests"]))
        rows.append(("Graph delta sync after 1%, median wall s", g["before"]["delta_median_s"], g["after"]["delta_median_s"]))
        rows.append(("delta / full, time", g["before"]["time_ratio"], g["after"]["time_ratio"]))
        rows.append(("delta / full, requests", g["before"]["request_ratio"], g["after"]["request_ratio"]))
    if "cache" in report:
        c = report["cache"]
        for key, name in (("wall_s", "cache fill, wall s"), ("rss_mb", "cache fill, peak RSS MB"),
                          ("file_mb", "cache file MiB"), ("check_10_s", "check 10 changes from cache, s"),
                          ("check_1000_s", "check 1,000 changes from cache, s")):  # fmt: skip
            rows.append((name, c["before"][key], c["after"][key]))
    print(f"\n| measure (best of {report['repeat']}) | before ({report['before']}) | after | after/before |")
    print("|---|---|---|---|")
    for name, before, after in rows:
        print(f"| {name} | {before:,.3f} | {after:,.3f} | {after / before if before else float('nan'):.2f} |")


if __name__ == "__main__":
    raise SystemExit(main())
