"""Apply a plan, change by change, to the directory state the sources returned.

Pure: objects in, objects out, plus a record of what each change added, released and touched.
The verdicts are the rules' business; this module only knows what Entra and AD *do* with a
change (soft delete, restore, twin propagation, docs/semantics.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from .addresses import (
    Claim,
    anchor_key,
    claims_of,
    fold,
    guid_to_immutable_id,
    keys_of_values,
    original_upn,
    proxy_key,
    smtp_key,
    target_key,
    target_keys_of,
    upn_key,
)
from .index import ClaimIndex, link_twins
from .model import MULTI_VALUED, Change, DirectoryObject, Location, ObjectRef, Quarantined
from .projection import DEFAULT_SYNC, SyncRules, project, source_anchor

DIRECTORY_NAMES = {"entra": "Entra ID", "ad": "on-prem AD"}


class TargetProblem(NamedTuple):  # not a dataclass: cheaper to define at start-up (docs/plugins.md)
    """Why a change's target could not be used (REF001)."""

    reason: str
    fix: str
    demote: int = 0  # 2 = a note: no source covers the directory, so nothing was checked
    candidates: tuple[int, ...] = ()


@dataclass(slots=True)
class ChangeEffect:
    change: Change
    identity: int | None = None
    added: dict[str, Claim] = field(default_factory=dict)
    released: dict[str, Claim] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    problem: TargetProblem | None = None
    predicted: set[tuple[str, str]] = field(default_factory=set)  # (attribute, folded value)
    # Keys a restore takes back that other identities still held when it ran (freed later on).
    held_when_run: dict[str, tuple[int, ...]] = field(default_factory=dict)
    first_sync: bool = False  # an AD object this change brings into sync scope (or a hard match)
    hard_match: int | None = None  # the AD identity a cloud change hard-matched by its anchor


@dataclass(frozen=True)
class Simulation:
    before: ClaimIndex
    after: ClaimIndex
    effects: tuple[ChangeEffect, ...]
    added_by: Mapping[tuple[str, int], tuple[ChangeEffect, ...]]
    released_by: Mapping[tuple[str, int], tuple[ChangeEffect, ...]]
    deleted_by: Mapping[int, ChangeEffect]
    created: frozenset[int]
    covered: frozenset[str]
    sync: SyncRules = DEFAULT_SYNC


def planned_object(change: Change, object_id: str) -> DirectoryObject:
    """The object a create would make, with predicted values folded in."""
    attrs: dict[str, Any] = {}
    _apply_values(attrs, change)
    return DirectoryObject(object_id, change.kind, change.directory, "active", attrs)


def _apply_values(attrs: dict[str, Any], change: Change) -> None:
    for source in (change.set, change.predicted):
        for name, value in source.items():
            if value is None:
                attrs.pop(name, None)
            elif name in MULTI_VALUED:
                attrs[name] = tuple(value) if isinstance(value, (list, tuple)) else (str(value),)
            else:
                attrs[name] = value
    for name, values in change.add.items():
        existing = list(_as_tuple(attrs.get(name)))
        seen = {fold(v) for v in existing}
        for v in values:
            if fold(v) not in seen:
                existing.append(v)
                seen.add(fold(v))
        attrs[name] = tuple(existing) if name in MULTI_VALUED or len(existing) > 1 else existing[0]
    for name, values in change.remove.items():
        drop = {fold(v) for v in values}
        kept = tuple(v for v in _as_tuple(attrs.get(name)) if fold(v) not in drop)
        if name in MULTI_VALUED:
            attrs[name] = kept
        elif kept:
            attrs[name] = kept[0]
        else:
            attrs.pop(name, None)


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value),)


def _quarantine_key(q: Quarantined) -> str:
    if q.property.lower() == "userprincipalname":
        return upn_key(q.value)
    return proxy_key(q.value) or smtp_key(q.value)


