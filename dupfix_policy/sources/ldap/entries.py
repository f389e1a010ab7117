"""Raw LDAP entries -> `DirectoryObject`s: decoding, object kinds, anchors and IdFix's skips.

Values are decoded from the raw octets the server sent, not through ldap3's schema-driven
formatters: the source reads the schema only for the few attributes it needs (not the whole
subschema ldap3 would parse), and decoding GUIDs and SIDs here makes their string forms exactly
the ones docs/semantics.md "The LDAP source" promises (`objectGUID` as ldap3 and PowerShell print it, without braces;
`objectSid` as `S-1-5-21-…`), whatever the server.
"""

from __future__ import annotations

import base64
import contextlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ...addresses import guid_to_immutable_id
from ...model import DirectoryObject

# The attributes the source reads (LDAP spelling), when the schema has them. Claim attributes
# first; then what links twins (objectGUID, objectSid, mS-DS-ConsistencyGuid), names people know,
# and what the skips and kinds need.
CLAIM_ATTRIBUTES: tuple[str, ...] = (
    "userPrincipalName", "proxyAddresses", "mail", "mailNickname", "targetAddress", "sAMAccountName",
)  # fmt: skip
READ_ATTRIBUTES: tuple[str, ...] = (
    *CLAIM_ATTRIBUTES,
    "objectGUID", "objectSid", "mS-DS-ConsistencyGuid", "objectClass", "displayName", "givenName",
    "groupType", "isCriticalSystemObject", "msExchRecipientTypeDetails",
)  # fmt: skip
# Attributes that only the Exchange schema extension adds (docs/semantics.md "Active Directory").
EXCHANGE_ATTRIBUTES: tuple[str, ...] = ("mailNickname", "targetAddress")
EXCHANGE_MARKERS: tuple[str, ...] = ("msExchRecipientTypeDetails", "msExchMailboxGuid")
SCHEMA_ATTRIBUTES: tuple[str, ...] = (*READ_ATTRIBUTES, "distinguishedName", *EXCHANGE_MARKERS)

_TEXT = ("userPrincipalName", "mail", "mailNickname", "targetAddress", "sAMAccountName", "displayName", "givenName")
CONSISTENCY_GUID = "mS-DS-ConsistencyGuid"
GROUP_TYPE_SECURITY = 0x80000000


def decode_guid(raw: bytes) -> str | None:
    """16 octets as AD stores a GUID -> `9c7a0b1e-3f2d-4c5b-8a69-0123456789ab`."""
    return str(uuid.UUID(bytes_le=bytes(raw))) if len(raw) == 16 else None


def decode_sid(raw: bytes) -> str | None:
    """A binary security identifier (MS-DTYP 2.4.2) -> `S-1-5-21-…`."""
    if len(raw) < 8 or raw[0] != 1:
        return None
    count = raw[1]
    if len(raw) != 8 + 4 * count:
        return None
    authority = int.from_bytes(raw[2:8], "big")
    subs = [int.from_bytes(raw[8 + 4 * i : 12 + 4 * i], "little") for i in range(count)]
    return "-".join(["S", str(raw[0]), str(authority), *map(str, subs)])


def _text(values: Sequence[bytes]) -> list[str]:
    return [bytes(v).decode("utf-8", "replace") for v in values]


def first_rdn_value(dn: str) -> str:
    """`CN=Smith\\, John,OU=Staff,…` -> `Smith\\, John` (still escaped; enough to test a suffix)."""
    end, escaped = len(dn), False
    for pos, ch in enumerate(dn):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            end = pos
            break
    _, _, value = dn[:end].partition("=")
    return value


