"""The tenant a fake Graph serves: Graph-shaped JSON records, indexes, and query evaluation.

Built from the same `DirectoryObject`s a snapshot holds, so a test can put one set of objects both
into a snapshot file and behind this server and expect the same findings from either. Records are
shaped like Graph's: every property present (null when unset), users' `proxyAddresses` outside the
default property set (returned only when `$select`ed), deleted items typed with `@odata.type`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dupfix_policy.model import DirectoryObject, Tenant

from .odata import And, AnyEq, Compare, FilterError, Func, Or, leaves

USER_PROPERTIES = (
    "id", "accountEnabled", "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mailNickname",
    "mobilePhone", "officeLocation", "onPremisesDomainName", "onPremisesImmutableId",
    "onPremisesProvisioningErrors", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled", "otherMails", "preferredLanguage", "proxyAddresses", "surname",
    "userPrincipalName", "userType",
)  # fmt: skip
# What GET /users returns without $select (Graph's documented default set).
USER_DEFAULT = (
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
    "preferredLanguage", "surname", "userPrincipalName", "id",
)  # fmt: skip
GROUP_PROPERTIES = (
    "id", "description", "displayName", "groupTypes", "mail", "mailEnabled", "mailNickname",
    "onPremisesProvisioningErrors", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled", "proxyAddresses", "securityEnabled",
)  # fmt: skip
CONTACT_PROPERTIES = (
    "id", "displayName", "givenName", "mail", "mailNickname", "onPremisesProvisioningErrors",
    "onPremisesSyncEnabled", "proxyAddresses", "surname",
)  # fmt: skip

_LIST = {"businessPhones", "otherMails", "proxyAddresses", "groupTypes", "onPremisesProvisioningErrors"}
# Properties with an equality index (everything else is evaluated by scanning).
_INDEXED = ("id", "userPrincipalName", "mail", "mailNickname", "onPremisesSecurityIdentifier",
            "onPremisesImmutableId", "proxyAddresses")  # fmt: skip


@dataclass(frozen=True)
class Rules:
    """What one collection lets a $filter do (Graph's "Default" vs "Advanced" support)."""

    type_name: str
    properties: tuple[str, ...]
    default_select: tuple[str, ...] | None  # None: all properties
    eq: frozenset[str]
    eq_advanced: frozenset[str]
    range_: frozenset[str]  # ge / le
    startswith: frozenset[str]
    endswith_advanced: frozenset[str]
    any_eq: frozenset[str]  # lambda eq on a collection property
    permission: str


_ERRORS_ANY = frozenset({"proxyAddresses", "onPremisesProvisioningErrors"})
USER_RULES = Rules(
    "microsoft.graph.user", USER_PROPERTIES, USER_DEFAULT,
    eq=frozenset({"id", "userPrincipalName", "mail", "mailNickname", "onPremisesSecurityIdentifier",
                  "displayName", "userType", "accountEnabled"}),
    eq_advanced=frozenset({"onPremisesImmutableId", "onPremisesSamAccountName"}),
    range_=frozenset({"mail", "mailNickname"}),
    startswith=frozenset({"userPrincipalName", "mail", "mailNickname", "displayName"}),
    endswith_advanced=frozenset({"userPrincipalName", "mail"}),
    any_eq=_ERRORS_ANY | {"otherMails"},
    permission="User.Read.All",
)  # fmt: skip
GROUP_RULES = Rules(
    "microsoft.graph.group", GROUP_PROPERTIES, None,
    eq=frozenset({"id", "mail", "mailNickname", "onPremisesSecurityIdentifier", "displayName", "mailEnabled",
                  "securityEnabled"}),
    eq_advanced=frozenset({"onPremisesSamAccountName"}),
    range_=frozenset({"mail", "mailNickname"}),
    startswith=frozenset({"mail", "mailNickname", "displayName"}),
    endswith_advanced=frozenset({"mail"}),
    any_eq=_ERRORS_ANY | {"groupTypes"},
    permission="Group.Read.All",
)  # fmt: skip
CONTACT_RULES = Rules(
    "microsoft.graph.orgContact", CONTACT_PROPERTIES, None,
    eq=frozenset({"id", "mail", "mailNickname", "displayName"}),
    eq_advanced=frozenset(),
    range_=frozenset({"mail", "mailNickname"}),
    startswith=frozenset({"mail", "mailNickname", "displayName"}),
    endswith_advanced=frozenset({"mail"}),
    any_eq=_ERRORS_ANY,
    permission="OrgContact.Read.All",
)  # fmt: skip


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


@dataclass
class Collection:
    name: str
    rules: Rules
    deleted: bool
    records: list[dict[str, Any]] = field(default_factory=list)
    index: dict[str, dict[Any, list[int]]] = field(default_factory=dict)
    _json: dict[tuple[str, ...] | None, list[bytes | None]] = field(default_factory=dict)

    def add(self, record: dict[str, Any]) -> None:
        pos = len(self.records)
        self.records.append(record)
        for prop in _INDEXED:
            value = record.get(prop)
            values = value if isinstance(value, list) else [value]
            for v in values:
                if v is not None:
                    self.index.setdefault(prop, {}).setdefault(_fold(v), []).append(pos)

    def replace_all(self, records: list[dict[str, Any]]) -> None:
        """Swap in a new list of records (after changes), rebuilding the indexes once."""
        self.records, self.index, self._json = [], {}, {}
        for record in records:
            self.add(record)

    def selectable(self) -> tuple[str, ...]:
        """What `$select` may name here: deleted items also have `deletedDateTime`."""
        return (*self.rules.properties, "deletedDateTime") if self.deleted else self.rules.properties

    def ordered_by_deletion(self, positions: list[int], descending: bool) -> list[int]:
        """`$orderby=deletedDateTime [asc|desc]` (ties by id, so pages never overlap)."""
        records = self.records
        return sorted(positions, key=lambda p: (records[p].get("deletedDateTime") or "", records[p]["id"]),
                      reverse=descending)  # fmt: skip

    def projected(self, pos: int, select: tuple[str, ...] | None) -> bytes:
        """One record as JSON bytes with only the selected properties (cached per selection)."""
        cache = self._json.get(select)
        if cache is None:
            cache = self._json[select] = [None] * len(self.records)
        if len(cache) < len(self.records):
            cache.extend([None] * (len(self.records) - len(cache)))
        out = cache[pos]
        if out is None:
            record = self.records[pos]
            names = select or self.rules.default_select or self.rules.properties
            view: dict[str, Any] = {}
            if self.deleted:
                view["@odata.type"] = "#" + self.rules.type_name
            for name in names:
                view[name] = record.get(name)
            if "id" not in view:
                view["id"] = record["id"]
            out = json.dumps(view, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            cache[pos] = out
        return out

    # -- filters -----------------------------------------------------------------------------------

    def check(self, node: object, advanced: bool) -> None:
        """400 for what Graph would refuse on this collection (unknown property, advanced-only...)."""
        for leaf in leaves(node):
            r = self.rules
            if isinstance(leaf, Compare):
                if leaf.op == "eq" and leaf.prop in r.eq:
                    continue
                if leaf.op == "eq" and leaf.prop in r.eq_advanced:
                    if not advanced:
                        raise _unsupported(leaf.prop, r)
                    continue
                if leaf.op in ("ge", "le") and leaf.prop in r.range_:
                    continue
                raise _unsupported(leaf.prop, r)
            elif isinstance(leaf, Func):
                if leaf.name == "startswith" and leaf.prop in r.startswith:
                    continue
                if leaf.name == "endswith" and leaf.prop in r.endswith_advanced and advanced:
                    continue
                raise _unsupported(leaf.prop, r)
            elif isinstance(leaf, AnyEq):
                if leaf.prop not in r.any_eq:
                    raise _unsupported(leaf.prop, r)
                if leaf.prop == "onPremisesProvisioningErrors" and leaf.sub not in (
                    "category",
                    "propertyCausingError",
                ):
                    raise _unsupported(f"{leaf.prop}/{leaf.sub}", r)
                if leaf.prop != "onPremisesProvisioningErrors" and leaf.sub is not None:
                    raise _unsupported(f"{leaf.prop}/{leaf.sub}", r)

    def evaluate(self, node: object) -> set[int]:
        if isinstance(node, Or):
            out: set[int] = set()
            for c in node.children:
                out |= self.evaluate(c)
            return out
        if isinstance(node, And):
            sets = [self.evaluate(c) for c in node.children]
            return set.intersection(*sets)
        if (
            isinstance(node, Compare)
            and node.op == "eq"
            and node.prop in self.index
            and node.value is not None
        ):
            return set(self.index[node.prop].get(_fold(node.value), ()))
        if isinstance(node, AnyEq) and node.prop == "proxyAddresses":
            return set(self.index.get("proxyAddresses", {}).get(_fold(node.value), ()))
        return {i for i, r in enumerate(self.records) if _matches(node, r)}


def _unsupported(prop: str, rules: Rules) -> FilterError:
    kind = rules.type_name.rsplit(".", 1)[-1]
    return FilterError(
        f"Unsupported or invalid query filter clause specified for property '{prop}' of resource "
        f"'{kind[0].upper() + kind[1:]}'.",
        "Request_UnsupportedQuery",
    )


def _matches(node: object, record: dict[str, Any]) -> bool:
    if isinstance(node, Compare):
        have = record.get(node.prop)
        if node.value is None or have is None:
            return node.op == "eq" and node.value is None and have is None
        a, b = _fold(have), _fold(node.value)
        return a == b if node.op == "eq" else (a >= b if node.op == "ge" else a <= b)
    if isinstance(node, Func):
        have = record.get(node.prop)
        if not isinstance(have, str):
            return False
        have, want = have.lower(), node.value.lower()
        return have.startswith(want) if node.name == "startswith" else have.endswith(want)
    if isinstance(node, AnyEq):
        items = record.get(node.prop) or []
        for item in items:
            value = item.get(node.sub) if node.sub and isinstance(item, dict) else item
            if _fold(value) == _fold(node.value):
                return True
        return False
    raise AssertionError(node)


class Directory:
    """Users, groups, contacts and the recycle bin of one tenant, plus its organization."""

    def __init__(self, tenant: Tenant, tenant_id: str = "8c3e0f6a-0000-4000-8000-0000000000aa"):
        self.tenant = tenant
        self.tenant_id = tenant_id
        self.collections = {
            "users": Collection("users", USER_RULES, False),
            "groups": Collection("groups", GROUP_RULES, False),
            "contacts": Collection("contacts", CONTACT_RULES, False),
            "deletedUsers": Collection("deletedUsers", USER_RULES, True),
            "deletedGroups": Collection("deletedGroups", GROUP_RULES, True),
        }
        # When a deletion happens (`deletedDateTime`): the wall clock unless a test sets its own.
        self.clock: Callable[[], str] = lambda: (
            dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        )
        # For the delta endpoints: every change after construction, as (version, collection, id,
        # record or None, removal reason). Delta tokens older than `delta_floor` get 410 Gone.
        self.version = 0
        self.log: list[tuple[int, str, str, dict[str, Any] | None, str]] = []
        self.delta_floor = 0

    @classmethod
    def of(cls, objects: Iterable[DirectoryObject], tenant: Tenant) -> Directory:
        d = cls(tenant)
        d.add(objects)
        return d

    def add(self, objects: Iterable[DirectoryObject]) -> None:
        for obj in objects:
            if obj.directory != "entra":
                continue
            name = {"user": "users", "group": "groups", "contact": "contacts"}[obj.kind]
            if obj.state == "soft-deleted":
                if obj.kind == "contact":
                    raise ValueError("Entra has no recycle bin for org contacts")
                name = "deleted" + name[0].upper() + name[1:]
            self.collections[name].add(graph_record(obj))

    def change(self, upserts: Iterable[DirectoryObject] = (), deletes: Iterable[tuple[str, str]] = (),
               purges: Iterable[tuple[str, str]] = ()) -> None:  # fmt: skip
        """Apply changes as Entra would, logged for `/delta`: `upserts` create or replace objects
        (a soft-deleted one moves to the recycle bin), `deletes` soft-delete (kind, id) users and
        groups (contacts: gone), `purges` delete (kind, id) for good, recycle bin included."""
        names = {"user": "users", "group": "groups", "contact": "contacts"}
        by_id = {n: {r["id"]: r for r in c.records} for n, c in self.collections.items()}

        def log(name: str, oid: str, record: dict[str, Any] | None, reason: str = "") -> None:
            self.version += 1
            self.log.append((self.version, name, oid, record, reason))

        def drop(name: str, oid: str, reason: str) -> None:
            if by_id[name].pop(oid, None) is not None and not self.collections[name].deleted:
                log(name, oid, None, reason)

        for obj in upserts:
            if obj.directory != "entra":
                continue
            live = names[obj.kind]
            bin_name = "deleted" + live[0].upper() + live[1:]
            record = graph_record(obj)
            if obj.state == "soft-deleted":
                drop(live, obj.id, "changed")
                by_id[bin_name][obj.id] = dict(record, deletedDateTime=self.clock())
            else:
                if bin_name in by_id:
                    by_id[bin_name].pop(obj.id, None)
                by_id[live][obj.id] = record
                log(live, obj.id, record)
        for kind, oid in deletes:
            live = names[kind]
            record = by_id[live].get(oid)
            drop(live, oid, "changed" if kind != "contact" else "deleted")
            if record is not None and kind != "contact":
                by_id["deleted" + live[0].upper() + live[1:]][oid] = dict(record, deletedDateTime=self.clock())
        for kind, oid in purges:
            live = names[kind]
            drop(live, oid, "deleted")
            by_id.get("deleted" + live[0].upper() + live[1:], {}).pop(oid, None)
        for name, collection in self.collections.items():
            if len(by_id[name]) != len(collection.records) or any(
                by_id[name].get(r["id"]) is not r for r in collection.records
            ):
                collection.replace_all(list(by_id[name].values()))

    def touch(self, fraction: float) -> int:
        """Give every n-th user, group and contact one more proxy address (the delta benchmark's
        "1% of objects changed"); how many changed. Deterministic: the same objects every time."""
        step = max(1, round(1 / fraction))
        changed = 0
        for name in ("users", "groups", "contacts"):
            collection = self.collections[name]
            records = list(collection.records)
            for pos in range(0, len(records), step):
                record = dict(records[pos])
                record["proxyAddresses"] = [*record.get("proxyAddresses", []), f"smtp:touched{self.version}@contoso.com"]
                records[pos] = record
                self.version += 1
                self.log.append((self.version, name, record["id"], record, ""))
                changed += 1
            collection.replace_all(records)
        return changed

    def delta(self, name: str, since: int, upto: int) -> list[tuple[str, dict[str, Any] | None, str]]:
        """What changed in one collection between two versions, latest change per object."""
        latest: dict[str, tuple[dict[str, Any] | None, str]] = {}
        for version, coll, oid, record, reason in self.log:
            if coll == name and since < version <= upto:
                latest[oid] = (record, reason)
        return [(oid, record, reason) for oid, (record, reason) in latest.items()]

    def organization(self) -> dict[str, Any]:
        names = list(self.tenant.verified_domains)
        if self.tenant.initial_domain and self.tenant.initial_domain not in names:
            names.append(self.tenant.initial_domain)
        domains = [
            {"name": n, "isInitial": n == self.tenant.initial_domain, "isDefault": i == 0, "type": "Managed",
             "capabilities": "Email, OfficeCommunicationsOnline"}
            for i, n in enumerate(names)
        ]  # fmt: skip
        return {"id": self.tenant_id, "displayName": "Contoso", "verifiedDomains": domains}

    def count(self) -> int:
        return sum(len(c.records) for c in self.collections.values())


def graph_record(obj: DirectoryObject) -> dict[str, Any]:
    """A `DirectoryObject` as Graph would return it with every property selected."""
    props = {"user": USER_PROPERTIES, "group": GROUP_PROPERTIES, "contact": CONTACT_PROPERTIES}[obj.kind]
    record: dict[str, Any] = {}
    for name in props:
        value = obj.attributes.get(name)
        if name in _LIST:
            record[name] = list(value) if value else []
        else:
            record[name] = value
    record["id"] = obj.id
    record["onPremisesProvisioningErrors"] = [
        {"category": "PropertyConflict", "occurredDateTime": "2026-11-01T10:00:00Z",
         "propertyCausingError": q.property, "value": q.value}
        for q in obj.quarantined
    ]  # fmt: skip
    if obj.kind == "user" and record.get("accountEnabled") is None:
        record["accountEnabled"] = True
    if obj.kind == "user" and not record.get("userType"):
        record["userType"] = (
            "Guest" if "#ext#" in str(record.get("userPrincipalName", "")).lower() else "Member"
        )
    if obj.state == "soft-deleted":  # spread over the 30 days Entra keeps deletions, the same for the same id
        seconds = int(obj.id.replace("-", "")[:8] or "0", 16) % (29 * 86400) if obj.id[:1].isalnum() else 0
        when = dt.datetime(2026, 11, 26, tzinfo=dt.timezone.utc) - dt.timedelta(seconds=seconds)
        record["deletedDateTime"] = when.isoformat().replace("+00:00", "Z")
    return record


def select_of(value: str | None, rules: Rules, allowed_names: Sequence[str] | None = None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    allowed = set(rules.properties if allowed_names is None else allowed_names)
    for n in names:
        if n not in allowed:
            raise FilterError(
                f"Could not find a property named '{n}' on type '{rules.type_name}'.", "BadRequest"
            )
    return names


def page_body(collection: Collection, positions: Sequence[int], select: tuple[str, ...] | None,
              context: str, next_link: str | None, count: int | None) -> bytes:  # fmt: skip
    head: dict[str, Any] = {"@odata.context": context}
    if count is not None:
        head["@odata.count"] = count
    if next_link:
        head["@odata.nextLink"] = next_link
    prefix = json.dumps(head, separators=(",", ":"))[:-1].encode()
    items = b",".join(collection.projected(p, select) for p in positions)
    return prefix + b',"value":[' + items + b"]}"
