"""Pausing Python's cyclic garbage collector around bulk work that builds many objects and no cycles.

Why: a collection is triggered by allocations and a full one walks every container object alive,
so work that keeps building and dropping containers (rows of a million-row import, key rows of a
cache fill, pages of a Graph export) pays again and again for objects the collector can never
free: none of them is in a reference cycle, and reference counting frees them as they are
dropped. Measured: half the load time of a 1e6-row CSV import, 3 s of a 1M-object cache fill's
sync process (issue 16).

A `dupfix` process also collects less often throughout (`tune_for_command_line`): importing
msgraph-sdk's stack leaves some 300,000 container objects alive, and with Python's default
thresholds the collections that importing and then parsing a delta page set off walked them again
and again, ~30 ms of CPU in a 0.45 s incremental sync.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

# A young-generation collection after 200,000 new containers instead of 700, and older generations
# as mypy's command line sets them (mypy/main.py: `gc.set_threshold(200 * 1000, 30, 30)`).
COMMAND_LINE_THRESHOLDS = (200_000, 30, 30)


def tune_for_command_line() -> None:
    """Collect rarely in a short-lived `dupfix` process (cli.entry), not in code that imports
    dupfix_policy as a library. Why it is safe: dupfix's own data (objects, keys, findings) holds
    no reference cycles, so reference counting frees it as before; only cyclic garbage (a caught
    exception's traceback, an asyncio future) waits longer, bounded by the first threshold."""
    gc.set_threshold(*COMMAND_LINE_THRESHOLDS)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside; the collector's previous setting restored after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
