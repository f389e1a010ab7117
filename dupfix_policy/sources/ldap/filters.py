"""Claim keys and targets -> LDAP search filters: the point look-ups of the LDAP source.

The engine speaks in claim keys (`upn:alice@contoso.com`, `proxy:smtp:…`, `anchor:<base64>`, see
`addresses.py`); Active Directory is asked in attribute assertions. This module is the one place
that translates between the two, and the one place that builds filter text, so every value that
reaches a filter goes through `escape` (RFC 4515: `*`, `(`, `)`, `\\` and NUL become `\\2a`,
`\\28`, `\\29`, `\\5c`, `\\00`) or `escape_octets` (binary GUIDs): a value can never change the
filter's structure, whatever it holds.

Assertions are OR-ed into chunks of at most `MAX_CLAUSES`, so a thousand-change plan costs a
handful of searches, not a thousand. AD compares the string attributes used here without case
(`proxyAddresses=smtp:X` finds `SMTP:x`), so the folded value in a key is a valid assertion.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from ldap3.utils.conv import escape_filter_chars

from ... import addresses
from ...addresses import target_key
from ...model import Target
from ...values import guid_bytes_le

# Users, contacts (both objectCategory=person) and groups: what Entra Connect syncs and IdFix reads.
OBJECT_FILTER = "(|(objectCategory=person)(objectCategory=group))"

# A search carries at most this many assertions: ~60 KB of filter, well inside AD's 10 MB
# MaxReceiveBuffer; measured on Samba, 2,000 assertions over 10k objects answer in about 0.3 s.
MAX_CLAUSES = 2000

_SID = re.compile(r"^S-1(-\d+){1,15}$", re.IGNORECASE)


def escape(value: str) -> str:
    """RFC 4515 escaping of an assertion value (ldap3's implementation)."""
    return escape_filter_chars(value)


def escape_octets(raw: bytes) -> str:
    """Every octet as `\\hh`: how a binary value (objectGUID, mS-DS-ConsistencyGuid) is asserted."""
    return "".join(f"\\{b:02x}" for b in raw)


@dataclass(frozen=True, slots=True, order=True)
class Assertion:
    """`(attribute=value)` with the value already escaped; `attribute` in its LDAP spelling."""

    attribute: str
    value: str

    @property
    def text(self) -> str:
        return f"({self.attribute}={self.value})"


def _guid_octets(text: str) -> bytes | None:
    try:
        return guid_bytes_le(text)
    except (ValueError, AttributeError):
        return None


def _anchor_octets(anchor: str) -> bytes | None:
    """An Entra `onPremisesImmutableId` back to the 16 bytes AD stores (objectGUID byte order)."""
    try:
        raw = base64.b64decode(anchor.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 16 else None


def assertions_for_key(key: str) -> list[Assertion]:
    """The assertions that find every AD object holding `key` (empty: no AD object can).

    `proxy:smtp:x` is also looked for in `mail` (mail claims `proxy:smtp:`) and in `targetAddress`,
    typed and bare (a targetAddress is an address like any other; a bare one is read as smtp:),
    `sam:<domain>\\<name>` by the name alone (the domain comes from the holder's DN, compared by
    the engine). AD-side keys (`adupn:`, `sam:`, `addn:`) carry the value without diacritics: AD
    itself compares without them (KB 938447), so the server returns every spelling, and the
    engine keeps what it returns (`addresses.ad_fold` is the same comparison).
    """
    ns, _, rest = key.partition(":")
    if ns in (addresses.UPN, addresses.ADUPN):
        return [Assertion("userPrincipalName", escape(rest))]
    if ns == addresses.ADDN:
        return [Assertion("distinguishedName", escape(rest))] if rest.strip() else []
    if ns == addresses.PROXY:
        kind, sep, value = rest.partition(":")
        if not sep:
            return []
        found = [Assertion("proxyAddresses", escape(f"{kind}:{value}"))]
        found.append(Assertion("targetAddress", escape(f"{kind}:{value}")))
        if kind == "smtp":
            found.append(Assertion("mail", escape(value)))
            found.append(Assertion("targetAddress", escape(value)))
        return found
    if ns == addresses.ALIAS:
        return [Assertion("mailNickname", escape(rest))]
    if ns == addresses.SAM:
        _, sep, name = rest.rpartition("\\")
        return [Assertion("sAMAccountName", escape(name))] if sep and name else []
    if ns == addresses.ANCHOR:
        raw = _anchor_octets(rest)
        if raw is None:
            return []
        return [Assertion("objectGUID", escape_octets(raw)), Assertion("mS-DS-ConsistencyGuid", escape_octets(raw))]
    if ns == addresses.SID:
        return [Assertion("objectSid", escape(rest.upper()))] if _SID.match(rest) else []
    if ns == addresses.ID:
        raw = _guid_octets(rest)
        return [Assertion("objectGUID", escape_octets(raw))] if raw is not None else []
    if ns == addresses.DN:
        return [Assertion("distinguishedName", escape(rest))] if rest.strip() else []
    return []


def assertions_for_target(target: Target) -> list[Assertion]:
    """A change's target (`userPrincipalName`, `objectGUID`, `distinguishedName`, …) as assertions."""
    if target.attribute == "distinguishedName":
        # The DN as written (the key folds it); AD compares DNs without case either way.
        return [Assertion("distinguishedName", escape(target.value.strip()))] if target.value.strip() else []
    try:
        key = target_key(target)
    except ValueError:
        return []
    return assertions_for_key(key)


def any_of(assertions: Iterable[Assertion]) -> str:
    items = sorted(set(assertions))
    if len(items) == 1:
        return items[0].text
    return "(|" + "".join(a.text for a in items) + ")"


def object_filter(assertions: Sequence[Assertion]) -> str:
    """Users, groups and contacts matching any of `assertions`."""
    return f"(&{OBJECT_FILTER}{any_of(assertions)})"


def chunks(assertions: Iterable[Assertion], size: int = MAX_CLAUSES) -> Iterator[list[Assertion]]:
    """Distinct assertions in stable order, `size` at a time."""
    items = sorted(set(assertions))
    for start in range(0, len(items), size):
        yield items[start : start + size]
