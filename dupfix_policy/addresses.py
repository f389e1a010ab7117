"""Value normalisation and claim keys: the one place that decides when two values are "the same".

Everything that compares identities (the engine, the sources' point look-ups, the audit) goes
through these functions, so a rule about case or prefixes is written once (docs/semantics.md "Claim keys" and "How values compare").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from .model import DirectoryObject, Target
from .projection import DEFAULT_SYNC, SyncRules, dn_parts, project
from .values import guid_to_immutable_id, split_proxy, values_of
from .values import immutable_id_to_guid as immutable_id_to_guid  # re-exported: the key helpers live here

# Key namespaces. A key is "<namespace>:<normalised value>".
UPN = "upn"
PROXY = "proxy"
TARGET = "target"
ALIAS = "alias"
SAM = "sam"
ANCHOR = "anchor"
SID = "sid"
ID = "id"
DN = "dn"
# AD's own uniqueness, under AD's comparison (docs/semantics.md "How values compare"):
ADUPN = "adupn"  # userPrincipalName, forest-wide
ADDN = "addn"  # the object's DN: its RDN in its container

CLAIM_ATTRIBUTES: tuple[str, ...] = (
    "userPrincipalName",
    "proxyAddresses",
    "mail",
    "targetAddress",
    "mailNickname",
    "sAMAccountName",
    "onPremisesImmutableId",
    "onPremisesSecurityIdentifier",
)


class Claim(NamedTuple):
    """One key an object holds, and how: the attribute and the value as written.

    A named tuple: every key of every object in a cache fill or an audit is one (a million
    objects, ten million claims), and it is built in a third of a slotted dataclass's time.
    """

    key: str
    attribute: str
    value: str
    via: str = "attribute"  # "attribute" | "quarantine"
    # The value as the object holds it when sync writes another one into Entra ID (a UPN moved to
    # the initial domain, an alias derived from an address): findings point at this one.
    written: str | None = None
    derived: bool = False  # sync derives it; the plan did not write it


def ad_fold(value: str) -> str:
    """AD's comparison for the values it keeps unique itself (UPN, sAMAccountName, RDN).

    AD compares these without case, without non-spacing marks (`müller` = `muller`, KB 938447),
    without width (full-width letters = half-width) and with `ß` = `ss`: NFKD, marks dropped,
    casefolded, NFKC. Entra-side keys keep `fold()`: Entra compares case-insensitively only.
    """
    if value.isascii():  # NFKD, marks, width and NFKC change nothing in ASCII; casefold is lower
        return value.strip().lower()
    text = unicodedata.normalize("NFKD", value.strip())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", text.casefold()).casefold()


def fold(value: str) -> str:
    """Case-insensitive comparison form: trimmed, NFC, casefolded (docs/semantics.md "How values compare")."""
    if value.isascii():  # NFC is the identity on ASCII, and casefold is lower
        return value.strip().lower()
    return unicodedata.normalize("NFC", value.strip()).casefold()


def is_primary_smtp(address: str) -> bool:
    return address.strip().startswith("SMTP:")


def upn_key(upn: str) -> str:
    return f"{UPN}:{fold(upn)}"


def smtp_key(address: str) -> str:
    return f"{PROXY}:smtp:{fold(address)}"


def proxy_key(address: str) -> str | None:
    prefix, sep, rest = address.partition(":")
    if sep and prefix.isalnum() and prefix.isascii() and rest.isascii() and rest.strip():
        # the common case: what split_proxy + fold give for an ASCII address
        return f"{PROXY}:{prefix.lower()}:{rest.strip().lower()}"
    parts = split_proxy(address)
    if parts is None:
        return None
    kind, value = parts
    return f"{PROXY}:{kind}:{fold(value)}"


def target_address_key(address: str) -> str:
    parts = split_proxy(address)
    kind, value = parts if parts is not None else ("smtp", address)
    # A targetAddress is an address like any other: UPN, proxyAddresses, mail and targetAddress
    # may not overlap between two objects (docs/semantics.md "Claim keys").
    return f"{PROXY}:{kind}:{fold(value)}"


def alias_key(nickname: str) -> str:
    return f"{ALIAS}:{fold(nickname)}"


def sam_key(domain: str, sam: str) -> str:
    return f"{SAM}:{fold(domain)}\\{ad_fold(sam)}"


def ad_upn_key(upn: str) -> str:
    return f"{ADUPN}:{ad_fold(upn)}"


def ad_dn_key(dn: str) -> str:
    """An AD object's name in its container, under AD's comparison (`CN=Jörg` = `cn=jorg`)."""
    parts = []
    for part in dn_parts(dn):
        name, _, value = part.partition("=")
        parts.append(f"{name.strip().lower()}={ad_fold(value)}")
    return f"{ADDN}:{','.join(parts)}"


def anchor_key(anchor: str) -> str:
    # Anchors are base64 (or an admin-chosen string): case matters, so only whitespace is trimmed.
    return f"{ANCHOR}:{anchor.strip()}"


def sid_key(sid: str) -> str:
    return f"{SID}:{sid.strip().upper()}"


def cross_key(key: str) -> str | None:
    """The key in the other namespace that a UPN and an `smtp:` address collide through."""
    if key.startswith(UPN + ":"):
        return f"{PROXY}:smtp:{key[len(UPN) + 1 :]}"
    if key.startswith(f"{PROXY}:smtp:"):
        return f"{UPN}:{key[len(PROXY) + 6 :]}"
    return None


def namespace(key: str) -> str:
    return key.partition(":")[0]


def domain_of_dn(dn: str) -> str | None:
    """`CN=Bob,OU=Staff,DC=contoso,DC=com` -> `contoso.com` (the AD domain a sAMAccountName lives in)."""
    parts = [p.strip() for p in dn.split(",")]
    labels = [p[3:] for p in parts if p[:3].upper() == "DC="]
    return ".".join(labels).lower() if labels else None


def original_upn(obj: DirectoryObject) -> str | None:
    """The UPN a soft-deleted Entra user had: Entra prefixes it with the object id (no dashes)."""
    upn = obj.get("userPrincipalName")
    if not upn:
        return None
    prefix = obj.id.replace("-", "").lower()
    if prefix and upn.lower().startswith(prefix) and len(upn) > len(prefix):
        return upn[len(prefix) :]
    return upn


def is_mail_enabled_group(obj: DirectoryObject) -> bool:
    """`mailEnabled: true` or a Microsoft 365 (`Unified`) group; when `mailEnabled` is not given at
    all (AD groups, most plan formats), a group with `mail` or `proxyAddresses` is mail-enabled:
    that is what Exchange gives a mail-enabled group (docs/semantics.md "Mail-enabled groups")."""
    if obj.kind != "group":
        return False
    enabled = obj.get("mailEnabled")
    if isinstance(enabled, str):
        enabled = {"true": True, "false": False}.get(enabled.strip().lower())
    if enabled is True:
        return True
    types = values_of(obj.get("groupTypes"))
    if any(t.lower() == "unified" for t in types):
        return True
    if enabled is None:
        return bool(values_of(obj.get("mail")) or values_of(obj.get("proxyAddresses")))
    return False


def is_guest(attributes: dict | object) -> bool:
    get = attributes.get if hasattr(attributes, "get") else (lambda _n, _d=None: None)
    if str(get("userType", "") or "").lower() == "guest":
        return True
    return "#ext#" in str(get("userPrincipalName", "") or "").lower()


def claims_of(obj: DirectoryObject, sync: SyncRules | None = None) -> Iterator[Claim]:
    """Every key this object holds against others (docs/semantics.md "Claim keys").

    Entra objects hold their own values. AD objects hold AD's unique values under AD's comparison
    (`adupn:`, `sam:`, `addn:`) and, when in sync scope, the values Entra Connect will write into
    Entra ID (`projection.project`): never their raw AD values. A soft-deleted user holds no UPN
    (Entra rewrites it) but keeps its addresses. Quarantined values are held as if active.
    """
    if obj.directory == "ad":
        yield from _ad_claims(obj, sync or DEFAULT_SYNC)
        return
    attrs = obj.attributes
    active = obj.state == "active"
    if obj.kind == "user" and active:
        for upn in values_of(attrs.get("userPrincipalName")):
            yield Claim(upn_key(upn), "userPrincipalName", upn)
    yield from _address_claims(attrs.get("proxyAddresses"), attrs.get("mail"), attrs.get("targetAddress"))
    if obj.kind == "user" or is_mail_enabled_group(obj):
        for nick in values_of(attrs.get("mailNickname")):
            yield Claim(alias_key(nick), "mailNickname", nick)
    for anchor in values_of(attrs.get("onPremisesImmutableId")):
        yield Claim(anchor_key(anchor), "onPremisesImmutableId", anchor)
    for sid in values_of(attrs.get("onPremisesSecurityIdentifier")):
        yield Claim(sid_key(sid), "onPremisesSecurityIdentifier", sid)
    yield from _quarantine_claims(obj)


def _address_claims(proxies: object, mail: object, targets: object) -> Iterator[Claim]:
    for address in values_of(proxies):
        key = proxy_key(address)
        if key is not None:
            yield Claim(key, "proxyAddresses", address)
    for value in values_of(mail):
        yield Claim(smtp_key(value), "mail", value)
    for target in values_of(targets):
        yield Claim(target_address_key(target), "targetAddress", target)


def _quarantine_claims(obj: DirectoryObject) -> Iterator[Claim]:
    for q in obj.quarantined:
        if q.property.lower() == "userprincipalname":
            yield Claim(upn_key(q.value), "userPrincipalName", q.value, "quarantine")
        else:
            key = proxy_key(q.value) or smtp_key(q.value)
            yield Claim(key, "proxyAddresses", q.value, "quarantine")


def _ad_claims(obj: DirectoryObject, sync: SyncRules) -> Iterator[Claim]:
    attrs = obj.attributes
    dn = str(attrs.get("distinguishedName") or "")
    if obj.kind == "user":
        for upn in values_of(attrs.get("userPrincipalName")):
            yield Claim(ad_upn_key(upn), "userPrincipalName", upn)
    domain = domain_of_dn(dn)
    if domain:
        for sam in values_of(attrs.get("sAMAccountName")):
            yield Claim(sam_key(domain, sam), "sAMAccountName", sam)
    if dn.strip():
        yield Claim(ad_dn_key(dn), "distinguishedName", dn)
    if not sync.in_scope(obj):
        return
    p = project(obj, sync)
    if p.upn:
        written = p.upn_written if p.upn_written != p.upn else None
        yield Claim(upn_key(p.upn), sync.upn_source, p.upn, written=written)
    yield from _address_claims(p.proxies, p.mail, p.target_addresses)
    if p.nickname and (obj.kind == "user" or is_mail_enabled_group(obj)):
        yield Claim(alias_key(p.nickname), "mailNickname", p.nickname, derived=p.nickname_derived)
    if p.anchor:
        consistency = next(iter(values_of(attrs.get("mS-DS-ConsistencyGuid"))), None)
        if consistency and sync.source_anchor != "objectGUID":
            yield Claim(anchor_key(p.anchor), "mS-DS-ConsistencyGuid", p.anchor, written=consistency)
        else:
            guid = next(iter(values_of(attrs.get("objectGUID"))), None)
            yield Claim(anchor_key(p.anchor), "objectGUID", p.anchor, written=guid)
    yield from _quarantine_claims(obj)


def link_keys_of(obj: DirectoryObject) -> set[str]:
    """Keys that tie an AD object to its Entra twin (docs/semantics.md "One identity across directories"): anchors and SIDs."""
    attrs = obj.attributes
    keys: set[str] = set()
    if obj.directory == "ad":
        for name in ("objectGUID", "mS-DS-ConsistencyGuid"):
            for guid in values_of(attrs.get(name)):
                immutable = guid_to_immutable_id(guid)
                if immutable:
                    keys.add(anchor_key(immutable))
        for anchor in values_of(attrs.get("sourceAnchor")):
            keys.add(anchor_key(anchor))
        for sid in values_of(attrs.get("objectSid")):
            keys.add(sid_key(sid))
    else:
        for anchor in values_of(attrs.get("onPremisesImmutableId")):
            keys.add(anchor_key(anchor))
        for sid in values_of(attrs.get("onPremisesSecurityIdentifier")):
            keys.add(sid_key(sid))
    return keys


def target_key(target: Target) -> str:
    """The look-up key a change's target is resolved through."""
    attr, value = target.attribute, target.value
    if attr in ("id", "objectGUID"):
        return f"{ID}:{value.strip().lower()}"
    if attr == "userPrincipalName":
        return upn_key(value)
    if attr == "onPremisesImmutableId":
        return anchor_key(value)
    if attr == "distinguishedName":
        return f"{DN}:{fold(value)}"
    if attr == "mail":
        return smtp_key(value)
    raise ValueError(f"unsupported target attribute {attr!r}")


