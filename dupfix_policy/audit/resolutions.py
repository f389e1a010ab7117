"""A suggested resolution for each conflict, with the reason. Never applied: dupfix is read-only.

Pure: a `Conflict` in, a `Resolution` out. Who keeps a contested value is decided by the first of
these that tells the holders apart (each is a reason people can check in the portal):

1. Entra ID has already quarantined it on one holder: the other keeps it, the quarantined
   holder drops it at its on-prem source (the quarantine then clears at the next sync);
2. an on-prem object not in Entra ID yet yields to the one already there (fix it before it syncs);
3. a cloud-only object yields to the one synced from AD;
4. a holder that has it only as a secondary `smtp:` (or SIP, X500, ...) address yields to one
   that uses it as its UPN, `mail`, primary `SMTP:` address or targetAddress;
5. the newer object yields (by `createdDateTime` / `whenCreated`, when every holder has one).

Only the removal of a secondary address, the purge of a soft-deleted holder and the restore of
an Entra object whose on-prem account is still active are written as changes; a value a holder
uses as its UPN, primary address or alias needs a new value, which only a person can choose, so
such a resolution says who should yield and why, and `needs_decision` is true.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace

from ..addresses import immutable_id_to_guid
from ..model import DIRECTORY_NAMES, DirectoryObject, Target
from .conflicts import Conflict, Hold, Holder

# Attributes whose value is the object's own name or primary address: yielding means renaming.
PRIMARY_ATTRIBUTES = frozenset(
    {
        "userPrincipalName",
        "mail",
        "targetAddress",
        "mailNickname",
        "sAMAccountName",
        "onPremisesImmutableId",
        "onPremisesSecurityIdentifier",
    }
)
USE_NAMES = {
    "userPrincipalName": "UPN",
    "mail": "mail address",
    "targetAddress": "targetAddress",
    "mailNickname": "mailNickname",
    "sAMAccountName": "sAMAccountName",
    "onPremisesImmutableId": "on-prem anchor",
    "onPremisesSecurityIdentifier": "on-prem SID",
}
CREATED_ATTRIBUTES = ("createdDateTime", "whenCreated")
RENAMES = {
    "DUP001": "userPrincipalName",
    "DUP010": "mailNickname",
    "DUP013": "mailNickname",
    "DUP014": "sAMAccountName",
}


@dataclass(frozen=True, slots=True)
class Action:
    """One suggested change, in the native plan's terms (`emit.py` writes it as plan and LDIF)."""

    op: str  # "update" | "delete" | "restore"
    kind: str
    directory: str
    target: Target
    name: str  # who it acts on, for people
    remove: tuple[tuple[str, tuple[str, ...]], ...] = ()
    purge: bool = False
    dn: str | None = None  # AD objects: what the LDIF addresses
    # Order in the plan: 0 restores of objects that then give a value up, 1 removals, 2 purges,
    # 3 restores of objects that keep theirs (only after the others have let go of it).
    phase: int = 1

    def describe(self) -> str:
        where = DIRECTORY_NAMES.get(self.directory, self.directory)
        if self.op == "update":
            values = ", ".join(v for _, vs in self.remove for v in vs)
            return f"remove {values} from {self.kind} {self.name} in {where}"
        if self.op == "restore":
            return f"restore {self.kind} {self.name} in {where}"
        return f"purge soft-deleted {self.kind} {self.name} from {where}"


@dataclass(frozen=True, slots=True)
class Resolution:
    """What to do about one conflict, why, and who keeps the value (None: nobody decided)."""

    reason: str
    actions: tuple[Action, ...] = ()
    keeps: str | None = None
    needs_decision: bool = False

    @property
    def text(self) -> str:
        """The finding's `fix`: the suggestion first, the reason after it."""
        if self.needs_decision:
            return f"Needs a decision: {self.reason}"
        if not self.actions:
            return self.reason
        steps = "; ".join(a.describe() for a in self.actions)
        keeps = f" ({self.keeps} keeps it)" if self.keeps else ""
        return f"Suggested: {steps}{keeps}. Why: {self.reason}"


