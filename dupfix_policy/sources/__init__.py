"""State sources: one subpackage per kind of directory state (snapshot, cache, graph, ldap) and `none`.

Each subpackage's `__init__` registers its source with `lazy_factory`: the implementation (and
the library it needs) is imported when a source of that scheme is opened, not at every start.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

from ..interfaces import SourceFactory, StateSource


def lazy_factory(scheme: str, module: str, description: str) -> SourceFactory:
    """A factory whose `create` imports `module` (absolute name) and calls its `create`."""

    def create(spec: str, options: Mapping[str, Any]) -> StateSource:
        return import_module(module).create(spec, options)  # type: ignore[no-any-return]

    return SourceFactory(scheme=scheme, create=create, description=description)
