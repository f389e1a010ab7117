"""`dupfix snapshot`: write every object the sources hold to a snapshot file."""

from __future__ import annotations

import argparse

from ..app import opened, resolve
from ..errors import EXIT_OK
from ..interfaces import ReportsNotes, SnapshotRows, StateSource
from ..plugins import Registry
from ..safetext import say


def run(args: argparse.Namespace, registry: Registry) -> int:
    from ..sources.snapshot.writer import write_snapshot_rows

    settings = resolve(args)
    with opened(settings.sources, registry, settings) as sources:
        rows = [row for s in sources for row in _snapshot_rows(s)]
        tenant = next((s.tenant for s in sources if s.tenant is not None), None)
        stamps = sorted(s.info.as_of for s in sources if s.info.as_of)
        directories = sorted({d for s in sources for d in s.directories})
        count = write_snapshot_rows(args.output, rows, tenant, stamps[0] if stamps else None, directories)
        for source in sources:  # what a source could not read
            if isinstance(source, ReportsNotes):
                for note in source.report_notes(frozenset(directories)):
                    say(f"dupfix: note: {note}")
    say(f"dupfix: wrote {count} objects to {args.output}")
    return EXIT_OK


def _snapshot_rows(source: StateSource) -> list[tuple[str, str, str, str]]:
    """A source's objects as snapshot rows: rendered by the source while it reads when it can (the
    Graph source renders a page while the next one is on the wire), else here from `scan()`."""
    from ..sources.records import object_line

    if isinstance(source, SnapshotRows):
        return list(source.snapshot_rows())
    return [(o.directory, o.kind, o.id, object_line(o)) for o in source.scan()]