# IdFix's `Constants.WellKnownExclusions` (microsoft/idfix src/IdFix/Settings/Constants.cs): an
# object whose CN starts with one of these (any case) is a system or service account that Entra
# Connect's default rules do not sync, so its values claim nothing in the cloud.
WELL_KNOWN_EXCLUSIONS: tuple[str, ...] = (
    "Admini", "CAS_{", "DiscoverySearchMailbox", "FederatedEmail", "Guest", "HTTPConnector", "krbtgt",
    "iusr_", "iwam", "msol", "support_", "SystemMailbox", "WWIOadmini", "HealthMailbox",
    "Exchange Online-ApplicationAccount",
)  # fmt: skip
# IdFix's MultiTenant skips by msExchRecipientTypeDetails (its MultiTenantRuleCollection.Skip):
# Exchange system recipients that never sync. IdFix compares the attribute's text with "0x1000"
# and so on, which never equals the decimal AD returns; dupfix compares the numbers.
EXCHANGE_SYSTEM_RECIPIENTS: dict[int, str] = {
    0x1000: "PublicFolder",
    0x2000: "SystemAttendantMailbox",
    0x4000: "SystemMailbox",
    0x400000: "MicrosoftExchange",
    0x800000: "ArbitrationMailbox",
    0x1000000: "MailboxPlan",
    0x20000000: "DiscoveryMailbox",
}
# IdFix's MultiTenant skips by sAMAccountName and mailNickname prefix (users only).
SAM_PREFIXES: tuple[str, ...] = ("CAS_", "SUPPORT_", "MSOL_")
ALIAS_PREFIXES: tuple[str, ...] = ("CAS_", "SYSTEMMAILBOX")


def _first(attributes: Mapping[str, Sequence[bytes]], name: str) -> str:
    values = attributes.get(name)
    return bytes(values[0]).decode("utf-8", "replace").strip() if values else ""


def skip_reason(dn: str, attributes: Mapping[str, Sequence[bytes]]) -> str | None:
    """Why IdFix would leave this object out (docs/idfix.md "Objects left out"), or None.

    `isCriticalSystemObject` (built-in accounts and groups), a CN ending in `$` (machine and
    trust accounts, gMSAs), replication-conflict objects (`CN=name\\0ACNF:<guid>`), a CN that
    starts with one of IdFix's `WellKnownExclusions`, an Exchange system recipient type, and
    users whose sAMAccountName or mailNickname has a system prefix. The LDAP source counts each
    reason and names the objects in its report note, so nothing is left out in silence.
    """
    critical = attributes.get("iscriticalsystemobject")
    if critical and bytes(critical[0]).upper() == b"TRUE":
        return "isCriticalSystemObject"
    cn = first_rdn_value(dn).strip()
    if cn.endswith("$"):
        return "CN ends with $"
    upper = dn.upper()
    if "\\0ACNF:" in upper or "\nCNF:" in upper:
        return "replication conflict (CNF:)"
    folded = cn.casefold()
    prefix = next((p for p in WELL_KNOWN_EXCLUSIONS if folded.startswith(p.casefold())), None)
    if prefix is not None:
        return f"CN starts with {prefix}"
    details = _first(attributes, "msexchrecipienttypedetails")
    if details:
        try:
            number = int(details, 0)
        except ValueError:
            number = None
        if number in EXCHANGE_SYSTEM_RECIPIENTS:
            return f"msExchRecipientTypeDetails {EXCHANGE_SYSTEM_RECIPIENTS[number]}"
    classes = {bytes(c).decode("utf-8", "replace").lower() for c in attributes.get("objectclass", ())}
    if "user" in classes and "computer" not in classes:
        sam = _first(attributes, "samaccountname").upper()
        alias = _first(attributes, "mailnickname").upper()
        if sam.startswith(SAM_PREFIXES):
            return f"sAMAccountName starts with {next(p for p in SAM_PREFIXES if sam.startswith(p))}"
        if alias.startswith(ALIAS_PREFIXES):
            return f"mailNickname starts with {next(p for p in ALIAS_PREFIXES if alias.startswith(p))}"
    return None


def object_skip_reason(obj: DirectoryObject) -> str | None:
    """`skip_reason` for an AD object another source already decoded (a snapshot, the cache): the
    audit leaves out what IdFix leaves out whichever source returned it. Entra objects: never."""
    if obj.directory != "ad":
        return None
    raw: dict[str, Sequence[bytes]] = {"objectclass": [obj.kind.encode()]}
    for name in ("sAMAccountName", "mailNickname", "msExchRecipientTypeDetails", "isCriticalSystemObject"):
        value = obj.get(name)
        if value not in (None, ""):
            raw[name.lower()] = [str(value).encode()]
    return skip_reason(str(obj.get("distinguishedName") or ""), raw)


