"""Which claim keys two or more identities hold today, and which values Entra quarantined.

Pure: directory objects in, conflicts out. The audit must call "duplicate" exactly what the check
calls one, so nothing here re-decides what a key is or who is one identity: keys come from
`addresses.claims_of`, identities from `index.link_twins`, holders from `index.ClaimIndex`, the
same three the check's simulation uses. What this module adds is the check's rule order applied
to a key nobody is changing (docs/semantics.md "The audit"):

- a key held by two or more *active* identities is the rule the check would give a change adding
  it: DUP001 (UPN), DUP002 (proxy address, mail, targetAddress), DUP010 / DUP013 (mailNickname of
  two mail-enabled groups / two users), DUP014 (sAMAccountName), DUP008 (anchor or SID of two
  Entra objects);
- a UPN that another identity holds only as an `smtp:` address is DUP003 (docs/semantics.md #1:
  where the same identities also collide directly, the direct rule says it already);
- any soft-deleted holder of an address next to another holder is DUP004 (#4, #7);
- an on-prem object not yet in Entra ID and a cloud-only object of the same kind that share the
  AD object's UPN or primary SMTP address are DUP011: sync will join them, not reject one, so
  their other shared keys are no duplicates (policy `sync.softMatch: false` turns this off);
- every quarantined value (`onPremisesProvisioningErrors`) is DUP012, with the object it belongs
  to and whoever else holds the value.

Departure, on purpose: `link_twins` joins every Entra object carrying an AD object's anchor into
that AD object's identity, so two Entra objects with one anchor can end up as one identity. Two
Entra objects never legitimately share an anchor or SID, so DUP008 counts Entra *objects*, not
identities (the check's intent: "an anchor already used by another Entra object").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from ..addresses import (
    ALIAS,
    ANCHOR,
    PROXY,
    SID,
    UPN,
    cross_key,
    namespace,
    proxy_key,
    smtp_key,
    upn_key,
)
from ..engine import primary_keys  # the keys soft match compares, as the check has them
from ..index import ClaimIndex, Holding, IdentityView, link_twins
from ..model import DirectoryObject, HolderView, ObjectRef, Quarantined
from ..projection import SyncRules
from ..rules.duplicates import (  # the check's rule codes: one table
    PROXY_CODE,
    QUARANTINED_CODE,
    SOFT_DELETED_CODE,
    SOFT_MATCH_CODE,
    UPN_CODE,
    UPN_PROXY_CODE,
    code_for,
)

SMTP_PREFIX = f"{PROXY}:smtp:"

ADDRESS_NAMESPACES = (UPN, PROXY)  # where a soft-deleted holder is DUP004
LINK_NAMESPACES = (ANCHOR, SID)


@dataclass(frozen=True, slots=True)
class Hold:
    """One object's hold on a key: the attribute, the value as that object has it, and how."""

    ref: ObjectRef
    attribute: str
    value: str
    via: str  # "attribute" | "quarantine"


@dataclass(frozen=True, slots=True)
class Holder:
    """One identity holding a key (an AD object and its Entra twin together), with each hold."""

    identity: IdentityView
    holds: tuple[Hold, ...]

    @property
    def via(self) -> str:
        """As the check reports it (`index.Holding.via`): attribute wins over quarantine."""
        return "attribute" if any(h.via == "attribute" for h in self.holds) else "quarantine"

    @property
    def quarantined(self) -> bool:
        """Entra holds it back from this identity: Entra ID has already decided it loses."""
        return any(h.via == "quarantine" for h in self.holds)

    @property
    def refs(self) -> tuple[ObjectRef, ...]:
        return self.identity.refs

    @property
    def active(self) -> bool:
        return self.identity.state == "active"

    def view(self) -> HolderView:
        first = self.holds[0]
        return HolderView(
            objects=self.identity.refs,
            kind=self.identity.kind,
            state=self.identity.state,
            attribute=first.attribute,
            via=self.via,
            name=self.identity.name,
        )


@dataclass(frozen=True, slots=True)
class Conflict:
    """A key in conflict today, the rule the check gives it, and every holder.

    `quarantine` is set for DUP012 only: the quarantined value and the object it is held back from
    (the first holder is that object's identity; the others are who holds the value).
    """

    code: str
    key: str
    holders: tuple[Holder, ...]
    quarantine: Hold | None = None

    @property
    def holder_ids(self) -> tuple[str, ...]:
        """Every holder object, `directory:id`, sorted: what the audit fingerprint is made of."""
        return tuple(sorted({f"{r.directory}:{r.id}" for h in self.holders for r in h.refs}))

    @property
    def first_hold(self) -> Hold:
        return self.quarantine or self.holders[0].holds[0]


