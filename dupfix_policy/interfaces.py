"""What a plugin provides through the hooks: plan formats, state sources, rules and reporters.

These are the extension points third-party packages implement; the built-ins implement them the
same way. Kept apart from `hookspecs.py` so that the specs stay a short list of hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from .model import DirectoryObject, Finding, Plan, Report, RuleInfo, SourceInfo, Target, Tenant

if TYPE_CHECKING:
    from .facts import AuditContext, CheckContext


@dataclass(frozen=True, eq=False)
class PlanFormat:
    """A loader for one kind of plan file.

    `detect(path, head)` looks at the name and the first bytes only, so detection of a large
    directory stays cheap; `load(path, options)` returns a `Plan` or raises `UserInputError`.
    """

    name: str
    detect: Callable[[str, bytes], bool]
    load: Callable[[str, Mapping[str, Any]], Plan]
    description: str = ""
    file_patterns: tuple[str, ...] = ()
    # When several formats claim one file, the highest priority reads it (and the report says
    # which others matched). Built-ins use 0; a plugin for a more specific shape goes higher.
    priority: int = 0
    plugin: str = ""  # set by the registry: the plugin that provides it


@runtime_checkable
class StateSource(Protocol):
    """Live or exported directory state.

    `lookup` answers only for the keys and targets a plan touches, so its cost follows the plan;
    `scan` yields everything and is for snapshots, the cache and the audit.
    """

    spec: str

    @property
    def directories(self) -> frozenset[str]:
        """Which directories ("entra", "ad") this source covers."""
        ...

    @property
    def tenant(self) -> Tenant | None: ...

    @property
    def info(self) -> SourceInfo: ...

    def lookup(self, keys: Iterable[str], targets: Sequence[Target]) -> Iterable[DirectoryObject]: ...

    def scan(self) -> Iterator[DirectoryObject]: ...

    def close(self) -> None: ...


class DoctorLine(NamedTuple):
    """One line of `dupfix doctor`: a check, how it went (ok, fail, warn, info) and what it found.

    `fail` means a check run would fail (exit 3); `detail` says what was found or what to do.
    """

    check: str
    status: str
    detail: str = ""


@runtime_checkable
class Diagnosable(Protocol):
    """Optional for sources: check their own set-up for `dupfix doctor` (credentials, reach,
    permissions), without printing secrets. A source without it is listed as having no checks."""

    def diagnose(self) -> list[DoctorLine]: ...


@runtime_checkable
class ReportsNotes(Protocol):
    """Optional for sources: notes for the report about what this source could not check, given
    the directories all configured sources cover (e.g. Graph has no targetAddress)."""

    def report_notes(self, covered: frozenset[str]) -> list[str]: ...


@runtime_checkable
class DeltaSource(Protocol):
    """Optional for sources: incremental reads for the state cache (`dupfix sync`).

    `delta(state)` returns what changed since `state` (None: everything) as cache records, and the
    new state to keep (a Graph delta link, a DirSync cookie). An expired state raises
    `errors.DeltaExpired`, and the cache rebuilds in full.
    """

    def delta(self, state: str | None) -> tuple[list[tuple[Any, ...]], str | None]: ...


# What `DeltaInParts.delta_in_parts` hands changes to (the cache's writer).
ChangeWriter = Callable[[list[tuple[Any, ...]]], None]


@runtime_checkable
class DeltaInParts(Protocol):
    """Optional beside `DeltaSource`: `delta_in_parts(state, write)` is `delta(state)` that hands
    `write` the changes it already holds while it still reads the rest, so the cache writes them
    meanwhile (Graph: the delta rounds' changes, while the recycle bin's answer is on its way).
    What `write` was given comes before the changes returned; both are applied in one transaction."""

    def delta_in_parts(
        self, state: str | None, write: ChangeWriter
    ) -> tuple[list[tuple[Any, ...]], str | None]: ...


@runtime_checkable
class DeltaNotes(Protocol):
    """Optional beside `DeltaSource`: what the last incremental read cost or could not do, for the
    output of `dupfix sync` (Graph: how the recycle bin was read; AD: DirSync refused)."""

    def delta_notes(self) -> list[str]: ...


@runtime_checkable
class BatchScan(Protocol):
    """Optional for sources: `scan()` in batches, each handed to `work` where it was read (a
    large snapshot: in forked children that read, parse and validate their part of the file), for
    the cache fill. Results come back in order; validation is `scan()`'s."""

    def map_batches(self, work: Callable[[list[DirectoryObject]], Any], workers: int) -> Iterator[Any]: ...


@runtime_checkable
class SnapshotRows(Protocol):
    """Optional for sources: `dupfix snapshot` rows `(directory, kind, id, line)` rendered while the
    source reads (faster than `scan()` then rendering, for the Graph export)."""

    def snapshot_rows(self) -> Iterable[tuple[str, str, str, str]]: ...


@dataclass(frozen=True, eq=False)
class SourceFactory:
    """Makes a `StateSource` from a `--source` spec whose scheme it owns (`snapshot:`, `graph`...)."""

    scheme: str
    create: Callable[[str, Mapping[str, Any]], StateSource]
    description: str = ""
    plugin: str = ""  # set by the registry


@dataclass(frozen=True, eq=False)
class Rule:
    """A rule: its stable identity and a pure function from the simulation to findings.

    `audit`, when given, also judges what already exists: `dupfix audit` calls it once per object
    it reads from the sources (streaming: a million objects are never held at once), so a plugin
    rule holds the tenant to the same standard as the plans. The built-in duplicate rules judge
    the audit's conflicts through `rules.duplicates.code_for` instead.
    """

    info: RuleInfo
    check: Callable[[CheckContext], Iterable[Finding]]
    audit: Callable[[DirectoryObject, AuditContext], Iterable[Finding]] | None = None
    plugin: str = ""  # set by the registry: named when the rule raises (errors.PluginError)


@dataclass(frozen=True, eq=False)
class Reporter:
    """Writes a finished `Report` to a text stream."""

    name: str
    render: Callable[[Report, IO[str]], None]
    description: str = ""
    extensions: tuple[str, ...] = field(default=())
    plugin: str = ""  # set by the registry
