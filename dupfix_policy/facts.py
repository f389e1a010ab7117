"""What rules see: the facts the engine computes once per check (plan + state -> simulation).

This is the rule-facing API. A rule is a pure function from a `CheckContext` to findings
(`interfaces.Rule`); built-in and third-party rules read the same types, so they live here and not
inside the engine that computes them. The facts (and `AuditContext`) are named tuples (immutable, read by
attribute): every check defines these classes at start-up, and a named tuple costs a fifth of a
frozen dataclass to define (docs/plugins.md "Start-up").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from .addresses import Claim
from .index import Holding, IdentityView
from .model import Change, ChangeRef, HolderView, Tenant
from .projection import SyncRules
from .simulation import Simulation, TargetProblem

if TYPE_CHECKING:
    from .policy import Policy


class Rival(NamedTuple):
    """Another identity that holds a key a change adds (or held it before the plan released it)."""

    identity: IdentityView
    holding: Holding
    key: str
    changes: tuple[Change, ...] = ()  # plan changes that gave it the key; empty: it held it already
    deleted_by: Change | None = None  # the plan change that sent it to the recycle bin
    released_by: tuple[Change, ...] = ()
    # What people know the holder by today (before the plan renames it); None: a planned object.
    current_name: str | None = None

    @property
    def name(self) -> str:
        return self.current_name or self.identity.name

    @property
    def state(self) -> str:
        return self.identity.state

    @property
    def from_plan(self) -> bool:
        return bool(self.changes)

    def view(self) -> HolderView:
        via = "plan" if self.changes else self.holding.via
        change = self.changes[0] if self.changes else (self.released_by[0] if self.released_by else None)
        return HolderView(
            objects=tuple(r for r in self.identity.refs),
            kind=self.identity.kind,
            state=self.identity.state,
            attribute=self.holding.first.attribute,
            via=via,
            name=self.name,
            change=ChangeRef.of(change) if change is not None else None,
        )


class AddedClaim(NamedTuple):
    """A key a change gives its identity, with everyone else who holds it once the plan has run."""

    change: Change
    identity: IdentityView
    claim: Claim
    predicted: bool
    rivals: tuple[Rival, ...]
    cross_rivals: tuple[Rival, ...]  # holders of the same address as UPN <-> smtp:
    released_from: tuple[Rival, ...]  # held it before; a plan change took it away
    soft_match: Rival | None = None
    # Identities that hold this change's UPN in AD (adupn:): AD refuses the value before sync.
    ad_rivals: frozenset[int] = frozenset()


class TouchedConflict(NamedTuple):
    """A key the change touches that two identities held before the plan and still hold after it."""

    change: Change
    key: str
    claim: Claim
    holders: tuple[Rival, ...]


class DerivedAddress(NamedTuple):
    """The MOERA (mailNickname@initial domain) Entra will add, and who else has or derives it."""

    change: Change
    identity: IdentityView
    nickname: str
    address: str
    key: str
    rivals: tuple[Rival, ...]
    other_changes: tuple[Change, ...]


class RestoreOrder(NamedTuple):
    """A restore that takes back a value another identity still holds at that point of the plan.

    The plan frees it later, so the final state is clean, but changes are applied in order: the
    restore runs first and fails (or loses the value to quarantine) unless the order changes.
    """

    change: Change
    key: str
    claim: Claim
    holders: tuple[Rival, ...]
    freed_by: tuple[Change, ...]


class UnresolvedTarget(NamedTuple):
    change: Change
    problem: TargetProblem


@dataclass
class CheckContext:
    """Everything a rule may look at. Rules must not mutate it."""

    changes: tuple[Change, ...]
    tenant: Tenant
    covered: frozenset[str]
    simulation: Simulation
    policy: Policy
    today: dt.date
    added: list[AddedClaim] = field(default_factory=list)
    touched: list[TouchedConflict] = field(default_factory=list)
    derived: list[DerivedAddress] = field(default_factory=list)
    unresolved: list[UnresolvedTarget] = field(default_factory=list)
    restore_order: list[RestoreOrder] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _by_change: dict[int, list[AddedClaim]] | None = field(default=None, repr=False, compare=False)

    def added_by(self, change: Change) -> list[AddedClaim]:
        """Every key one change adds (rules ask this per claim: grouped once per check)."""
        if self._by_change is None:
            groups: dict[int, list[AddedClaim]] = {}
            for added in self.added:
                groups.setdefault(id(added.change), []).append(added)
            self._by_change = groups
        return self._by_change.get(id(change), [])


class AuditContext(NamedTuple):
    """What a rule's `audit` function may look at besides the object itself."""

    tenant: Tenant
    covered: frozenset[str]
    sync: SyncRules
    policy: Policy
    today: dt.date


__all__ = [
    "AddedClaim",
    "AuditContext",
    "CheckContext",
    "DerivedAddress",
    "RestoreOrder",
    "Rival",
    "TouchedConflict",
    "UnresolvedTarget",
]
