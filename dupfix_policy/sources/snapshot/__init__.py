"""The `snapshot:PATH` source: directory state exported to a file (JSON, or JSON Lines).

- `source`: `SnapshotSource` (the streaming prefilter, validation, parallel scan) and `create`;
- `writer`: `dupfix snapshot`'s writer (header, one object per line, the end record).

Registered without importing the reader: it loads when a `snapshot:` source is opened.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...hookspecs import hookimpl
from ...interfaces import SourceFactory

if TYPE_CHECKING:
    from .source import SnapshotSource

SCHEME = "snapshot"


def create(spec: str, options: Mapping[str, Any]) -> SnapshotSource:
    from .source import create as make

    return make(spec, options)


@hookimpl
def dupfix_sources() -> list[SourceFactory]:
    return [SourceFactory(scheme=SCHEME, create=create, description="directory state from a snapshot file (JSON, or JSON Lines for large tenants)")]
