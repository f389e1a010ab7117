"""The `snapshot:PATH` source: directory state exported to a file (JSON, or JSON Lines).

- `source`: `SnapshotSource` (the streaming prefilter, validation, parallel scan) and `create`;
- `writer`: `dupfix snapshot`'s writer (header, one object per line, the end record).

Registered without importing the reader: it loads when a `snapshot:` source is opened.
"""

from __future__ import annotations

from ...hookspecs import hookimpl
from ...interfaces import SourceFactory
from .. import lazy_factory

SCHEME = "snapshot"


@hookimpl
def dupfix_sources() -> list[SourceFactory]:
    return [lazy_factory(SCHEME, f"{__name__}.source", "directory state from a snapshot file (JSON, or JSON Lines for large tenants)")]
