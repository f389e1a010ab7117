"""Identities and who claims what: a pure index over a set of directory objects.

An AD object and the Entra object it syncs to are one identity (docs/semantics.md "One identity across directories"), so the index groups
objects first and answers "who holds key k" in identities, never in raw objects: a synced user is
never a duplicate of itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from .addresses import Claim, anchor_key, claims_of, guid_to_immutable_id, link_keys_of, original_upn
from .model import DIRECTORY_NAMES, DirectoryObject, ObjectRef
from .projection import SyncRules, source_anchor


class IdentityView(NamedTuple):
    """One identity at one moment: its objects and a name people recognise."""

    key: int
    objects: tuple[DirectoryObject, ...]

    @property
    def refs(self) -> tuple[ObjectRef, ...]:
        return tuple(sorted(o.ref for o in self.objects))

    @property
    def kind(self) -> str:
        return self.objects[0].kind

    @property
    def state(self) -> str:
        return "active" if any(o.state == "active" for o in self.objects) else "soft-deleted"

    @property
    def directories(self) -> tuple[str, ...]:
        return tuple(sorted({o.directory for o in self.objects}, key=("entra", "ad").index))

    @property
    def name(self) -> str:
        # The Entra object's name first: that is what admins search for in the portal.
        ordered = sorted(self.objects, key=lambda o: (o.directory != "entra", o.id))
        first = ordered[0]
        if first.state == "soft-deleted" and first.kind == "user":
            return original_upn(first) or first.display  # Entra prefixes a deleted user's UPN with its id
        return first.display

    @property
    def where(self) -> str:
        return " and ".join(DIRECTORY_NAMES.get(d, d) for d in self.directories)

    @property
    def cloud_only(self) -> bool:
        """An Entra object with no on-prem anchor: what soft match can take over (docs/semantics.md "Soft match")."""
        return all(
            o.directory == "entra"
            and not o.get("onPremisesImmutableId")
            and not o.get("onPremisesSecurityIdentifier")
            for o in self.objects
        )

    @property
    def ad_only(self) -> bool:
        return all(o.directory == "ad" for o in self.objects)


def link_twins(objects: Iterable[DirectoryObject], sync: SyncRules | None = None) -> dict[ObjectRef, int]:
    """Group objects into identities: each Entra object joins the one AD object it is synced from.

    An Entra object is linked to the AD object whose source anchor is its `onPremisesImmutableId`,
    else to one sharing another link key (a GUID, the SID). Only AD-to-Entra links join
    identities, and an Entra object joins one AD object at most: two AD objects with one anchor
    (a planned `mS-DS-ConsistencyGuid` taking another's) and two Entra objects with one anchor
    are DUP008 duplicates, so neither may be merged away here.
    """
    objs = sorted(objects, key=lambda o: o.ref)
    parent: dict[ObjectRef, ObjectRef] = {o.ref: o.ref for o in objs}

    def find(ref: ObjectRef) -> ObjectRef:
        while parent[ref] != ref:
            parent[ref] = parent[parent[ref]]
            ref = parent[ref]
        return ref

    ad_by_link: dict[str, list[ObjectRef]] = defaultdict(list)
    ad_by_anchor: dict[str, list[ObjectRef]] = defaultdict(list)
    pinned = sync.source_anchor if sync is not None else None
    for o in objs:
        if o.directory == "ad":
            for k in link_keys_of(o):
                ad_by_link[k].append(o.ref)
            anchor = source_anchor(o, pinned)
            if anchor:
                ad_by_anchor[anchor_key(anchor)].append(o.ref)
    natural = {
        o.ref
        for o in objs
        if o.directory == "ad" and (g := guid_to_immutable_id(str(o.get("objectGUID") or ""))) and g == source_anchor(o, pinned)
    }
    for refs in ad_by_anchor.values():
        # The object the anchor was made from (its own objectGUID) before one that copied it into
        # its mS-DS-ConsistencyGuid: the copy is the takeover, and the DUP008 it gets says so.
        refs.sort(key=lambda r: (r not in natural, r))
    for o in objs:
        if o.directory != "entra":
            continue
        links = sorted(link_keys_of(o))
        chosen = next((ad_by_anchor[k][0] for k in links if ad_by_anchor.get(k)), None)
        if chosen is None:
            chosen = next((ad_by_link[k][0] for k in links if ad_by_link.get(k)), None)
        if chosen is not None:
            a, b = find(o.ref), find(chosen)
            if a != b:
                parent[max(a, b)] = min(a, b)
    roots = sorted({find(r) for r in parent})
    number = {root: i for i, root in enumerate(roots)}
    return {ref: number[find(ref)] for ref in parent}


class Holding(NamedTuple):
    """An identity's hold on one key: the claims (one per object and attribute) behind it."""

    identity: int
    claims: tuple[tuple[ObjectRef, Claim], ...]

    @property
    def first(self) -> Claim:
        return self.claims[0][1]

    @property
    def via(self) -> str:
        return "attribute" if any(c.via == "attribute" for _, c in self.claims) else "quarantine"


class ClaimIndex:
    """key -> identities holding it, over a fixed set of objects grouped into identities."""

    def __init__(
        self,
        objects: Mapping[ObjectRef, DirectoryObject],
        identity_of: Mapping[ObjectRef, int],
        sync: SyncRules | None = None,
        claims: Callable[[DirectoryObject], Iterable[Claim]] | None = None,
    ):
        self.objects = objects
        self.identity_of = identity_of
        members: dict[int, list[DirectoryObject]] = defaultdict(list)
        held: dict[str, dict[int, list[tuple[ObjectRef, Claim]]]] = defaultdict(lambda: defaultdict(list))
        for ref in sorted(objects):
            obj = objects[ref]
            ident = identity_of[ref]
            members[ident].append(obj)
            for claim in claims(obj) if claims is not None else claims_of(obj, sync):
                held[claim.key][ident].append((ref, claim))
        self._members = {k: tuple(v) for k, v in members.items()}
        self._held = {
            key: {ident: Holding(ident, tuple(cs)) for ident, cs in sorted(by_ident.items())}
            for key, by_ident in held.items()
        }

    def identity(self, ident: int) -> IdentityView | None:
        objs = self._members.get(ident)
        return IdentityView(ident, objs) if objs else None

    def identities(self) -> list[int]:
        return sorted(self._members)

    def holders(self, key: str) -> Mapping[int, Holding]:
        return self._held.get(key, {})

    def keys(self) -> Iterable[str]:
        return self._held.keys()
