"""What Entra Connect writes into Entra ID for an on-prem AD object: the values Entra will judge.

An AD object is never compared with Entra objects by its AD values: sync first *projects* it
(docs/semantics.md "Entra Connect projection"), and only the projected values reach Entra ID:

- the Entra UPN comes from `userPrincipalName` (or `mail` with `sync.upnSource: mail`, alternate
  login ID); a suffix the tenant has not verified is replaced by the initial domain
  (`billa@contoso.local` -> `billa@contoso.onmicrosoft.com`);
- proxy calculation drops addresses on reserved suffixes (`*.onmicrosoft.com` other than the
  tenant's own `<tenant>.mail.onmicrosoft.com` routing domain, `*.microsoftonline.com`) and
  legacy address types (X400, MSMAIL, CCMAIL, MS);
- `mailNickname` is the on-prem one, else the primary SMTP address's local part, else the UPN's;
  the MOERA follows it;
- the source anchor is `mS-DS-ConsistencyGuid` when set, else `objectGUID` (or the one attribute
  `sync.sourceAnchor` pins);
- objects outside `sync.scope` (OU filtering) are not synced at all.

Pure functions over plain data: no source, no I/O. It sits below `addresses.py` (which builds
claim keys from these projections); both parse values with `values.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from .model import DirectoryObject
from .values import guid_to_immutable_id, split_proxy, values_of

RESERVED_SUFFIXES: tuple[str, ...] = (".onmicrosoft.com", ".microsoftonline.com")
_RESERVED_BARE = frozenset(s[1:] for s in RESERVED_SUFFIXES)
# Address types proxy calculation discards (KB 3190357: "legacy protocols, like MSMAIL or X400").
LEGACY_TYPES: frozenset[str] = frozenset({"x400", "msmail", "ccmail", "ms"})
UPN_SOURCES: tuple[str, ...] = ("userPrincipalName", "mail")
ANCHOR_ATTRIBUTES: tuple[str, ...] = ("mS-DS-ConsistencyGuid", "objectGUID")

# Attributes sync writes into Entra ID from the AD object (and replaces on every export).
SYNCED_ATTRIBUTES: tuple[str, ...] = (
    "userPrincipalName",
    "proxyAddresses",
    "mail",
    "mailNickname",
    "targetAddress",
    "onPremisesImmutableId",
)


def dn_parts(dn: str) -> list[str]:
    """The RDNs of a DN, split at unescaped commas and trimmed (`CN=Doe\\, Jo` stays one)."""
    if "\\" not in dn:
        return [p for p in (part.strip() for part in dn.split(",")) if p]
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in dn:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == ",":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _dn_tail(dn: str) -> str:
    """A DN in a form suffix tests can use: RDNs lower-cased with `=` spacing removed."""
    out = []
    for part in dn_parts(dn):
        name, _, value = part.partition("=")
        out.append(f"{name.strip().lower()}={value.strip().lower()}")
    return ",".join(out)


@dataclass(frozen=True)
class SyncRules:
    """How this tenant's Entra Connect is set up, as far as the verdict depends on it.

    The defaults are Entra Connect's own defaults with no knowledge of the tenant: every object in
    scope, UPN from `userPrincipalName`, anchor by consistency GUID with objectGUID fallback, and
    no UPN rewrite (the verified domains are unknown). Sources index objects under these defaults;
    the engine re-projects with the tenant's domains and the configured `sync:` settings.
    """

    upn_source: str = "userPrincipalName"
    source_anchor: str | None = None  # None: mS-DS-ConsistencyGuid when set, else objectGUID
    scope_include: tuple[str, ...] = ()  # container DNs (empty: the whole forest)
    scope_exclude: tuple[str, ...] = ()
    initial_domain: str | None = None
    verified_domains: tuple[str, ...] = ()

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any] | None, initial_domain: str | None = None, verified: Iterable[str] = ()
    ) -> SyncRules:
        s = settings or {}
        scope = s.get("scope") or {}
        return cls(
            upn_source=str(s.get("upnSource") or "userPrincipalName"),
            source_anchor=s.get("sourceAnchor") or None,
            scope_include=tuple(_dn_tail(d) for d in scope.get("include") or ()),
            scope_exclude=tuple(_dn_tail(d) for d in scope.get("exclude") or ()),
            initial_domain=initial_domain,
            verified_domains=tuple(verified),
        )

    def with_tenant(self, initial_domain: str | None, verified: Iterable[str]) -> SyncRules:
        return SyncRules(
            self.upn_source,
            self.source_anchor,
            self.scope_include,
            self.scope_exclude,
            initial_domain,
            tuple(verified),
        )

    @property
    def scoped(self) -> bool:
        return bool(self.scope_include or self.scope_exclude)

    def in_scope(self, obj: DirectoryObject) -> bool:
        """Whether OU filtering lets this AD object sync (an object without a DN is in scope)."""
        if not self.scoped or obj.directory != "ad":
            return True
        dn = obj.get("distinguishedName")
        if not dn:
            return True
        tail = _dn_tail(str(dn))

        def under(container: str) -> bool:
            return tail == container or tail.endswith("," + container)

        if self.scope_include and not any(under(c) for c in self.scope_include):
            return False
        return not any(under(c) for c in self.scope_exclude)

    def is_verified(self, domain: str) -> bool | None:
        """None when the tenant's domains are unknown: then no value is rewritten or dropped."""
        if not self.verified_domains and not self.initial_domain:
            return None
        d = domain.strip().lower().rstrip(".")
        verified = {v.lower() for v in self.verified_domains}
        if self.initial_domain:
            initial = self.initial_domain.lower()
            verified |= {initial, initial.replace(".onmicrosoft.com", ".mail.onmicrosoft.com")}
        return d in verified

    def reserved(self, domain: str) -> bool:
        """A suffix proxy calculation discards (the tenant's own mail routing domain excepted)."""
        d = domain.strip().lower()
        if d.endswith(".mail.onmicrosoft.com"):
            if not self.initial_domain:
                return False  # any tenant's hybrid routing domain might be this tenant's
            return d != self.initial_domain.lower().replace(".onmicrosoft.com", ".mail.onmicrosoft.com")
        return d.endswith(RESERVED_SUFFIXES) or d in _RESERVED_BARE


