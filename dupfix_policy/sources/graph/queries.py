"""What to ask Microsoft Graph for a set of claim keys, and how to read what it answers.

Pure functions, no I/O: the network layer (`graph.http`) sends what this module plans, so the
rules that decide *which* objects can hold a key are testable with literals.

Why the queries look the way they do (docs/semantics.md "Quarantined values", "What Graph charges for" and "The Graph source"):

- A key can be held by users, groups, org contacts and soft-deleted users and groups, each its
  own collection. One key therefore becomes several `$filter` clauses, one per collection and
  attribute that can hold it ("about a dozen" for an SMTP address: `mail` and `proxyAddresses`
  in five collections).
- Graph allows at most 15 `or`-joined clauses per `$filter` and 20 requests per `$batch`, so
  clauses are grouped by collection and packed 15 to a request; `graph.http` packs 20 requests
  to a round trip.
- `onPremisesImmutableId eq` and `endswith(...)` work only as *advanced queries*
  (`ConsistencyLevel: eventual` + `$count=true`), so such clauses travel in requests of their own.
- A soft-deleted user's UPN is rewritten by Entra as `<object id without dashes><UPN>`; only
  `endswith` finds it, and only a `restore`/`delete` target by UPN needs it (a deleted user holds no
  UPN), so that clause is asked for targets only.
- Graph has no `targetAddress`, no DN and no sAMAccountName: such keys produce no clause and are
  reported back as unsupported, so the report can say what was not checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ... import addresses
from ...model import DirectoryObject, Quarantined

MAX_CLAUSES = 15  # Graph: "Too many child clauses ... Max allowed: 15"
MAX_BATCH = 20  # Graph: at most 20 requests in one JSON $batch
MAX_TOP = 999

_USER_FIELDS = (
    "id", "userPrincipalName", "mail", "mailNickname", "proxyAddresses", "displayName", "userType",
    "onPremisesImmutableId", "onPremisesSecurityIdentifier", "onPremisesProvisioningErrors",
)  # fmt: skip
_GROUP_FIELDS = (
    "id", "displayName", "mail", "mailNickname", "mailEnabled", "securityEnabled", "groupTypes",
    "proxyAddresses", "onPremisesSecurityIdentifier", "onPremisesProvisioningErrors",
)  # fmt: skip
_CONTACT_FIELDS = (
    "id",
    "displayName",
    "mail",
    "mailNickname",
    "proxyAddresses",
    "onPremisesProvisioningErrors",
)


@dataclass(frozen=True)
class Collection:
    """One Graph collection the checker reads, and what it may need to say about it."""

    name: str  # stable internal name, also the order objects are read in
    label: str  # for people: "deleted users"
    path: str  # path below the endpoint, as the SDK sends it
    kind: str
    state: str
    select: tuple[str, ...]
    permission: str  # least-privileged application permission that reads it

    @property
    def attributes(self) -> frozenset[str]:
        """The selected properties that become `DirectoryObject` attributes."""
        return _ATTRIBUTES[self.select]  # type: ignore[index]  # select is one of the two tuples

    @property
    def odata_type(self) -> str:
        return {"user": "#microsoft.graph.user", "group": "#microsoft.graph.group"}.get(
            self.kind, "#microsoft.graph.orgContact"
        )


_ATTRIBUTES = {
    fields: frozenset(fields) - {"id", "onPremisesProvisioningErrors"}
    for fields in (_USER_FIELDS, _GROUP_FIELDS, _CONTACT_FIELDS)
}
USERS = Collection("users", "users", "/users", "user", "active", _USER_FIELDS, "User.Read.All")
GROUPS = Collection("groups", "groups", "/groups", "group", "active", _GROUP_FIELDS, "Group.Read.All")
CONTACTS = Collection(
    "contacts", "org contacts", "/contacts", "contact", "active", _CONTACT_FIELDS, "OrgContact.Read.All"
)
DELETED_USERS = Collection(
    "deletedUsers", "deleted users", "/directory/deletedItems/graph.user", "user", "soft-deleted",
    _USER_FIELDS, "User.Read.All",
)  # fmt: skip
DELETED_GROUPS = Collection(
    "deletedGroups", "deleted groups", "/directory/deletedItems/graph.group", "group", "soft-deleted",
    _GROUP_FIELDS, "Group.Read.All",
)  # fmt: skip
COLLECTIONS: tuple[Collection, ...] = (USERS, GROUPS, CONTACTS, DELETED_USERS, DELETED_GROUPS)
BY_NAME: dict[str, Collection] = {c.name: c for c in COLLECTIONS}
RECYCLE_BIN: tuple[Collection, ...] = (DELETED_USERS, DELETED_GROUPS)
# Collections whose objects can carry quarantined values (deleted items are not asked).
QUARANTINE_COLLECTIONS: tuple[Collection, ...] = (USERS, GROUPS, CONTACTS)
QUARANTINE_FILTER = "onPremisesProvisioningErrors/any(e:e/category eq 'PropertyConflict')"
# The recycle bin keeps deletions for 30 days, so it is usually small: read whole when it fits in
# this many pages, one request per page instead of four clauses for every key asked.
RECYCLE_BIN_PAGES = 3
ALL_PERMISSION = "Directory.Read.All"

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def permission_hint(collection: Collection | None) -> str:
    """The permission sentence every 401/403 message ends with."""
    if collection is None:
        return (
            f"grant the application permission {ALL_PERMISSION} (or User.Read.All, Group.Read.All and "
            "OrgContact.Read.All) with admin consent"
        )
    return (
        f"grant the application permission {collection.permission} (or {ALL_PERMISSION}) with admin consent"
    )


def odata_string(value: str) -> str:
    """An OData string literal: quoted, with every `'` doubled (`o'brien` -> `'o''brien'`)."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True, order=True)