def resolve(conflict: Conflict, covered: Collection[str] = ("entra", "ad")) -> Resolution:
    """The suggested resolution of one conflict (see the module docstring for the order)."""
    code = conflict.code
    if code == "DUP004":
        return _soft_deleted(conflict)
    if code == "DUP008":
        names = " and ".join(_name(h) for h in conflict.holders)
        return Resolution(
            f"{names} carry the same on-prem anchor, and only one of them can be the twin of that AD "
            "object: clear the anchor on the other (Graph: onPremisesImmutableId / "
            "onPremisesSecurityIdentifier), or delete it if it is a stale copy",
            needs_decision=True,
        )
    if code == "DUP011":
        ad, cloud = sorted(conflict.holders, key=lambda h: not h.identity.ad_only)
        return Resolution(
            f"Entra Connect will soft-match on-prem {_name(ad)} to cloud-only {_name(cloud)} when it "
            f"syncs, and take {_name(cloud)} over: if they are the same {cloud.identity.kind}, that is "
            "the intended join (or hard-match them on purpose by setting the cloud object's "
            "onPremisesImmutableId); if not, change the on-prem object's value before it syncs",
            needs_decision=True,
        )
    if code == "DUP012":
        return _quarantined(conflict, covered)
    return _contest(conflict, [h for h in conflict.holders if h.active], covered)


# --- who keeps it ---------------------------------------------------------------------------------


def _name(h: Holder) -> str:
    return f"{h.identity.kind} {h.identity.name}"


def _created(h: Holder) -> str | None:
    stamps = [str(o.get(a)) for o in h.identity.objects for a in CREATED_ATTRIBUTES if o.get(a)]
    return min(stamps) if stamps else None


def _primary_use(hold: Hold) -> str | None:
    """What the holder uses the value as, when giving it up means renaming (None: a secondary)."""
    if hold.attribute in PRIMARY_ATTRIBUTES:
        return USE_NAMES[hold.attribute]
    if hold.value.strip().startswith("SMTP:"):
        return "primary SMTP address"
    return None


def _use(h: Holder) -> str | None:
    return next((u for u in map(_primary_use, h.holds) if u), None)


@dataclass(frozen=True)
class _Criterion:
    rank: Callable[[Holder, Collection[str]], object]
    why: Callable[[Holder, Holder], str]


CRITERIA = (
    _Criterion(
        lambda h, _c: h.quarantined,
        lambda loser, winner: (
            f"Entra ID already holds it back from {_name(loser)} (quarantined), "
            f"because {_name(winner)} has it"
        ),
    ),
    _Criterion(
        lambda h, c: "entra" in c and h.identity.ad_only,
        lambda loser, winner: (
            f"{_name(loser)} is only on-prem, not in Entra ID yet: fix it before it "
            f"syncs and collides with {_name(winner)}"
        ),
    ),
    _Criterion(
        lambda h, _c: h.identity.cloud_only,
        lambda loser, winner: (
            f"cloud-only {_name(loser)} yields to {_name(winner)}, which is synced from on-prem AD"
        ),
    ),
    _Criterion(
        lambda h, _c: _use(h) is None,
        lambda loser, winner: (
            f"{_name(loser)} has it only as a secondary address, {_name(winner)} uses "
            f"it as its {_use(winner)}"
        ),
    ),
    _Criterion(
        lambda h, _c: _created(h) or "",
        lambda loser, winner: (
            f"{_name(loser)} is the newer object (created {_created(loser)}, "
            f"{_name(winner)} {_created(winner)})"
        ),
    ),
)


def choose(holders: list[Holder], covered: Collection[str]) -> tuple[Holder | None, list[tuple[Holder, str]]]:
    """The holder that keeps the value, and each other holder with why it yields.

    Criteria are tried in order; one that ranks every remaining holder the same is skipped, the
    newest-object one unless every holder has a creation date. None: no criterion decides.
    """
    remaining = list(holders)
    out: list[tuple[Holder, _Criterion]] = []
    for n, criterion in enumerate(CRITERIA):
        if len(remaining) == 1:
            break
        if n == len(CRITERIA) - 1 and any(_created(h) is None for h in remaining):
            break
        ranks = [criterion.rank(h, covered) for h in remaining]
        best = min(ranks)  # type: ignore[type-var]
        out += [(h, criterion) for h, r in zip(remaining, ranks, strict=True) if r != best]
        remaining = [h for h, r in zip(remaining, ranks, strict=True) if r == best]
    if len(remaining) != 1:
        return None, []
    winner = remaining[0]
    return winner, [(h, criterion.why(h, winner)) for h, criterion in out]


