"""The `cache:PATH` source: directory state in a local SQLite file that `dupfix sync` fills.

- `source`: `CacheSource` (look-ups by hashed key, freshness, damaged contents as exit 3) and the
  record codec; `sync`: full rebuilds and incremental refreshes through `DeltaSource`s.

Registered without importing sqlite3 or the implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...hookspecs import hookimpl
from ...interfaces import SourceFactory

if TYPE_CHECKING:
    from .source import CacheSource

SCHEME = "cache"


def create(spec: str, options: Mapping[str, Any]) -> CacheSource:
    from .source import create as make

    return make(spec, options)


@hookimpl
def dupfix_sources() -> list[SourceFactory]:
    return [SourceFactory(scheme=SCHEME, create=create, description="directory state from a local cache file filled by `dupfix sync` (SQLite)")]