class Clause:
    """One `$filter` clause on one collection. Advanced clauses need `ConsistencyLevel: eventual`."""

    collection: str
    text: str
    advanced: bool = False


@dataclass(frozen=True)
class Query:
    """One GET: up to 15 clauses on one collection, `or`-joined (none: the whole collection).

    `max_pages` bounds how far its nextLinks are followed (None: to the end).
    """

    collection: Collection
    clauses: tuple[str, ...]
    advanced: bool = False
    max_pages: int | None = None
    url: str | None = None  # sent as it is instead of one built from the clauses (recycle bin reads)

    @property
    def filter(self) -> str:
        return " or ".join(self.clauses)


@dataclass
class Plan:
    """What a set of keys turns into: the queries to send and the keys Graph cannot answer."""

    queries: list[Query] = field(default_factory=list)
    unsupported: dict[str, list[str]] = field(default_factory=dict)  # namespace -> keys

    @property
    def clause_count(self) -> int:
        return sum(len(q.clauses) for q in self.queries)


def clauses_for_key(key: str, *, target: bool = False) -> list[Clause] | None:
    """Every clause that finds a holder of `key`; None when Graph has no attribute for it.

    `target=True` adds what only resolving a change's target needs (a soft-deleted user by its
    original UPN).
    """
    ns, sep, value = key.partition(":")
    if not sep or not value:
        return None
    out: list[Clause] = []
    if ns == addresses.UPN:
        out.append(Clause(USERS.name, f"userPrincipalName eq {odata_string(value)}"))
        if target:
            out.append(Clause(DELETED_USERS.name, f"endswith(userPrincipalName,{odata_string(value)})", True))
    elif ns == addresses.PROXY:
        kind, sep, address = value.partition(":")
        if not sep or not address:
            return None
        for c in COLLECTIONS:
            out.append(Clause(c.name, f"proxyAddresses/any(x:x eq {odata_string(kind + ':' + address)})"))
            if kind == "smtp":
                out.append(Clause(c.name, f"mail eq {odata_string(address)}"))
    elif ns == addresses.ALIAS:
        for c in (USERS, GROUPS, DELETED_USERS, DELETED_GROUPS):
            out.append(Clause(c.name, f"mailNickname eq {odata_string(value)}"))
    elif ns == addresses.ANCHOR:
        for c in (USERS, DELETED_USERS):
            out.append(Clause(c.name, f"onPremisesImmutableId eq {odata_string(value)}", True))
    elif ns == addresses.SID:
        for c in (USERS, GROUPS, DELETED_USERS, DELETED_GROUPS):
            out.append(Clause(c.name, f"onPremisesSecurityIdentifier eq {odata_string(value)}"))
    elif ns == addresses.ID:
        if not _GUID.match(value):
            return []  # not an Entra object id: nothing in Entra can have it
        for c in COLLECTIONS:
            out.append(Clause(c.name, f"id eq {odata_string(value)}"))
    else:
        return None  # target:, sam:, dn: and namespaces Graph does not know
    return out