def _contest(
    conflict: Conflict, holders: list[Holder], covered: Collection[str], like: str | None = None
) -> Resolution:
    winner, losers = choose(holders, covered)
    value = conflict.first_hold.value
    if winner is None:
        names = " and ".join(_name(h) for h in holders)
        return Resolution(
            f"{names} hold {value} on an equal footing (same sync state, same use, no creation dates): "
            "decide which one keeps it and remove or rename it on the others",
            needs_decision=True,
        )
    reasons = "; ".join(why for _, why in losers)
    rename = RENAMES.get(like or conflict.code)
    if rename:
        names = " and ".join(_name(h) for h, _ in losers)
        return Resolution(
            f"give {names} another {rename}; {_name(winner)} keeps {value} ({reasons})",
            keeps=_name(winner),
            needs_decision=True,
        )
    actions: list[Action] = []
    stuck: list[str] = []
    for loser, _why in losers:
        removal, problem = removals(loser, covered)
        if problem:
            stuck.append(f"{_name(loser)} {problem}")
            continue
        actions.extend(restores(loser, phase=0))
        actions.extend(removal)
    actions.extend(restores(winner, phase=3))
    if stuck:
        return Resolution(
            f"{_name(winner)} keeps {value} ({reasons}); but {'; '.join(stuck)}",
            keeps=_name(winner),
            needs_decision=True,
        )
    restored = [a for a in actions if a.op == "restore"]
    extra = (
        f"; {', '.join(a.name for a in restored)} is in the recycle bin while its on-prem account is "
        "still active: restore it so that sync manages it again, once the removals have reached "
        "Entra ID (a sync cycle), or purge it if the account left the sync scope on purpose"
        if restored
        else ""
    )
    return Resolution(reasons + extra, tuple(actions), keeps=_name(winner))


def _soft_deleted(conflict: Conflict) -> Resolution:
    soft = [h for h in conflict.holders if not h.active]
    active = [h for h in conflict.holders if h.active]
    value = conflict.first_hold.value
    if not active:
        names = " and ".join(_name(h) for h in soft)
        return Resolution(
            f"{names} are all in the recycle bin and hold {value}: only one of them can be restored "
            "with it; decide which may come back and purge the other",
            needs_decision=True,
        )
    actions = tuple(
        Action("delete", o.kind, o.directory, Target("id", o.id), h.identity.name, purge=True, phase=2)
        for h in soft
        for o in h.identity.objects
        if o.state == "soft-deleted"
    )
    names = " and ".join(_name(h) for h in soft)
    users = " and ".join(_name(h) for h in active)
    return Resolution(
        f"{names} is in the recycle bin and still holds {value}, which {users} uses: a restore would "
        "fail on it, so purge it if it will not come back; to bring it back instead, restore it and "
        "remove the address from one of them",
        actions,
        keeps=users,
    )


def _quarantined(conflict: Conflict, covered: Collection[str]) -> Resolution:
    owner, *others = conflict.holders
    value = conflict.first_hold.value
    active = [h for h in others if h.active]
    if not active:
        return Resolution(
            f"no other object in the audited sources holds {value} now: the next sync cycle should "
            f"apply it to {_name(owner)}; if it stays quarantined, the holder is outside these sources "
            f"(`dupfix whois {value}` against Entra ID)",
        )
    rename = "DUP001" if conflict.key.startswith("upn:") else None
    return _contest(conflict, [owner, *active], covered, rename)


# --- what the changes are ---------------------------------------------------------------------------


def _ad_object(h: Holder) -> DirectoryObject | None:
    return next((o for o in h.identity.objects if o.directory == "ad" and o.state == "active"), None)


def restores(h: Holder, phase: int) -> list[Action]:
    """An Entra object in the recycle bin whose on-prem account is still active: restore it."""
    if _ad_object(h) is None:
        return []
    return [
        Action("restore", o.kind, "entra", Target("id", o.id), h.identity.name, phase=phase)
        for o in h.identity.objects
        if o.directory == "entra" and o.state == "soft-deleted"
    ]