def _target_upn_keys(obj: DirectoryObject, upn: Any) -> list[str]:
    """The UPN keys a target can name an object by: its UPN and, soft-deleted, the one it had."""
    if not upn:
        return []
    keys = [upn_key(upn)]
    if obj.state == "soft-deleted":
        orig = original_upn(obj)
        if orig:
            keys.append(upn_key(orig))
    return keys


def target_keys_of(obj: DirectoryObject) -> set[str]:
    """Every look-up key a target could name this object by."""
    keys = {f"{ID}:{obj.id.lower()}"}
    keys.update(_target_upn_keys(obj, obj.get("userPrincipalName")))
    for mail in values_of(obj.get("mail")):
        keys.add(smtp_key(mail))
    dn = obj.get("distinguishedName")
    if dn:
        keys.add(f"{DN}:{fold(str(dn))}")
    keys |= link_keys_of(obj)
    return keys


def all_lookup_keys(obj: DirectoryObject) -> set[str]:
    """Claim, link and target keys together: what a source index needs to answer `lookup`.

    Always `{c.key for c in claims_of(obj)} | target_keys_of(obj)`; an object without quarantined
    values and with a text UPN (or none) takes `_entra_lookup_keys` or `_ad_lookup_keys`, which
    compute the same set in one pass, without building claims and computing once what claims and
    targets share (a cache fill computes it for every object: 13 -> 6 µs an Entra user, 30 -> 17 µs
    an AD user). tests/test_lookup_keys_fast_path.py holds them equal.
    """
    if not obj.quarantined:
        upn = obj.attributes.get("userPrincipalName")
        if upn is None or type(upn) is str:
            return _ad_lookup_keys(obj) if obj.directory == "ad" else _entra_lookup_keys(obj)
    keys = {c.key for c in claims_of(obj)}
    keys |= target_keys_of(obj)
    return keys