def find_conflicts(
    objects: Iterable[DirectoryObject],
    keys: Collection[str] | None = None,
    *,
    covered: Collection[str] = ("entra", "ad"),
    soft_match: bool = True,
    sync: SyncRules | None = None,
) -> list[Conflict]:
    """Every conflict among `objects`, looking only at `keys` when given (the rest is known clean).

    `objects` must hold every object that holds one of `keys` and their twins: `collect.py`
    guarantees that for a streamed scan. `covered` is the directories the sources cover: an
    object counts as "not yet synced" only when Entra ID was read, so soft match needs both.
    """
    by_ref: dict[ObjectRef, DirectoryObject] = {}
    for obj in objects:
        by_ref.setdefault(obj.ref, obj)
    index = ClaimIndex(by_ref, link_twins(by_ref.values(), sync), sync)
    wanted = set(index.keys()) if keys is None else set(keys)
    buckets = sorted({_bucket(k) for k in wanted})
    found: list[Conflict] = []
    for bucket in buckets:
        found.extend(_bucket_conflicts(index, bucket))
    found.extend(_quarantined(index, by_ref))
    if soft_match and {"entra", "ad"} <= set(covered):
        found = _soft_matches(found)
    return sorted(found, key=lambda c: (c.key, c.code, c.holder_ids))


def _bucket(key: str) -> str:
    """UPN `x` and the address `smtp:x` collide (DUP003), so they are judged together."""
    if key.startswith(UPN + ":"):
        return SMTP_PREFIX + key[len(UPN) + 1 :]
    return key


def _holders(index: ClaimIndex, key: str) -> dict[int, Holder]:
    out: dict[int, Holder] = {}
    for ident, holding in index.holders(key).items():
        view = index.identity(ident)
        if view is not None:
            out[ident] = Holder(view, _holds(holding))
    return out


def _holds(holding: Holding) -> tuple[Hold, ...]:
    return tuple(Hold(ref, c.attribute, c.value, c.via) for ref, c in holding.claims)


def _merge(*parts: Mapping[int, Holder]) -> list[Holder]:
    """Holders of several keys, one per identity, holds together, in identity order."""
    merged: dict[int, Holder] = {}
    for part in parts:
        for ident, holder in part.items():
            old = merged.get(ident)
            merged[ident] = holder if old is None else Holder(old.identity, old.holds + holder.holds)
    return [merged[i] for i in sorted(merged)]


def _bucket_conflicts(index: ClaimIndex, bucket: str) -> list[Conflict]:
    ns = namespace(bucket)
    if bucket.startswith(SMTP_PREFIX):
        return _address_conflicts(index, bucket)
    holders = _holders(index, bucket)
    active = [h for _, h in sorted(holders.items()) if h.active]
    out: list[Conflict] = []
    if ns in LINK_NAMESPACES:
        entra = _per_entra_object(active)
        code = code_for(ns, "")
        return [Conflict(code, bucket, tuple(entra))] if code and len(entra) >= 2 else []
    if len(holders) < 2:
        return []
    if ns == ALIAS:
        for kind in sorted({h.identity.kind for h in active}, key=("user", "group", "contact").index):
            same_kind = [h for h in active if h.identity.kind == kind]
            code = code_for(ns, kind)
            if code is not None and len(same_kind) >= 2:
                out.append(Conflict(code, bucket, tuple(same_kind)))
    elif (code := code_for(ns, "")) is not None and len(active) >= 2:
        out.append(Conflict(code, bucket, tuple(active)))
    if ns in ADDRESS_NAMESPACES:
        out.extend(_soft_deleted(bucket, list(holders.values())))
    return out


def _address_conflicts(index: ClaimIndex, smtp: str) -> list[Conflict]:
    """An `smtp:` address and the UPN spelled the same: DUP001, DUP002, DUP003 and DUP004."""
    upn = cross_key(smtp) or ""
    by_upn, by_smtp = _holders(index, upn), _holders(index, smtp)
    out: list[Conflict] = []
    upn_active = {i: h for i, h in by_upn.items() if h.active}
    smtp_active = {i: h for i, h in by_smtp.items() if h.active}
    if len(upn_active) >= 2:
        out.append(Conflict(UPN_CODE, upn, tuple(upn_active[i] for i in sorted(upn_active))))
    if len(smtp_active) >= 2:
        out.append(Conflict(PROXY_CODE, smtp, tuple(smtp_active[i] for i in sorted(smtp_active))))
    only_upn = {i: h for i, h in upn_active.items() if i not in smtp_active}
    only_smtp = {i: h for i, h in smtp_active.items() if i not in upn_active}
    if only_upn and only_smtp:
        out.append(Conflict(UPN_PROXY_CODE, upn, tuple(_merge(only_upn, only_smtp))))
    everyone = _merge(by_upn, by_smtp)
    soft_key = smtp if any(not h.active for h in by_smtp.values()) or not by_upn else upn
    out.extend(_soft_deleted(soft_key, everyone))
    return out