class _State:
    """The mutable working copy the simulation edits; never leaves this module."""

    def __init__(self, objects: Iterable[DirectoryObject], sync: SyncRules = DEFAULT_SYNC):
        self.sync = sync
        # claims_of per object, kept while the object is the same one (projection is not free)
        self._claims: dict[ObjectRef, tuple[DirectoryObject, tuple[Claim, ...]]] = {}
        self.objects: dict[ObjectRef, DirectoryObject] = {}
        for obj in objects:
            self.objects.setdefault(obj.ref, obj)
        self.identity_of: dict[ObjectRef, int] = link_twins(self.objects.values(), sync)
        self.refs_of: dict[int, set[ObjectRef]] = defaultdict(set)
        for ref, ident in self.identity_of.items():
            self.refs_of[ident].add(ref)
        self.next_identity = max(self.identity_of.values(), default=-1) + 1
        self.by_target: dict[str, set[ObjectRef]] = defaultdict(set)
        for ref, obj in self.objects.items():
            self._index(ref, obj)

    def _index(self, ref: ObjectRef, obj: DirectoryObject) -> None:
        for k in target_keys_of(obj):
            self.by_target[k].add(ref)

    def _unindex(self, ref: ObjectRef, obj: DirectoryObject) -> None:
        for k in target_keys_of(obj):
            self.by_target[k].discard(ref)

    def put(self, obj: DirectoryObject, identity: int | None = None) -> None:
        old = self.objects.get(obj.ref)
        if old is not None:
            self._unindex(obj.ref, old)
        self.objects[obj.ref] = obj
        if identity is not None:
            self.identity_of[obj.ref] = identity
            self.refs_of[identity].add(obj.ref)
        self._index(obj.ref, obj)

    def drop(self, ref: ObjectRef) -> None:
        old = self.objects.pop(ref, None)
        if old is not None:
            self._unindex(ref, old)

    def members(self, identity: int) -> list[DirectoryObject]:
        return [self.objects[r] for r in sorted(self.refs_of.get(identity, ())) if r in self.objects]

    def claims(self, identity: int) -> dict[str, Claim]:
        out: dict[str, Claim] = {}
        for obj in self.members(identity):
            for c in self.claims_of(obj):
                out.setdefault(c.key, c)
        return out

    def claims_of(self, obj: DirectoryObject) -> tuple[Claim, ...]:
        cached = self._claims.get(obj.ref)
        if cached is None or cached[0] is not obj:
            cached = self._claims[obj.ref] = (obj, tuple(claims_of(obj, self.sync)))
        return cached[1]

    def merge(self, source: int, into: int) -> None:
        """One identity from two: a hard match joins a cloud object to its AD object."""
        for ref in self.refs_of.pop(source, set()):
            self.identity_of[ref] = into
            self.refs_of[into].add(ref)

    def held_by_others(self, identity: int, keys: Iterable[str]) -> dict[str, tuple[int, ...]]:
        """Who else holds these keys right now (a restore checks this at its place in the plan)."""
        wanted = set(keys)
        out: dict[str, set[int]] = defaultdict(set)
        for ref, obj in self.objects.items():
            ident = self.identity_of.get(ref)
            if ident is None or ident == identity or obj.state != "active":
                continue
            for c in self.claims_of(obj):
                if c.key in wanted:
                    out[c.key].add(ident)
        return {k: tuple(sorted(v)) for k, v in out.items()}

    def hard_match_target(self, obj: DirectoryObject) -> int | None:
        """The AD identity a cloud object's `onPremisesImmutableId` names, if it has no Entra twin yet.

        Setting a cloud object's immutable id to an unsynced AD object's source anchor is the
        documented hard match: sync joins the two into one identity (docs/semantics.md "Anchors").
        """
        anchors = {str(a).strip() for a in _as_tuple(obj.get("onPremisesImmutableId")) if str(a).strip()}
        if obj.directory != "entra" or not anchors:
            return None
        found = {
            self.identity_of[ref]
            for ref, other in self.objects.items()
            if other.directory == "ad" and source_anchor(other, self.sync.source_anchor) in anchors
        }
        if len(found) != 1:
            return None
        ident = next(iter(found))
        mine = self.identity_of.get(obj.ref)
        if any(o.directory == "entra" and o.ref != obj.ref for o in self.members(ident)) or ident == mine:
            return None
        return ident

    def new_identity(self) -> int:
        self.next_identity += 1
        return self.next_identity - 1

    def index(self) -> ClaimIndex:
        return ClaimIndex(dict(self.objects), dict(self.identity_of), self.sync, claims=self.claims_of)

    def in_scope(self, identity: int) -> bool:
        return any(o.directory == "ad" and self.sync.in_scope(o) for o in self.members(identity))


_WANTED_STATE = {"update": "active", "delete": "active", "restore": "soft-deleted"}