def _entra_lookup_keys(obj: DirectoryObject) -> set[str]:
    """`all_lookup_keys` of an Entra object with no quarantined values and a text UPN (or none).

    What `claims_of` and `target_keys_of` both give (the UPN, `mail`, anchors, SIDs) is computed
    once, and the keys of ASCII values (nearly all of them) are built without calling `fold`.
    """
    attrs = obj.attributes
    get = attrs.get
    keys = {f"{ID}:{obj.id.lower()}"}
    add = keys.add
    # target_keys_of: any non-empty UPN; claims_of: only an active user's, a subset of it
    keys.update(_target_upn_keys(obj, get("userPrincipalName")))
    for address in values_of(get("proxyAddresses")):
        key = proxy_key(address)
        if key is not None:
            add(key)
    for mail in values_of(get("mail")):
        add(smtp_key(mail))
    for target in values_of(get("targetAddress")):
        add(target_address_key(target))
    if obj.kind == "user" or is_mail_enabled_group(obj):
        for nick in values_of(get("mailNickname")):
            add(alias_key(nick))
    for anchor in values_of(get("onPremisesImmutableId")):
        add(anchor_key(anchor))
    for sid in values_of(get("onPremisesSecurityIdentifier")):
        add(sid_key(sid))
    dn = get("distinguishedName")
    if dn:
        add(f"{DN}:{fold(str(dn))}")
    return keys