DEFAULT_SYNC = SyncRules()


class Dropped(NamedTuple):  # not a dataclass: cheaper to define at start-up (docs/plugins.md)
    """A value sync will not write into Entra ID, and why (a format finding, never a duplicate)."""

    attribute: str
    value: str
    reason: str  # "reserved-suffix" | "legacy-type"


class Projection(NamedTuple):
    """The Entra-side values of one AD object. `written` maps a projected value to the value the
    AD object holds when sync changed it (a UPN moved to the initial domain, a derived alias).
    A named tuple: a cache fill or an audit projects every AD object."""

    upn: str | None
    proxies: tuple[str, ...]
    mail: str | None
    target_addresses: tuple[str, ...]
    nickname: str | None
    nickname_derived: bool
    anchor: str | None
    upn_written: str | None = None
    dropped: tuple[Dropped, ...] = ()


def source_anchor(obj: DirectoryObject, pinned: str | None = None) -> str | None:
    """The base64 sourceAnchor Entra Connect gives this AD object (its twin's onPremisesImmutableId).

    `mS-DS-ConsistencyGuid` when set, else `objectGUID` (Entra Connect's default since 1.1.524);
    `sync.sourceAnchor: objectGUID` pins the older choice. The LDAP source already records the
    anchor it read as `sourceAnchor` (base64), which wins unless the choice is pinned otherwise.
    """
    a = obj.attributes
    consistency = next(iter(values_of(a.get("mS-DS-ConsistencyGuid"))), None)
    guid = next(iter(values_of(a.get("objectGUID"))), None)
    if pinned == "objectGUID":
        return guid_to_immutable_id(guid) if guid else None
    recorded = a.get("sourceAnchor")
    if recorded and (pinned is None or a.get("sourceAnchorAttribute") == pinned):
        return str(recorded)
    if consistency:
        return guid_to_immutable_id(consistency) or consistency.strip()
    return guid_to_immutable_id(guid) if guid else None


def project(obj: DirectoryObject, rules: SyncRules = DEFAULT_SYNC) -> Projection:
    """The values Entra Connect writes for this AD object (see the module docstring)."""
    a = obj.attributes
    dropped: list[Dropped] = []
    proxies: list[str] = []
    for p in values_of(a.get("proxyAddresses")):
        parts = split_proxy(p)
        if parts is None:
            continue  # malformed: sync drops it (and the format rules say so)
        kind, address = parts
        if kind in LEGACY_TYPES:
            dropped.append(Dropped("proxyAddresses", p, "legacy-type"))
            continue
        if kind == "smtp" and "@" in address and rules.reserved(address.rpartition("@")[2]):
            dropped.append(Dropped("proxyAddresses", p, "reserved-suffix"))
            continue
        proxies.append(p)
    mail = next(iter(values_of(a.get("mail"))), None)
    if mail and "@" in mail and rules.reserved(mail.rpartition("@")[2]):
        dropped.append(Dropped("mail", mail, "reserved-suffix"))
        mail = None
    upn = upn_written = None
    if obj.kind == "user":
        raw = next(iter(values_of(a.get(rules.upn_source))), None)
        if raw is not None:
            upn = raw.strip()
            prefix, at, suffix = upn.rpartition("@")
            if at and rules.initial_domain and rules.is_verified(suffix) is False:
                upn_written, upn = upn, f"{prefix}@{rules.initial_domain}"
            elif rules.upn_source != "userPrincipalName":
                upn_written = None
    nickname = next(iter(values_of(a.get("mailNickname"))), None)
    derived = False
    if nickname is None and (obj.kind == "user" or proxies or mail):
        primary = next((p for p in proxies if p.strip().startswith("SMTP:")), None)
        source = primary.strip()[5:] if primary else (upn if obj.kind == "user" else None)
        if source and "@" in source:
            nickname, derived = source.rpartition("@")[0].strip(), True
    return Projection(
        upn=upn,
        proxies=tuple(proxies),
        mail=mail,
        target_addresses=values_of(a.get("targetAddress")),
        nickname=nickname or None,
        nickname_derived=derived,
        anchor=source_anchor(obj, rules.source_anchor),
        upn_written=upn_written,
        dropped=tuple(dropped),
    )
