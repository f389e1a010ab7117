"""Opening the `--source` specs through the plugins that own their schemes, closed on every exit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import UserInputError
from ..interfaces import StateSource
from ..plugins import Registry
from .settings import Settings


def scheme_of(spec: str) -> str:
    lowered = spec.lower()
    if lowered.startswith(("ldap://", "ldaps://")):
        return "ldap"
    head, sep, _ = spec.partition(":")
    return head.lower() if sep else lowered


def open_sources(specs: Sequence[str], registry: Registry, settings: Settings) -> list[StateSource]:
    if not specs:
        raise UserInputError(
            "no state source given",
            hint="pass --source (e.g. --source snapshot:tenant.json, --source graph, or --source none for "
            "plan-only rules) or list `sources:` in .dupfix.yaml",
        )
    options: dict[str, Any] = {"graph_url": settings.graph_url, "base_dir": settings.base_dir,
                               "timeout": settings.timeout, "quiet": settings.quiet, "debug": settings.debug,
                               "max_age": settings.max_age, "refresh": settings.refresh,
                               "strict_inputs": settings.strict_inputs}
    options["open_source"] = lambda spec, opts: open_one(spec, registry, opts)  # a cache's --refresh
    return [open_one(spec, registry, options) for spec in specs]


def open_one(spec: str, registry: Registry, options: dict[str, Any]) -> StateSource:
    """One `--source` spec, through the plugin that owns its scheme."""
    scheme = scheme_of(spec)
    factory = registry.sources.get(scheme)
    if factory is None:
        known = ", ".join(sorted(registry.sources))
        raise UserInputError(
            f"source {spec!r}: no installed source handles {scheme!r}",
            field="--source",
            hint=f"installed sources: {known}",
        )
    return factory.create(spec, options)


@contextlib.contextmanager
def opened(specs: Sequence[str], registry: Registry, settings: Settings) -> Iterator[list[StateSource]]:
    sources = open_sources(specs, registry, settings)
    try:
        yield sources
    finally:
        for s in sources:
            with contextlib.suppress(Exception):
                s.close()