def _value_to_remove(hold: Hold) -> str:
    """As the directory has it; a bare quarantined address is an `smtp:` one (docs/semantics.md "Quarantined values")."""
    if hold.via == "quarantine" and ":" not in hold.value.strip():
        return f"smtp:{hold.value.strip()}"
    return hold.value


def removals(h: Holder, covered: Collection[str]) -> tuple[list[Action], str | None]:
    """The updates that take a secondary value off one identity, where its source of authority is.

    On-prem AD is the source of a synced object's addresses, so an AD object that holds the value
    is edited there (sync clears the Entra side and any quarantine); a cloud-only object in Entra
    ID. A synced Entra object whose AD object no source covers is edited in AD by the GUID its
    anchor encodes. Returns the reason instead when no change can do it.
    """
    use = _use(h)
    if use:
        return [], f"uses it as its {use}: it needs a new one, chosen by a person"
    objects = {o.ref: o for o in h.identity.objects}
    on_ad = [hold for hold in h.holds if hold.ref.directory == "ad" and hold.via == "attribute"]
    chosen: dict[tuple[str, str], tuple[DirectoryObject, str, Target, list[str]]] = {}
    problems: list[str] = []
    for hold in on_ad or h.holds:
        obj = objects[hold.ref]
        value = _value_to_remove(hold)
        place = _place(obj, hold, h, covered)
        if place is None:
            problems.append(f"holds {value} in quarantine from an on-prem object no audited source covers")
            continue
        target_obj, directory, target = place
        slot = chosen.setdefault((directory, target.value), (target_obj, directory, target, []))
        if value not in slot[3]:
            slot[3].append(value)
    if problems:
        return [], "; ".join(problems)
    actions = []
    for target_obj, directory, target, values in chosen.values():
        dn = target_obj.get("distinguishedName") if directory == "ad" else None
        actions.append(
            Action(
                "update",
                target_obj.kind,
                directory,
                target,
                h.identity.name,
                remove=(("proxyAddresses", tuple(values)),),
                dn=str(dn) if dn else None,
            )
        )
    return actions, None


def _place(
    obj: DirectoryObject, hold: Hold, h: Holder, covered: Collection[str]
) -> tuple[DirectoryObject, str, Target] | None:
    """Which object to edit, in which directory, to take one hold away (None: none can)."""
    if obj.directory == "ad":
        return obj, "ad", Target("objectGUID", obj.id)
    ad = _ad_object(h)
    if hold.via == "quarantine":
        # The value is asked for by the on-prem object: that is where it must go.
        if ad is not None:
            return ad, "ad", Target("objectGUID", ad.id)
        return _anchor_guid(obj, covered)
    if ad is None and obj.get("onPremisesImmutableId"):
        # A synced object's addresses come from AD; no source covers AD, so name it by its anchor.
        found = _anchor_guid(obj, covered)
        if found is not None:
            return found
    # Cloud-only, or an address only the Entra side has (Exchange Online adds some itself).
    return obj, "entra", Target("id", obj.id)


def _anchor_guid(
    obj: DirectoryObject, covered: Collection[str]
) -> tuple[DirectoryObject, str, Target] | None:
    """The AD object a synced Entra object comes from, by the GUID its anchor encodes, when no
    source covers AD (with an AD source, a twin it does not return is not known to exist)."""
    anchor = obj.get("onPremisesImmutableId")
    guid = immutable_id_to_guid(str(anchor)) if anchor else None
    if guid and "ad" not in covered:
        return obj, "ad", Target("objectGUID", guid)
    return None


def all_actions(resolutions: Iterable[Resolution]) -> list[Action]:
    """Every suggested change once, in `Action.phase` order (a restore must not re-claim a value
    before its other holder has let go of it); updates of one object are merged into one."""
    merged: dict[tuple[str, str, str, str], Action] = {}
    for resolution in resolutions:
        for action in resolution.actions:
            slot = (action.op, action.directory, action.target.attribute, action.target.value.lower())
            old = merged.get(slot)
            if old is None:
                merged[slot] = action
            elif action.op == "update":
                values = list(dict.fromkeys(v for _, vs in (*old.remove, *action.remove) for v in vs))
                merged[slot] = replace(old, remove=(("proxyAddresses", tuple(values)),))
            elif action.phase < old.phase:
                merged[slot] = action
    return sorted(merged.values(), key=lambda a: (a.phase, a.directory, a.name, a.target.value))