def _soft_deleted(key: str, holders: list[Holder]) -> list[Conflict]:
    """DUP004: an address that a soft-deleted identity still holds next to another holder."""
    if len(holders) >= 2 and any(not h.active for h in holders):
        return [Conflict(SOFT_DELETED_CODE, key, tuple(holders))]
    return []


def _per_entra_object(holders: Iterable[Holder]) -> list[Holder]:
    """Anchor and SID holders by Entra object: two Entra objects with one anchor are two holders
    even where `link_twins` put both into their AD object's identity (see the module docstring)."""
    out: list[Holder] = []
    for holder in holders:
        entra = sorted({h.ref for h in holder.holds if h.ref.directory == "entra"})
        if len(entra) <= 1:
            out.append(holder)
            continue
        for ref in entra:
            obj = next(o for o in holder.identity.objects if o.ref == ref)
            out.append(
                Holder(
                    IdentityView(holder.identity.key, (obj,)), tuple(h for h in holder.holds if h.ref == ref)
                )
            )
    return out


def quarantine_key(q: Quarantined) -> str:
    """The key a quarantined value is held under, exactly as `addresses.claims_of` reads it."""
    if q.property.lower() == "userprincipalname":
        return upn_key(q.value)
    return proxy_key(q.value) or smtp_key(q.value)


def _quarantined(index: ClaimIndex, objects: Mapping[ObjectRef, DirectoryObject]) -> list[Conflict]:
    """DUP012: each quarantined value, its object first, then whoever else holds the value."""
    out: list[Conflict] = []
    for ref in sorted(r for r, o in objects.items() if o.quarantined):
        obj = objects[ref]
        owner = index.identity_of[ref]
        for q in obj.quarantined:
            key = quarantine_key(q)
            hold = Hold(ref, "userPrincipalName" if key.startswith(UPN + ":") else "proxyAddresses", q.value,
                        "quarantine")  # fmt: skip
            cross = cross_key(key)
            holders = _merge(_holders(index, key), _holders(index, cross) if cross else {})
            mine = next((h for h in holders if h.identity.key == owner), None)
            if mine is None:  # cannot happen: claims_of yields every quarantined value
                continue
            others = tuple(h for h in holders if h.identity.key != owner)
            out.append(Conflict(QUARANTINED_CODE, key, (mine, *others), quarantine=hold))
    return out


def _soft_matches(conflicts: list[Conflict]) -> list[Conflict]:
    """DUP011 for an on-prem-only and a cloud-only identity sharing the AD object's UPN or primary
    SMTP address; their other shared UPN / address conflicts are dropped, as in the check."""
    pairs: set[frozenset[int]] = set()
    out: list[Conflict] = []
    for c in sorted(conflicts, key=lambda c: c.key):  # one DUP011 per pair, on its first key
        pair = _soft_match_pair(c)
        if pair is not None and c.key in _ad_primary_keys(pair[0]):
            both = frozenset(h.identity.key for h in c.holders)
            if both not in pairs:
                pairs.add(both)
                out.append(Conflict(SOFT_MATCH_CODE, c.key, c.holders))
        else:
            out.append(c)
    return [
        c
        for c in out
        if not (
            c.code in (UPN_CODE, PROXY_CODE, UPN_PROXY_CODE) and frozenset(h.identity.key for h in c.holders) in pairs
        )
    ]


def _soft_match_pair(c: Conflict) -> tuple[Holder, Holder] | None:
    if c.code not in (UPN_CODE, PROXY_CODE, UPN_PROXY_CODE) or len(c.holders) != 2:
        return None
    a, b = c.holders
    if a.identity.kind != b.identity.kind:
        return None
    for ad, cloud in ((a, b), (b, a)):
        if ad.identity.ad_only and cloud.identity.cloud_only:
            return ad, cloud
    return None


def _ad_primary_keys(ad: Holder) -> set[str]:
    """The on-prem object's UPN and primary SMTP address, in both spellings (UPN and smtp:)."""
    keys: set[str] = set()
    for obj in ad.identity.objects:
        for key in primary_keys(obj):
            keys.add(key)
            cross = cross_key(key)
            if cross:
                keys.add(cross)
    return keys


__all__ = ["Conflict", "Hold", "Holder", "find_conflicts", "quarantine_key"]
