"""`--source ldap://host:port/BASE` (or `ldaps://`): live on-prem Active Directory through ldap3.

How it reads
------------
`lookup` turns the keys and targets the engine asks for into OR-ed attribute assertions
(`ldap_filters`), a couple of thousand per search, restricted to users, groups and contacts; so a
plan's cost in searches follows its size divided by the chunk, never the forest's size. `scan`
(for `dupfix snapshot`) pages through every user, group and contact. Every search is paged, and
every page's result code is checked (`ldap_connection`): a partial answer is exit 3, never a pass.

Schema-aware
------------
The schema is read once, in one search over the schema naming context, for the attributes this
source uses. Only those the schema has are requested or asserted (ldap3 and AD refuse the
others), so a forest without the Exchange schema extension (no `mailNickname`, `targetAddress`;
a fresh Samba AD DC is one) works, and `notes` says what could not be checked there.

The Global Catalog (ports 3268/3269)
------------------------------------
The GC covers the whole forest but carries only the partial attribute set: never
`mS-DS-ConsistencyGuid`, and `proxyAddresses` only once Exchange added it to the set. What the GC
lacks is read from a domain controller port of the same host (389/636, or `DUPFIX_LDAP_DC_URL`),
for the objects of that DC's domain: assertions on such attributes are searched there, and
objects found through the GC get those attributes from there. `DUPFIX_LDAP_DC_URL=none` reads the
GC alone: anchors then fall back to `objectGUID` (each object's `sourceAnchorAttribute` and
`sourceAnchorFallback` say which was used) and the notes name what was not checked.

Objects are identified by `objectGUID`, keep their DN as `distinguishedName`, and carry
`objectSid` and their source anchor (`sourceAnchor`, base64: what the Entra twin holds as
`onPremisesImmutableId`), so the engine links each AD object to its Entra twin. IdFix's skips
apply (`ldap_entries.skip_reason`).

ldap3 is imported only when an LDAP source is opened, never when the plugin is registered: the
CLI and the pre-commit hook must start fast.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...addresses import domain_of_dn, namespace, target_key, target_keys_of
from ...errors import StateUnavailableError, UserInputError
from ...interfaces import DoctorLine
from ...model import DirectoryObject, SourceInfo, Target, Tenant

if TYPE_CHECKING:
    from .connection import LdapConnection, RootDse, SchemaAttribute
    from .filters import Assertion
    from .settings import LdapSettings

SCHEME = "ldap"
_IDENTIFYING = frozenset({"id", "dn", "anchor", "sid"})
CONSISTENCY_GUID = "mS-DS-ConsistencyGuid"
# What a missing attribute means for the check, for the notes.
_UNCHECKED = {
    "mailnickname": "aliases (mailNickname: DUP010, DUP013)",
    "targetaddress": "targetAddress collisions",
    "proxyaddresses": "proxy addresses",
    "mail": "mail addresses",
    "userprincipalname": "UPNs",
    "samaccountname": "sAMAccountNames (DUP014)",
}


@dataclass
class Endpoint:
    """One connected server: where to search and which attributes can be read and asserted there."""

    conn: LdapConnection
    base: str
    root: RootDse
    schema: dict[str, SchemaAttribute]
    readable: dict[str, str]  # lower-case name -> schema spelling
    label: str

    @property
    def read_attributes(self) -> list[str]:
        from .entries import READ_ATTRIBUTES

        return [self.readable[a.lower()] for a in READ_ATTRIBUTES if a.lower() in self.readable]

    def holds(self, dn: str) -> bool:
        """Is this DN inside what this endpoint searches? (A child domain's DN ends with its
        parent's DN too, so the domains must be equal as well.)"""
        if not self.base:
            return True
        return dn.lower().endswith(self.base.lower()) and domain_of_dn(dn) == domain_of_dn(self.base)


@dataclass
class _Raw:
    """One entry's raw values, merged from the Global Catalog and its domain controller."""

    dn: str
    values: dict[str, Sequence[bytes]] = field(default_factory=dict)
    from_dc: bool = False


class LdapSource:
    """Active Directory over LDAP as a `StateSource` (directory `ad`)."""

    def __init__(self, settings: LdapSettings):
        self.delta_messages: list[str] = []  # what the last DirSync read said (dirsync.delta)
        self.settings = settings
        self.spec = settings.spec
        self._primary: Endpoint | None = None
        self._companion: Endpoint | None = None
        self._companion_tried = False
        self._as_of: str | None = None
        self._notes: dict[str, str] = {}
        self.skipped: Counter[str] = Counter()
        # A few names per skip reason, so the report says which objects were left out, not just how many.
        self.skipped_names: dict[str, list[str]] = defaultdict(list)
        # Identifying keys (GUID, DN, SID, anchor) of the objects already returned. The engine asks
        # for the anchors and SIDs of the AD objects it found, to find their Entra twins; in AD only
        # the object itself holds them, so those are not searched again (mS-DS-ConsistencyGuid is
        # not indexed: asking for it costs a scan of the directory); a repeated question is
        # answered with the objects already read.
        self._known: dict[str, set[str]] = {}
        self._returned: dict[str, DirectoryObject] = {}

    # -- StateSource ---------------------------------------------------------------------------

    @property
    def directories(self) -> frozenset[str]:
        return frozenset({"ad"})

    @property
    def tenant(self) -> Tenant | None:
        return None

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(self.spec, "ad", self._as_of)

    @property
    def notes(self) -> tuple[str, ...]:
        """What this source could not check or read, for the report (deduplicated, in order)."""
        return tuple(self._notes.values())

    def report_notes(self, covered: frozenset[str]) -> list[str]:
        """`interfaces.ReportsNotes`: the notes, for the report of a check."""
        return list(self.notes)

    @property
    def searches(self) -> int:
        """LDAP search requests sent so far (each page counts), over both connections."""
        total = self._primary.conn.searches if self._primary else 0
        return total + (self._companion.conn.searches if self._companion else 0)

    def lookup(self, keys: Iterable[str], targets: Sequence[Target]) -> list[DirectoryObject]:
        from .filters import assertions_for_key, assertions_for_target

        primary = self.primary()
        wanted: list[Assertion] = []
        again: set[str] = set()
        for key in keys:
            if key in self._known:
                again |= self._known[key]
            else:
                wanted.extend(assertions_for_key(key))
        for target in targets:
            if target_key(target) in self._known:
                again |= self._known[target_key(target)]
            else:
                wanted.extend(assertions_for_target(target))
        if not wanted:
            return [self._returned[i] for i in sorted(again)]
        routed: dict[str, list[Assertion]] = defaultdict(list)
        unchecked: Counter[str] = Counter()
        companion = self.companion_if_needed()
        for a in wanted:
            name = a.attribute.lower()
            if name in primary.readable:
                routed["primary"].append(a)
            elif companion is not None and name in companion.readable:
                routed["companion"].append(a)
            elif a.attribute != CONSISTENCY_GUID:  # anchors have their own note (_note_gc_alone)
                unchecked[a.attribute] += 1
        found: dict[str, _Raw] = {}
        self._search_into(found, primary, routed["primary"], from_dc=False)
        if companion is not None:
            self._search_into(found, companion, routed["companion"], from_dc=True)
            self._enrich(found, primary, companion)
        for attribute, count in sorted(unchecked.items()):
            self._note_unchecked(attribute, count)
        count_before = sum(self.skipped.values())
        objects = self._decode(found.values(), primary, companion)
        if sum(self.skipped.values()) > count_before:
            self._note_skipped("that hold values the plan claims ")
        for obj in objects:
            self._returned[obj.id] = obj
            for k in target_keys_of(obj):
                if namespace(k) in _IDENTIFYING:
                    self._known.setdefault(k, set()).add(obj.id)
        fresh = {o.id for o in objects}
        return objects + [self._returned[i] for i in sorted(again - fresh)]

    def scan(self) -> Iterator[DirectoryObject]:
        from .filters import OBJECT_FILTER

        primary = self.primary()
        companion = self.companion_if_needed()
        extra: dict[str, dict[str, Sequence[bytes]]] = {}
        if companion is not None:
            wanted = ["objectGUID", *self._dc_only(primary, companion)]
            for _dn, raw in companion.conn.search(companion.base, OBJECT_FILTER, wanted, what="reading the domain"):
                values = {k.lower(): v for k, v in raw.items() if v}
                guid = values.get("objectguid")
                if guid:
                    extra[bytes(guid[0]).hex()] = values
        for attribute in ("mailNickname", "targetAddress"):
            if attribute.lower() not in primary.readable:
                self._note_unchecked(attribute, None)
        count_before = sum(self.skipped.values())
        entries = primary.conn.search(primary.base, OBJECT_FILTER, primary.read_attributes, what="reading the directory")
        outside = 0
        for dn, raw in entries:
            values = {k.lower(): v for k, v in raw.items() if v}
            guid = values.get("objectguid")
            merged = _Raw(dn, values)
            if companion is not None and guid and companion.holds(dn):
                more = extra.get(bytes(guid[0]).hex())
                if more is not None:
                    merged.values.update(more)
                merged.from_dc = True
            elif companion is not None:
                outside += 1
            yield from self._decode([merged], primary, companion)
        if outside and companion is not None:
            self._note_outside(outside, primary, companion)
        self._note_referrals()
        if sum(self.skipped.values()) > count_before:
            self._note_skipped()

    def _note_skipped(self, what: str = "") -> None:
        """Which objects IdFix's skips left out (ldap_entries.skip_reason), by reason, with names."""
        total = sum(self.skipped.values())
        reasons = []
        for reason, count in sorted(self.skipped.items()):
            names = self.skipped_names.get(reason, [])
            shown = f": {', '.join(names)}{', ...' if count > len(names) else ''}" if names else ""
            reasons.append(f"{count} {reason}{shown}")
        self._notes["skipped"] = (
            f"{self._where()}: left out {total} system object(s) {what}as IdFix does, because Entra "
            f"Connect does not sync them ({'; '.join(reasons)})"
        )

    def delta(self, state: str | None) -> tuple[list[tuple[Any, ...]], str | None]:
        """For the state cache (cache.sync): what changed since `state` (a DirSync cookie), or
        everything; without the "Replicating Directory Changes" right, full scans (ldap.dirsync)."""
        from .dirsync import delta

        return delta(self, state)

    def delta_notes(self) -> list[str]:
        return list(self.delta_messages)

    def close(self) -> None:
        for endpoint in (self._primary, self._companion):
            if endpoint is not None:
                endpoint.conn.close()
        self._primary = self._companion = None
        self._companion_tried = False

    # -- connecting ----------------------------------------------------------------------------

    def primary(self) -> Endpoint:
        if self._primary is None:
            self._primary = self._connect(self.settings, "primary")
            if self._as_of is None:
                self._as_of = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self._primary

    def _connect(self, settings: LdapSettings, role: str) -> Endpoint:
        from .connection import PAGED_RESULTS, LdapConnection
        from .entries import SCHEMA_ATTRIBUTES

        conn = LdapConnection(settings)
        try:
            conn.open()
            root = conn.root_dse()
            if PAGED_RESULTS not in root.controls:
                raise StateUnavailableError(
                    f"LDAP {settings.address}: the server does not offer paged results "
                    f"({PAGED_RESULTS}); dupfix reads only through paged searches, so that no answer is cut "
                    "short by the server's size limit",
                    hint="point --source at an Active Directory domain controller or Global Catalog",
                )
            if settings.global_catalog:
                base = settings.base or ""
            else:
                base = settings.base or root.default_naming_context or ""
            schema_dn = root.schema_naming_context
            if not schema_dn:
                raise StateUnavailableError(
                    f"LDAP {settings.address}: the rootDSE names no schemaNamingContext",
                    hint="is this an Active Directory server?",
                )
            schema = conn.schema_attributes(schema_dn, SCHEMA_ATTRIBUTES)
        except BaseException:
            conn.close()
            raise
        if settings.global_catalog:
            readable = {k: a.name for k, a in schema.items() if a.in_global_catalog}
        else:
            readable = {k: a.name for k, a in schema.items()}
        readable.setdefault("distinguishedname", "distinguishedName")
        return Endpoint(conn, base, root, schema, readable, role)

    def companion_if_needed(self) -> Endpoint | None:
        """The domain controller behind a Global Catalog, when the GC lacks something we read."""
        primary = self.primary()
        if not self.settings.global_catalog:
            return None
        missing = sorted(a.name for k, a in primary.schema.items() if k not in primary.readable)
        wanted_missing = [m for m in missing if m.lower() in _companion_attributes()]
        if not wanted_missing:
            return None
        if self._companion is not None or self._companion_tried:
            return self._companion
        self._companion_tried = True
        companion_settings = self.settings.companion()
        if companion_settings is None:
            self._note_gc_alone(wanted_missing)
            return None
        try:
            self._companion = self._connect(companion_settings, "companion")
        except StateUnavailableError as exc:
            raise StateUnavailableError(
                f"{exc.message} (the domain controller that supplies what the Global Catalog does not "
                f"carry: {', '.join(wanted_missing)})",
                hint=(exc.hint + "; " if exc.hint else "") + "set DUPFIX_LDAP_DC_URL to a reachable DC port, or "
                "DUPFIX_LDAP_DC_URL=none to read the Global Catalog alone (anchors then fall back to objectGUID)",
            ) from None
        self._notes["companion"] = (
            f"{self._where()}: read {', '.join(wanted_missing)} (not in the Global Catalog) from "
            f"{companion_settings.address} for domain {self._companion.base or '(default)'}"
        )
        return self._companion

    @staticmethod
    def _dc_only(primary: Endpoint, companion: Endpoint) -> list[str]:
        return [
            companion.readable[k]
            for k in sorted(_companion_attributes())
            if k not in primary.readable and k in companion.readable
        ]

    # -- searching -----------------------------------------------------------------------------

    def _search_into(self, found: dict[str, _Raw], endpoint: Endpoint, assertions: list[Assertion], *,
                     from_dc: bool) -> None:  # fmt: skip
        from .filters import chunks, object_filter

        # Assertions on unindexed attributes (mS-DS-ConsistencyGuid) are searched apart: one such
        # branch makes the server scan every object for the whole OR.
        def indexed(a: Assertion) -> bool:
            attribute = endpoint.schema.get(a.attribute.lower())
            return attribute is None or attribute.indexed

        groups = [[a for a in assertions if indexed(a)], [a for a in assertions if not indexed(a)]]
        # Assertions name attributes in our spelling; the server's schema spelling is used on the wire.
        for chunk in (c for group in groups for c in chunks(group)):
            spelled = [type(a)(endpoint.readable.get(a.attribute.lower(), a.attribute), a.value) for a in chunk]
            for dn, raw in endpoint.conn.search(endpoint.base, object_filter(spelled), endpoint.read_attributes,
                                                what="looking up the plan's values"):  # fmt: skip
                values = {k.lower(): v for k, v in raw.items() if v}
                guid = values.get("objectguid")
                if not guid:
                    continue
                key = bytes(guid[0]).hex()
                entry = found.setdefault(key, _Raw(dn))
                entry.values.update(values)
                entry.from_dc = entry.from_dc or from_dc

    def _enrich(self, found: dict[str, _Raw], primary: Endpoint, companion: Endpoint) -> None:
        """Objects found through the GC get what only their domain controller holds."""
        from .filters import Assertion, chunks, escape_octets, object_filter

        wanted = self._dc_only(primary, companion)
        todo = [k for k, e in found.items() if not e.from_dc and companion.holds(e.dn)]
        outside = sum(1 for e in found.values() if not e.from_dc and not companion.holds(e.dn))
        if outside:
            self._note_outside(outside, primary, companion)
        if not todo or not wanted:
            return
        assertions = [Assertion("objectGUID", escape_octets(bytes.fromhex(k))) for k in todo]
        for chunk in chunks(assertions):
            for _dn, raw in companion.conn.search(companion.base, object_filter(chunk), ["objectGUID", *wanted],
                                                  what="reading attributes the Global Catalog lacks"):  # fmt: skip
                values = {k.lower(): v for k, v in raw.items() if v}
                guid = values.get("objectguid")
                if guid and bytes(guid[0]).hex() in found:
                    entry = found[bytes(guid[0]).hex()]
                    entry.values.update(values)
                    entry.from_dc = True
        for k in todo:
            found[k].from_dc = True

    def _decode(self, entries: Iterable[_Raw], primary: Endpoint, companion: Endpoint | None) -> list[DirectoryObject]:
        from .entries import decode_entry

        dc_read = primary.readable if companion is None else {**primary.readable, **companion.readable}
        out: list[DirectoryObject] = []
        in_schema = CONSISTENCY_GUID.lower() in primary.schema
        for entry in entries:
            # Unreadable only when the schema has it and neither connection could read it here.
            readable = not in_schema or CONSISTENCY_GUID.lower() in primary.readable or (
                entry.from_dc and CONSISTENCY_GUID.lower() in dc_read
            )
            decoded = decode_entry(entry.dn, entry.values, consistency_readable=readable)
            if decoded.obj is None:
                reason = decoded.skipped or "skipped"
                self.skipped[reason] += 1
                if len(self.skipped_names[reason]) < _NAMES_SHOWN:
                    self.skipped_names[reason].append(_cn(entry.dn))
                continue
            out.append(decoded.obj)
        return out

    # -- notes ---------------------------------------------------------------------------------

    def _where(self) -> str:
        return f"on-prem AD ({self.settings.address})"

    def _note_unchecked(self, attribute: str, count: int | None) -> None:
        what = _UNCHECKED.get(attribute.lower(), attribute)
        exchange = " (the forest has no Exchange schema)" if attribute in ("mailNickname", "targetAddress") else ""
        primary = self._primary
        in_schema = primary is not None and attribute.lower() in primary.schema
        why = "is not in the Global Catalog" if in_schema else f"is not in the schema{exchange}"
        counted = f": {count} look-up(s)" if count else ""
        self._notes[f"unchecked:{attribute}"] = (
            f"{self._where()}: {attribute} {why}{counted}; {what} not checked against AD"
        )

    def _note_gc_alone(self, missing: list[str]) -> None:
        for attribute in missing:
            if attribute == CONSISTENCY_GUID:
                self._notes["anchor"] = (
                    f"{self._where()}: {CONSISTENCY_GUID} is not in the Global Catalog and DUPFIX_LDAP_DC_URL=none: "
                    "source anchors fall back to objectGUID (sourceAnchorFallback), so an Entra twin "
                    "anchored on a different consistency GUID links only by SID"
                )
            elif attribute.lower() == "iscriticalsystemobject":
                self._notes["critical"] = (
                    f"{self._where()}: isCriticalSystemObject is not in the Global Catalog: system objects "
                    "are left out by name ($, CNF:) only"
                )
            else:
                self._note_unchecked(attribute, None)

    def _note_outside(self, count: int, primary: Endpoint, companion: Endpoint) -> None:
        missing = ", ".join(self._dc_only(primary, companion))
        self._notes["outside"] = (
            f"{self._where()}: {count} object(s) outside {companion.base or 'the DC domain'} lack {missing} "
            "(not in the Global Catalog, and the domain controller holds only its own domain); their anchors "
            "fall back to objectGUID"
        )

    def _note_referrals(self) -> None:
        if self._primary is not None and self._primary.conn.referrals:
            where = ", ".join(self._primary.conn.referrals)
            self._notes["referrals"] = (
                f"{self._where()}: referrals to other domains were not followed ({where}); use the Global "
                "Catalog (port 3268) to read the whole forest"
            )

    # -- doctor --------------------------------------------------------------------------------

    def diagnose(self) -> list[DoctorLine]:
        """Bind, schema (Exchange attributes or not), Global Catalog reachability: one check each."""
        from .diagnose import diagnose

        return diagnose(self)


_NAMES_SHOWN = 3


def _cn(dn: str) -> str:
    from .entries import first_rdn_value

    return first_rdn_value(dn) or dn


def _companion_attributes() -> frozenset[str]:
    from .entries import READ_ATTRIBUTES

    return frozenset(a.lower() for a in READ_ATTRIBUTES)


def create(spec: str, options: Mapping[str, Any]) -> LdapSource:
    """`ldap://host:port/BASE` or `ldaps://…` -> LdapSource (nothing is contacted yet)."""
    from ...extras import require
    from .settings import settings_from

    require("ldap", "ldap")
    env = options.get("env")
    settings = settings_from(spec, env if isinstance(env, Mapping) else None)
    return LdapSource(settings)


__all__ = ["LdapSource", "UserInputError", "create"]
