"""Attribute values as directories and plans write them: lists or single strings, typed proxy
addresses, GUIDs in AD's byte order and Entra's base64 anchors.

The lowest layer of parsing, shared by `projection.py` (what sync writes) and `addresses.py` (claim
keys), and by the LDAP source. Pure, and free of `uuid` (it pulls in `platform` at every start).
"""

from __future__ import annotations

import binascii
import functools


def values_of(value: object) -> tuple[str, ...]:
    """An attribute's non-blank values as strings, whether it holds one value or a list.

    Called for every attribute of every object of a cache fill or an audit: strings, the common
    case, skip the conversions."""
    if type(value) is str:
        return (value,) if value.strip() else ()
    if value is None:
        return ()
    if isinstance(value, (list, tuple, set, frozenset)):
        texts = (v if type(v) is str else str(v) for v in value if v is not None)
        return tuple(t for t in texts if t.strip())
    text = str(value)
    return (text,) if text.strip() else ()


def split_proxy(address: str) -> tuple[str, str] | None:
    """`SMTP:alice@contoso.com` -> ("smtp", "alice@contoso.com"); None when there is no type."""
    text = address.strip()
    prefix, sep, rest = text.partition(":")
    if not sep or not prefix or not rest:
        return None
    # A letters-and-digits type (smtp, X500, sip) has neither space nor "@": no need to look.
    if not prefix.isalnum() and (any(c.isspace() for c in prefix) or "@" in prefix):
        return None
    return prefix.lower(), rest.strip()


def guid_bytes_le(guid: str) -> bytes:
    """A GUID string's 16 bytes in AD's (Microsoft's mixed-endian) order, as `uuid.UUID(guid).bytes_le`
    gives them. ValueError if it is not a GUID."""
    text = guid.strip().replace("urn:", "").replace("uuid:", "").strip("{}").replace("-", "")
    if len(text) != 32:
        raise ValueError(f"not a GUID: {guid!r}")
    raw = bytes.fromhex(text)
    return raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]


def guid_from_bytes_le(raw: bytes) -> str:
    """`str(uuid.UUID(bytes_le=raw))`: the GUID string AD tools show for 16 mixed-endian bytes."""
    if len(raw) != 16:
        raise ValueError("a GUID is 16 bytes")
    b = raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@functools.lru_cache(maxsize=4)
def guid_to_immutable_id(guid: str) -> str | None:
    """AD GUID string -> the base64 `onPremisesImmutableId` Entra stores for it (bytes_le order).

    Remembers the last few: an AD object's look-up keys convert its objectGUID twice, once for the
    anchor sync gives its twin and once for the link to that twin (a cache fill, a million times)."""
    try:
        return binascii.b2a_base64(guid_bytes_le(guid), newline=False).decode("ascii")
    except (ValueError, AttributeError):
        return None


def immutable_id_to_guid(immutable_id: str) -> str | None:
    import base64  # here, not at the top: only hard matches need it (start-up, issue 14)

    try:
        raw = base64.b64decode(immutable_id.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 16:
        return None
    return guid_from_bytes_le(raw)