def plan_queries(keys: Iterable[str], target_keys: Iterable[str] = (), skip: Iterable[str] = ()) -> Plan:
    """Turn keys into as few requests as Graph allows (15 clauses each, one collection each).

    Collections named in `skip` are not asked (they were read whole already).
    """
    plan = Plan()
    skipped = set(skip)
    clauses: set[Clause] = set()
    targets = set(target_keys)
    for key in sorted(set(keys) | targets):
        found = clauses_for_key(key, target=key in targets)
        if found is None:
            plan.unsupported.setdefault(key.partition(":")[0], []).append(key)
            continue
        clauses.update(c for c in found if c.collection not in skipped)
    groups: dict[tuple[str, bool], list[str]] = {}
    for clause in sorted(clauses):
        groups.setdefault((clause.collection, clause.advanced), []).append(clause.text)
    order = {c.name: i for i, c in enumerate(COLLECTIONS)}
    for (name, advanced), texts in sorted(groups.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        for i in range(0, len(texts), MAX_CLAUSES):
            plan.queries.append(Query(BY_NAME[name], tuple(texts[i : i + MAX_CLAUSES]), advanced))
    return plan


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# --- reading answers -------------------------------------------------------------------------


class MalformedAnswer(ValueError):
    """Graph's answer was not the JSON collection page it must be (truncated, cut by a proxy...)."""


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    next_link: str | None
    delta_link: str | None = None  # the last page of a `/delta` round: where the next round starts


def parse_page(body: bytes | str | Mapping[str, Any]) -> Page:
    """A collection page (`{"value": [...], "@odata.nextLink": ...}`), raw or already decoded.

    Anything else is MalformedAnswer: a page that can't be read is never "no holders".
    """
    if isinstance(body, Mapping):
        data: Any = body
    else:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedAnswer(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise MalformedAnswer("not a JSON object")
    value = data.get("value")
    if not isinstance(value, list):
        raise MalformedAnswer('no "value" list')
    link = data.get("@odata.nextLink")
    if link is not None and not isinstance(link, str):
        raise MalformedAnswer('"@odata.nextLink" is not a string')
    delta = data.get("@odata.deltaLink")
    if delta is not None and not isinstance(delta, str):
        raise MalformedAnswer('"@odata.deltaLink" is not a string')
    return Page(value, link or None, delta or None)


_QUARANTINE_PROPERTY = {"userprincipalname": "UserPrincipalName"}


def quarantined_of(errors: Any) -> tuple[Quarantined, ...]:
    """Values Entra held back (`onPremisesProvisioningErrors`, category PropertyConflict).

    `propertyCausingError` is `UserPrincipalName` or `ProxyAddress` (docs/semantics.md "Quarantined values"); anything else
    is read as an address, so an unexpected value makes a holder, never hides one.
    """
    out: list[Quarantined] = []
    if not isinstance(errors, list):
        return ()
    for e in errors:
        if not isinstance(e, dict) or str(e.get("category", "")).lower() != "propertyconflict":
            continue
        value = e.get("value")
        if not isinstance(value, str) or not value.strip():
            continue
        prop = _QUARANTINE_PROPERTY.get(str(e.get("propertyCausingError", "")).lower(), "ProxyAddress")
        out.append(Quarantined(prop, value))
    return tuple(out)


# The Graph type of each property `to_object` keeps that is not a string (Graph's v1.0 schema).
_SHAPES: dict[str, type] = {
    "proxyAddresses": list, "otherMails": list, "groupTypes": list, "imAddresses": list,
    "mailEnabled": bool, "securityEnabled": bool, "accountEnabled": bool,
}  # fmt: skip
_SHAPE_NAMES = {list: "a list of strings", bool: "true or false", str: "a string"}


def to_object(record: Any, collection: Collection) -> DirectoryObject:
    """One Graph JSON object as the engine's `DirectoryObject` (only the attributes it judges).

    Called for every object of a full scan, so it is written for speed: one pass over the
    record's own items, type checks by identity.
    """
    if type(record) is not dict:
        raise MalformedAnswer(f"an item of {collection.label} is not a JSON object")
    ident = record.get("id")
    if type(ident) is not str or not ident:
        raise MalformedAnswer(f"an item of {collection.label} has no id")
    odata_type = record.get("@odata.type")
    if odata_type is not None and odata_type != collection.odata_type:
        raise MalformedAnswer(f"{collection.label} returned an object of type {odata_type}")
    wanted = collection.attributes
    attributes: dict[str, Any] = {}
    for name, value in record.items():
        if value is None or name not in wanted:
            continue
        kind = type(value)
        expected = _SHAPES.get(name, str)
        if kind is not expected:
            # Graph's schema says which: a string where a list belongs (`"proxyAddresses": "SMTP:x"`)
            # read as given would hide that value from the check, so the answer is unreadable.
            raise MalformedAnswer(
                f"{collection.label} {ident}: {name} should be {_SHAPE_NAMES[expected]}, not {value!r:.80}"
            )
        if kind is str:
            if value:
                attributes[name] = value
        elif kind is list:
            items = tuple(value)
            if not all(type(v) is str for v in items):
                raise MalformedAnswer(f"{collection.label} {ident}: {name} holds a value that is not text")
            attributes[name] = items
        elif kind is bool:
            attributes[name] = value
        else:
            raise MalformedAnswer(f"{collection.label} {ident}: {name} has an unexpected value {value!r}")
    errors = record.get("onPremisesProvisioningErrors")
    quarantined = quarantined_of(errors) if errors else ()
    return DirectoryObject(ident, collection.kind, "entra", collection.state, attributes, quarantined)


def tenant_of(organization: Any) -> tuple[str | None, tuple[str, ...]]:
    """(initial domain, verified domain names) from `GET /organization`."""
    page = parse_page(organization)
    initial: str | None = None
    names: list[str] = []
    for org in page.records:
        domains = org.get("verifiedDomains") if isinstance(org, dict) else None
        if not isinstance(domains, list):
            raise MalformedAnswer("the organization has no verifiedDomains list")
        for d in domains:
            if not isinstance(d, dict) or not isinstance(d.get("name"), str):
                continue
            names.append(d["name"])
            if d.get("isInitial") is True:
                initial = d["name"]
    if not page.records:
        raise MalformedAnswer("no organization returned")
    return initial, tuple(sorted(set(names), key=str.lower))