def _resolve(
    state: _State, change: Change, covered: frozenset[str]
) -> tuple[int | None, TargetProblem | None]:
    target = change.target
    assert target is not None  # the plan schema requires a target for update/delete/restore
    where = DIRECTORY_NAMES.get(change.directory, change.directory)
    if change.directory not in covered:
        return None, TargetProblem(
            f"target {target} was not checked: no source covers {where}",
            f"Add a source for {where} (--source) to check this change's target.",
            demote=2,
        )
    refs = state.by_target.get(target_key(target), set())
    if target.attribute == "objectGUID":
        # An Entra change may name its AD twin's GUID; the anchor finds the twin itself.
        immutable = guid_to_immutable_id(target.value)
        if immutable:
            refs = refs | state.by_target.get(anchor_key(immutable), set())
    idents = sorted({state.identity_of[r] for r in refs if r in state.objects})
    wanted = "soft-deleted" if change.purge else _WANTED_STATE[change.op]

    def has(ident: int, st: str, directory: str | None = None) -> bool:
        return any(
            o.state == st and (directory is None or o.directory == directory) for o in state.members(ident)
        )

    matching = [i for i in idents if has(i, wanted, change.directory)]
    if len(matching) == 1:
        return matching[0], None
    if len(matching) > 1:
        return None, TargetProblem(
            f"target {target} names {len(matching)} objects in {where}",
            "Name the target by id, objectGUID or distinguishedName so that exactly one object matches.",
            candidates=tuple(matching),
        )
    other_state = [
        i for i in idents if has(i, "soft-deleted" if wanted == "active" else "active", change.directory)
    ]
    if other_state and change.op == "update":
        return None, TargetProblem(
            f"target {target} is soft-deleted (in the recycle bin)",
            "Restore it first (op: restore), then update it; or create a new object.",
            candidates=tuple(other_state),
        )
    if other_state and change.op == "delete" and not change.purge:
        return None, TargetProblem(
            f"target {target} is already soft-deleted",
            "Use purge: true to delete it permanently, or drop this change.",
            candidates=tuple(other_state),
        )
    if other_state and wanted == "soft-deleted":
        verb = "restore" if change.op == "restore" else "purge"
        return None, TargetProblem(
            f"target {target} is not deleted, so there is nothing to {verb}",
            "Drop this change, or delete the object first."
            if verb == "restore"
            else "Delete it first (without purge).",
            candidates=tuple(other_state),
        )
    elsewhere = [i for i in idents if has(i, wanted)]
    if elsewhere:
        dirs = sorted({o.directory for i in elsewhere for o in state.members(i)})
        return None, TargetProblem(
            f"target {target} exists only in {' and '.join(DIRECTORY_NAMES.get(d, d) for d in dirs)}, not in {where}",
            f"Set directory: {dirs[0]} on this change, or name the object as it is in {where}.",
            candidates=tuple(elsewhere),
        )
    return None, TargetProblem(
        f"target {target} does not exist in {where}",
        "Check the spelling, or create the object first (op: create) in this or an earlier plan.",
    )


def updated_object(obj: DirectoryObject, change: Change, sync: SyncRules = DEFAULT_SYNC) -> DirectoryObject:
    attrs = dict(obj.attributes)
    before_keys = {c.key for c in claims_of(replace(obj, quarantined=()), sync)}
    _apply_values(attrs, change)
    updated = replace(obj, attributes=attrs)
    gone = before_keys - {c.key for c in claims_of(replace(updated, quarantined=()), sync)}
    removed_values = {fold(v) for vs in change.remove.values() for v in vs}
    # Keys of the removed values too: removing `smtp:x` on the AD twin releases the Entra
    # object's quarantined `smtp:x`, whose bare value alone would not match (audit fix plans).
    removed_keys = {k for name, vs in change.remove.items() for k in keys_of_values(name, vs)}
    if gone or removed_values:
        # A quarantined value the source no longer asks for stops being held (docs/semantics.md "Quarantined values").
        kept = tuple(
            q
            for q in obj.quarantined
            if _quarantine_key(q) not in gone
            and _quarantine_key(q) not in removed_keys
            and fold(q.value.partition(":")[2] or q.value) not in removed_values
        )
        updated = replace(updated, quarantined=kept)
    if "proxyAddresses" in change.set or "userPrincipalName" in change.set:
        wanted = {c.key for c in claims_of(replace(updated, quarantined=()), sync)}
        updated = replace(
            updated, quarantined=tuple(q for q in updated.quarantined if _quarantine_key(q) in wanted)
        )
    return updated


def resynced_twin(twin: DirectoryObject, before: DirectoryObject, after: DirectoryObject, sync: SyncRules) -> Change:
    """What the next sync cycle writes into an AD object's Entra twin after an AD change.

    Sync replaces what it wrote before: values the old projection gave and the new one doesn't
    are removed, new ones added, single values replaced. What the cloud added on its own (the
    MOERA, Exchange Online's addresses) stays. Returned as a change, so the twin's quarantined
    values are released exactly as for a direct update.
    """
    old, new = project(before, sync), project(after, sync)
    sets: dict[str, Any] = {}
    for name, a, b in (
        ("userPrincipalName", old.upn, new.upn),
        ("mail", old.mail, new.mail),
        ("mailNickname", old.nickname, new.nickname),
    ):
        if (a or "") != (b or "") and not (name == "userPrincipalName" and b is None):
            sets[name] = b
    if tuple(old.target_addresses) != tuple(new.target_addresses):
        sets["targetAddress"] = new.target_addresses[0] if new.target_addresses else None
    old_p = {fold(v): v for v in old.proxies}
    new_p = {fold(v): v for v in new.proxies}
    has = {fold(v) for v in _as_tuple(twin.get("proxyAddresses"))}
    remove = tuple(v for k, v in old_p.items() if k not in new_p)
    add = tuple(v for k, v in new_p.items() if k not in has)
    # A new primary replaces the old one's case: only the prefix differs, so keep it simple.
    return Change(
        "update",
        twin.kind,
        Location("<sync>"),
        directory="entra",
        set=sets,
        add={"proxyAddresses": add} if add else {},
        remove={"proxyAddresses": remove} if remove else {},
    )


