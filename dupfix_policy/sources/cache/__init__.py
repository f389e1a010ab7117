"""The `cache:PATH` source: directory state in a local SQLite file that `dupfix sync` fills.

- `source`: `CacheSource` (look-ups by hashed key, freshness, damaged contents as exit 3) and the
  record codec; `sync`: full rebuilds and incremental refreshes through `DeltaSource`s.

Registered without importing sqlite3 or the implementation.
"""

from __future__ import annotations

from ...hookspecs import hookimpl
from ...interfaces import SourceFactory
from .. import lazy_factory

SCHEME = "cache"


@hookimpl
def dupfix_sources() -> list[SourceFactory]:
    return [lazy_factory(SCHEME, f"{__name__}.source", "directory state from a local cache file filled by `dupfix sync` (SQLite)")]
