"""Run the fake Graph on its own, serving a snapshot's Entra objects (the benchmark uses this).

    python -m graphfake SNAPSHOT [--latency SECONDS] [--token TOKEN]

Prints `port <n>` on stdout once it listens, then serves until stdin closes or it is terminated.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from dupfix_policy.model import Tenant
from dupfix_policy.sources.snapshot.source import SnapshotSource

from .directory import Directory
from .server import GraphFake


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="graphfake", description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshot")
    parser.add_argument("--latency", type=float, default=0.0, help="added to every HTTP request, in seconds")
    parser.add_argument("--token", default="fake-graph-token")
    args = parser.parse_args(argv)
    source = SnapshotSource(args.snapshot, f"snapshot:{args.snapshot}")
    directory = Directory.of(source.scan(), source.tenant or Tenant())
    fake = GraphFake(directory, token=args.token, latency=args.latency).start()
    print(f"port {fake.port} objects {directory.count()}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sys.stdin.read()  # until the parent closes our stdin
    fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
