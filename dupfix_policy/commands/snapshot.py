"""`dupfix snapshot`: write every object the sources hold to a snapshot file."""

from __future__ import annotations

import argparse

from ..app import opened, resolve
from ..errors import EXIT_OK
from ..interfaces import ReportsNotes
from ..plugins import Registry
from ..safetext import say


def run(args: argparse.Namespace, registry: Registry) -> int:
    from ..sources.snapshot_writer import write_snapshot

    settings = resolve(args)
    with opened(settings.sources, registry, settings) as sources:
        objects = [o for s in sources for o in s.scan()]
        tenant = next((s.tenant for s in sources if s.tenant is not None), None)
        stamps = sorted(s.info.as_of for s in sources if s.info.as_of)
        directories = sorted({d for s in sources for d in s.directories})
        write_snapshot(args.output, objects, tenant, stamps[0] if stamps else None, directories)
        for source in sources:  # what a source could not read
            if isinstance(source, ReportsNotes):
                for note in source.report_notes(frozenset(directories)):
                    say(f"dupfix: note: {note}")
    say(f"dupfix: wrote {len(objects)} objects to {args.output}")
    return EXIT_OK