def simulate(
    changes: Sequence[Change],
    objects: Iterable[DirectoryObject],
    covered: frozenset[str],
    sync: SyncRules = DEFAULT_SYNC,
) -> Simulation:
    state = _State(objects, sync)
    before = state.index()
    effects: list[ChangeEffect] = []
    added_by: dict[tuple[str, int], list[ChangeEffect]] = defaultdict(list)
    released_by: dict[tuple[str, int], list[ChangeEffect]] = defaultdict(list)
    deleted_by: dict[int, ChangeEffect] = {}
    created: set[int] = set()

    for change in changes:
        effect = ChangeEffect(change)
        effects.append(effect)
        effect.predicted = {
            (name, fold(v)) for name, value in change.predicted.items() for v in _as_tuple(value)
        }
        if change.op == "create":
            ident = state.new_identity()
            created.add(ident)
            obj = planned_object(change, f"plan:{change.plan or change.location.path}#{change.index}")
            state.put(obj, ident)
            matched = state.hard_match_target(obj)
            if matched is not None:
                claims_before = state.claims(matched)
                state.merge(ident, matched)
                created.discard(ident)
                effect.identity = effect.hard_match = matched
                effect.added = {k: c for k, c in state.claims(matched).items() if k not in claims_before}
                effect.touched = set(claims_before)
            else:
                effect.identity = ident
                effect.added = state.claims(ident)
        else:
            resolved, problem = _resolve(state, change, covered)
            effect.problem = problem
            if resolved is None:
                continue
            ident = resolved
            effect.identity = ident
            claims_before = state.claims(ident)
            members = state.members(ident)
            if change.op == "update":
                was_in_scope = state.in_scope(ident)
                synced = change.directory == "ad" and any(o.directory == "ad" for o in members)
                for obj in members:
                    if obj.state != "active" or (synced and obj.directory != "ad"):
                        continue
                    new_obj = updated_object(obj, change, sync)
                    state.put(new_obj)
                    if synced:
                        for twin in members:
                            if twin.directory == "entra" and twin.state == "active":
                                current = state.objects[twin.ref]
                                resync = resynced_twin(current, obj, new_obj, sync)
                                state.put(updated_object(current, resync, sync))
                if synced and not was_in_scope and state.in_scope(ident):
                    effect.first_sync = True
                for obj in state.members(ident):
                    matched = state.hard_match_target(obj)
                    if matched is not None:
                        state.merge(ident, matched)
                        effect.identity = effect.hard_match = ident = matched
                        effect.first_sync = True
                        break
            elif change.op == "restore":
                for obj in members:
                    if obj.state == "soft-deleted":
                        attrs = dict(obj.attributes)
                        orig = original_upn(obj)
                        if orig:
                            attrs["userPrincipalName"] = orig
                        state.put(replace(obj, state="active", attributes=attrs))
                effect.held_when_run = state.held_by_others(ident, state.claims(ident))
            elif change.op == "delete" and change.purge:
                for obj in members:
                    if obj.state == "soft-deleted":
                        state.drop(obj.ref)
            else:  # delete: AD objects go, Entra users and groups go to the recycle bin
                for obj in members:
                    if obj.directory == "entra" and obj.kind in ("user", "group"):
                        state.put(replace(obj, state="soft-deleted"))
                    else:
                        state.drop(obj.ref)
                deleted_by[ident] = effect
            claims_after = state.claims(ident)
            if change.op == "restore":
                effect.added = claims_after
            else:
                effect.added = {k: c for k, c in claims_after.items() if k not in claims_before}
            effect.released = {k: c for k, c in claims_before.items() if k not in claims_after}
            effect.touched = set(claims_before)
        effect.touched |= set(effect.added) | set(effect.released)
        for key in effect.added:
            added_by[(key, effect.identity)].append(effect)
        for key in effect.released:
            released_by[(key, effect.identity)].append(effect)

    return Simulation(
        before=before,
        after=state.index(),
        effects=tuple(effects),
        added_by={k: tuple(v) for k, v in added_by.items()},
        released_by={k: tuple(v) for k, v in released_by.items()},
        deleted_by=deleted_by,
        created=frozenset(created),
        covered=covered,
        sync=sync,
    )