def _ad_lookup_keys(obj: DirectoryObject) -> set[str]:
    """`all_lookup_keys` of an AD object with no quarantined values and a text UPN (or none):
    `_ad_claims` under the default sync rules plus `target_keys_of`, in one pass."""
    attrs = obj.attributes
    get = attrs.get
    keys = {f"{ID}:{obj.id.lower()}"}
    add = keys.add
    upn = get("userPrincipalName")
    dn = str(get("distinguishedName") or "")
    if obj.kind == "user":
        for value in values_of(upn):
            add(ad_upn_key(value))
    domain = domain_of_dn(dn)
    if domain:
        for sam in values_of(get("sAMAccountName")):
            add(sam_key(domain, sam))
    if dn.strip():
        add(ad_dn_key(dn))
    if DEFAULT_SYNC.in_scope(obj):
        p = project(obj, DEFAULT_SYNC)
        if p.upn:
            add(upn_key(p.upn))
        for address in p.proxies:
            key = proxy_key(address)
            if key is not None:
                add(key)
        if p.mail:  # project keeps only a non-blank one
            add(smtp_key(p.mail))
        for target in p.target_addresses:
            add(target_address_key(target))
        if p.nickname and (obj.kind == "user" or is_mail_enabled_group(obj)):
            add(alias_key(p.nickname))
        if p.anchor:
            add(anchor_key(p.anchor))
    # target_keys_of and link_keys_of
    keys.update(_target_upn_keys(obj, upn))
    for mail in values_of(get("mail")):
        add(smtp_key(mail))
    if dn:
        add(f"{DN}:{fold(dn)}")
    for name in ("objectGUID", "mS-DS-ConsistencyGuid"):
        for guid in values_of(get(name)):
            immutable = guid_to_immutable_id(guid)
            if immutable:
                add(anchor_key(immutable))
    for anchor in values_of(get("sourceAnchor")):
        add(anchor_key(anchor))
    for sid in values_of(get("objectSid")):
        add(sid_key(sid))
    return keys


def keys_of_values(attribute: str, values: Iterable[str]) -> list[str]:
    """Claim keys that plan values of one attribute would claim (used to plan point look-ups)."""
    out: list[str] = []
    for v in values:
        if not str(v).strip():
            continue
        v = str(v)
        if attribute == "userPrincipalName":
            out.append(upn_key(v))
        elif attribute == "proxyAddresses":
            k = proxy_key(v)
            if k:
                out.append(k)
        elif attribute == "mail":
            out.append(smtp_key(v))
        elif attribute == "targetAddress":
            out.append(target_address_key(v))
        elif attribute == "mailNickname":
            out.append(alias_key(v))
        elif attribute == "onPremisesImmutableId":
            out.append(anchor_key(v))
        elif attribute == "onPremisesSecurityIdentifier":
            out.append(sid_key(v))
    return out


def moera_key(nickname: str, initial_domain: str) -> str:
    return smtp_key(f"{nickname}@{initial_domain}")
