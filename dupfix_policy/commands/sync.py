"""`dupfix sync`: fill or refresh the state cache."""

from __future__ import annotations

import argparse
import os

from ..app import opened, resolve, scheme_of
from ..errors import EXIT_OK, UserInputError
from ..plugins import Registry
from ..safetext import say


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Fill or refresh the state cache (sources/cache/sync.py); without --source, its own sources."""
    from ..sources.cache.sync import cached_specs, sync

    settings = resolve(args)
    if not settings.cache:
        raise UserInputError(
            "no cache file given", field="--cache",
            hint="pass --cache PATH (e.g. .dupfix/state.db) or set `cache:` in .dupfix.yaml",
        )  # fmt: skip
    specs = settings.sources if getattr(args, "source", None) else ()
    if not specs and os.path.exists(settings.cache):
        specs = tuple(cached_specs(settings.cache))
    specs = specs or settings.sources
    if any(scheme_of(spec) == "cache" for spec in specs):
        raise UserInputError("a cache cannot be synced from a cache", field="--source",
                             hint="sync from graph, ldap://…, or snapshot:PATH")  # fmt: skip
    with opened(specs, registry, settings) as sources:
        result = sync(settings.cache, sources, full=bool(getattr(args, "full", False)))
    say(f"dupfix: sync: {settings.cache} up to date in {result.seconds:.1f} s")
    return EXIT_OK

