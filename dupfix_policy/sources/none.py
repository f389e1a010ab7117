"""The `none` source: no directory state at all, for plan-only checks.

`--source none` says "judge the plan by itself" (plan-internal duplicates, format rules) and
makes that explicit in the report (origin `none`), rather than a missing `--source` silently
meaning the same. It covers no directory, so unresolvable targets are notes, not REF001.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..errors import UserInputError
from ..hookspecs import hookimpl
from ..interfaces import SourceFactory
from ..model import DirectoryObject, SourceInfo, Target, Tenant

SCHEME = "none"


class NoneSource:
    """A `StateSource` that knows nothing: every look-up is empty, every scan yields nothing."""

    def __init__(self, spec: str = SCHEME):
        self.spec = spec

    @property
    def directories(self) -> frozenset[str]:
        return frozenset()

    @property
    def tenant(self) -> Tenant | None:
        return None

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(self.spec, "none", None)

    def lookup(self, keys: Iterable[str], targets: Sequence[Target]) -> list[DirectoryObject]:
        return []

    def scan(self) -> Iterator[DirectoryObject]:
        return iter(())

    def close(self) -> None:
        return None


def create(spec: str, options: Mapping[str, Any]) -> NoneSource:
    if spec != SCHEME:
        raise UserInputError(f"bad source {spec!r}", hint="the plan-only source is written just `none`")
    return NoneSource(spec)


@hookimpl
def dupfix_sources() -> list[SourceFactory]:
    return [SourceFactory(scheme=SCHEME, create=create, description="no directory state: plan-only rules")]