def kind_of(object_classes: Sequence[str]) -> str | None:
    classes = {c.lower() for c in object_classes}
    if "computer" in classes:
        return None
    if "contact" in classes:
        return "contact"
    if "group" in classes:
        return "group"
    if "user" in classes:
        return "user"
    return None


@dataclass(frozen=True, slots=True)
class Decoded:
    """One entry, decoded: the object, or why it was skipped."""

    obj: DirectoryObject | None
    skipped: str | None = None


def lowered(raw: Mapping[str, Sequence[bytes]]) -> dict[str, Sequence[bytes]]:
    """Attribute names as sent, folded: servers answer in their own spelling."""
    return {name.lower(): values for name, values in raw.items() if values}


def decode_entry(dn: str, raw: Mapping[str, Sequence[bytes]], *, consistency_readable: bool = True) -> Decoded:
    """An entry (names lower-cased by `lowered`) as the `DirectoryObject` the engine works on.

    The object's id is its objectGUID; the DN is kept as `distinguishedName`. The source anchor
    Entra Connect would use is recorded as `sourceAnchor` (base64, what the Entra twin holds as
    `onPremisesImmutableId`) with `sourceAnchorAttribute` naming where it came from:
    `mS-DS-ConsistencyGuid` when set, else `objectGUID`. When the consistency GUID could not be
    read at all (`consistency_readable=False`: a Global Catalog without a domain controller to
    ask), the objectGUID is a fallback, and `sourceAnchorFallback: true` says so.
    """
    reason = skip_reason(dn, raw)
    if reason is not None:
        return Decoded(None, reason)
    kind = kind_of(_text(raw.get("objectclass", ())))
    if kind is None:
        return Decoded(None, "not a user, group or contact")
    guid_raw = raw.get("objectguid")
    guid = decode_guid(bytes(guid_raw[0])) if guid_raw else None
    if guid is None:
        return Decoded(None, "no objectGUID")
    attrs: dict[str, object] = {"distinguishedName": dn, "objectGUID": guid}
    for name in _TEXT:
        values = raw.get(name.lower())
        if values:
            attrs[name] = _text(values)[0]
    proxies = raw.get("proxyaddresses")
    if proxies:
        attrs["proxyAddresses"] = tuple(_text(proxies))
    sid_raw = raw.get("objectsid")
    sid = decode_sid(bytes(sid_raw[0])) if sid_raw else None
    if sid:
        attrs["objectSid"] = sid
    consistency = raw.get(CONSISTENCY_GUID.lower())
    consistency_guid = decode_guid(bytes(consistency[0])) if consistency else None
    if consistency_guid:
        attrs[CONSISTENCY_GUID] = consistency_guid
        attrs["sourceAnchor"] = guid_to_immutable_id(consistency_guid)
        attrs["sourceAnchorAttribute"] = CONSISTENCY_GUID
    elif consistency:
        # Not a GUID (set by hand?): Entra Connect would still use its octets as the anchor.
        attrs["sourceAnchor"] = base64.b64encode(bytes(consistency[0])).decode("ascii")
        attrs["sourceAnchorAttribute"] = CONSISTENCY_GUID
    else:
        attrs["sourceAnchor"] = guid_to_immutable_id(guid)
        attrs["sourceAnchorAttribute"] = "objectGUID"
        if not consistency_readable:
            attrs["sourceAnchorFallback"] = True
    if kind == "group":
        group_type = raw.get("grouptype")
        if group_type:
            with contextlib.suppress(ValueError):
                attrs["securityEnabled"] = bool(int(bytes(group_type[0])) & GROUP_TYPE_SECURITY)
        # On-prem, a group is mail-enabled when it has an address (Exchange gives it mail and
        # proxyAddresses); that is also how Entra Connect decides mailEnabled for a synced group.
        attrs["mailEnabled"] = bool(attrs.get("mail") or attrs.get("proxyAddresses"))
    return Decoded(DirectoryObject(guid, kind, "ad", "active", attrs))
