"""One record codec for every stored form of a `DirectoryObject`: snapshot lines and cache rows.

A snapshot line is a JSON object (`object_record` / `object_line` write it, `object_problem`
validates it like `#/$defs/object` of snapshot.schema.json, `record_to_object` reads it); a cache
row is the compact form of the same record (`encode_record` / `decode_record`: known attribute
names as small integers, the state in its own column). Both read attribute names through
`model.canonical_attribute` and multi-valued attributes as tuples, so an object read back from
either store is the object that was written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..model import DIRECTORIES, KINDS, KNOWN_ATTRIBUTES, DirectoryObject, Quarantined, canonical_attribute

STATES: tuple[str, ...] = ("active", "soft-deleted")

QUARANTINE_PROPERTIES: tuple[str, ...] = ("UserPrincipalName", "ProxyAddress")

_FIXED_FIELDS = frozenset({"id", "kind", "directory", "state", "quarantined"})
KNOWN_ATTRIBUTES_SET = frozenset(KNOWN_ATTRIBUTES)

# Attribute types of `#/$defs/object` in snapshot.schema.json, by canonical name.
TEXT_ATTRIBUTES = frozenset(
    {
        "userPrincipalName", "mail", "mailNickname", "targetAddress", "sAMAccountName",
        "onPremisesImmutableId", "onPremisesSecurityIdentifier", "onPremisesDomainName",
        "onPremisesSamAccountName", "objectSid", "distinguishedName", "displayName", "givenName",
        "surname", "userType",
    }
)  # fmt: skip

LIST_ATTRIBUTES = frozenset({"proxyAddresses", "otherMails", "groupTypes"})

FLAG_ATTRIBUTES = frozenset({"mailEnabled", "securityEnabled", "accountEnabled"})

GUID_ATTRIBUTES = frozenset({"objectGUID", "mS-DS-ConsistencyGuid"})

GUID_PATTERN = re.compile(
    r"^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$"
)

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


class JsonProblem(ValueError):
    """Valid JSON syntax that a snapshot may still not contain (duplicate keys, lone surrogates)."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` refusing duplicate keys: `json.loads` keeps the last one silently,
    which would let `{"userPrincipalName": "a", "userPrincipalName": "b"}` hide `a` from a check."""
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonProblem(f"the key {key!r} appears twice in one object")
            seen.add(key)
    return record


def _strings_in(value: Any) -> int:
    """Keys and string values in a parsed JSON value, nested ones included."""
    if type(value) is dict:
        n = len(value)
        for v in value.values():
            n += 1 if type(v) is str else (_strings_in(v) if type(v) in (dict, list) else 0)
        return n
    if type(value) is list:
        return sum(1 if type(v) is str else (_strings_in(v) if type(v) in (dict, list) else 0) for v in value)
    return 0


def strict_loads(data: bytes) -> Any:
    """`json.loads` that also refuses duplicate keys and lone surrogates (`"\\ud800"`).

    Lone surrogates decode fine but can't be encoded again, so they would crash whatever prints or
    writes the value later; they are looked for only when the raw text has such an escape.
    Raises ValueError (JSONDecodeError, JsonProblem, or Python's integer digit limit).

    Fast path (most lines of a snapshot, ~40 % of the parse): text without a backslash has no
    escapes, so every `"` delimits a string and the text holds exactly `count('"') / 2` strings;
    parsed without the duplicate check, the value holds as many keys and string values unless
    a duplicate key dropped one (and its value). Only text that fails this count, or has a
    backslash, is parsed again with the check, which then names the key.
    """
    if b"\\" not in data:
        value = json.loads(data)
        if _strings_in(value) * 2 == data.count(b'"'):
            return value
    value = json.loads(data, object_pairs_hook=_unique_pairs)
    if _SURROGATE_ESCAPE.search(data):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise JsonProblem("a string holds a lone UTF-16 surrogate (\\ud800-\\udfff)") from None
    return value


def object_problem(record: Any) -> tuple[str, str] | None:
    """(field, message) for the first way `record` breaks `#/$defs/object`, else None.

    A hand-written twin of the schema, because `scan()` validates every line of a
    million-object snapshot. Names are matched case-insensitively (`canonical_attribute`), which
    the schema can't say; otherwise it accepts exactly what the schema accepts.
    """
    if type(record) is not dict:
        return "", "each object must be a JSON object"
    ident = record.get("id")
    if type(ident) is not str or not ident:
        return "id", "required: a non-empty string (the object id; for AD objects the objectGUID)"
    if record.get("kind") not in KINDS:
        return "kind", f"must be one of {', '.join(KINDS)} (got {record.get('kind')!r})"
    if record.get("directory") not in DIRECTORIES:
        return "directory", f"must be one of {', '.join(DIRECTORIES)} (got {record.get('directory')!r})"
    if "state" in record and record["state"] not in STATES:
        return "state", f"must be one of {', '.join(STATES)} (got {record['state']!r})"
    quarantined = record.get("quarantined")
    if quarantined is not None or "quarantined" in record:
        if type(quarantined) is not list:
            return "quarantined", "must be a list of {property, value} objects"
        for i, item in enumerate(quarantined):
            if type(item) is not dict:
                return f"quarantined[{i}]", "must be an object with property and value"
            if item.get("property") not in QUARANTINE_PROPERTIES:
                return f"quarantined[{i}].property", f"must be one of {', '.join(QUARANTINE_PROPERTIES)}"
            value = item.get("value")
            if type(value) is not str or not value:
                return f"quarantined[{i}].value", "required: a non-empty string"
    seen: dict[str, str] = {}
    for name, value in record.items():
        if name in _FIXED_FIELDS:
            continue
        canon = name if name in KNOWN_ATTRIBUTES_SET else canonical_attribute(name)
        if canon in seen:
            return name, f"given twice (as {seen[canon]!r} and {name!r}); attribute names ignore case"
        seen[canon] = name
        if value is None:
            continue
        if canon in TEXT_ATTRIBUTES:
            if type(value) is not str:
                return name, f"must be a string (got {type(value).__name__})"
        elif canon in LIST_ATTRIBUTES:
            if type(value) is not list or any(type(v) is not str for v in value):
                return name, "must be a list of strings"
        elif canon in FLAG_ATTRIBUTES:
            if type(value) is not bool:
                return name, f"must be true or false (got {value!r})"
        elif canon in GUID_ATTRIBUTES and (type(value) is not str or not GUID_PATTERN.search(value)):
            return name, f"must be a GUID such as 9c7a0b1e-3f2d-4c5b-8a69-0123456789ab (got {value!r})"
    return None


# What `plain_line_object` accepts under each name, in one table (a line holds a dozen names).
_FIXED, _TEXT, _LIST, _FLAG, _GUID, _ANY = "fixed", "text", "list", "flag", "guid", "any"
_LINE_SHAPE: dict[str, str] = {
    name: (
        _FIXED if name in _FIXED_FIELDS
        else _LIST if name in LIST_ATTRIBUTES
        else _FLAG if name in FLAG_ATTRIBUTES
        else _GUID if name in GUID_ATTRIBUTES
        else _TEXT if name in TEXT_ATTRIBUTES
        else _ANY
    )
    for name in (*KNOWN_ATTRIBUTES_SET, *_FIXED_FIELDS)
}  # fmt: skip


def plain_line_object(data: bytes) -> DirectoryObject | None:
    """The object of a snapshot line in the common shape, parsed and validated in one pass; None
    for anything else, which `strict_loads` + `object_problem` + `record_to_object` then judge
    (and name the problem of). Most lines of a snapshot take this path (a cache fill reads a
    million): it accepts only what that path accepts and gives the same object (a property test
    holds the two equal).

    The common shape: no backslash (so no escapes: every `"` delimits a string, and the strings
    the text holds can be counted, which proves no key was given twice), no `quarantined`, and
    every attribute named as dupfix writes it (`model.KNOWN_ATTRIBUTES`) with a value of its type.
    """
    if b"\\" in data:
        return None
    try:
        record = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if type(record) is not dict:
        return None
    ident = record.get("id")
    kind = record.get("kind")
    directory = record.get("directory")
    state = record.get("state", "active")
    if (
        type(ident) is not str or not ident or kind not in KINDS or directory not in DIRECTORIES
        or state not in STATES or "quarantined" in record
    ):  # fmt: skip
        return None
    strings = len(record)
    attributes: dict[str, Any] = {}
    for name, value in record.items():
        shape = _LINE_SHAPE.get(name)  # one look-up: what the name may hold, or not a known name
        t = type(value)
        if t is str:
            strings += 1
            if shape is _TEXT or shape is _ANY:
                attributes[name] = value
                continue
        if shape is None:
            return None
        if shape is _FIXED:
            continue
        if value is None:
            attributes[name] = None
        elif shape is _LIST:
            if t is not list or any(type(v) is not str for v in value):
                return None
            strings += len(value)
            attributes[name] = tuple(value)
        elif shape is _FLAG:
            if t is not bool:
                return None
            attributes[name] = value
        elif shape is _GUID:
            if t is not str or not GUID_PATTERN.search(value):
                return None
            attributes[name] = value
        elif shape is _ANY and t is not list and t is not dict:
            attributes[name] = value
        else:
            return None
    if strings * 2 != data.count(b'"'):
        return None  # a key given twice (or a shape counted otherwise): the exact path decides
    return DirectoryObject(ident, kind, directory, state, attributes, ())


def record_to_object(record: Mapping[str, Any]) -> DirectoryObject:
    """A validated snapshot record as the `DirectoryObject` the engine works on."""
    attributes: dict[str, Any] = {}
    for name, value in record.items():
        if name in _FIXED_FIELDS:
            continue
        if name not in KNOWN_ATTRIBUTES_SET:  # names as dupfix writes them need no look-up
            name = canonical_attribute(name)
        attributes[name] = tuple(value) if type(value) is list else value
    quarantined = tuple(Quarantined(q["property"], q["value"]) for q in record.get("quarantined") or ())
    state = record.get("state", "active")
    return DirectoryObject(record["id"], record["kind"], record["directory"], state, attributes, quarantined)


# --- snapshot lines, written ------------------------------------------------------------------


def _line_default(value: object) -> Any:
    """Refuse what JSON can't hold faithfully (bytes GUIDs, datetimes) instead of writing `repr`.

    A live source must convert such values to their documented string form first; a silent
    `str()` would write `b'\\x1e...'` where a GUID belongs and the snapshot would lie.
    """
    if isinstance(value, (tuple, frozenset, set)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} to a snapshot")


def dumps_line(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_line_default)


def object_record(obj: DirectoryObject) -> dict[str, Any]:
    """The snapshot record of one object, keys in the stable order the format promises."""
    record: dict[str, Any] = {"id": obj.id, "kind": obj.kind, "directory": obj.directory, "state": obj.state}
    for name in sorted(obj.attributes):
        if name in _FIXED_FIELDS:
            raise ValueError(f"object {obj.id}: attribute name {name!r} is reserved by the snapshot format")
        value = obj.attributes[name]
        record[name] = list(value) if isinstance(value, tuple) else value
    if obj.quarantined:
        record["quarantined"] = [{"property": q.property, "value": q.value} for q in obj.quarantined]
    return record


def object_line(obj: DirectoryObject) -> str:
    """One object as a single JSON line (no newline), exactly as `write_snapshot` writes it."""
    try:
        return dumps_line(object_record(obj))
    except TypeError as exc:
        raise ValueError(f"object {obj.directory}:{obj.id}: {exc}") from exc


# --- cache rows ------------------------------------------------------------------------------


class CacheDamaged(ValueError):
    """The cache file is SQLite with our tables, but a value in it is not what sync writes."""


# The record codec's attribute names, coded by position. Part of the file format: append only,
# and bump SCHEMA_VERSION when it changes. Names not listed are stored as they are.
CODED_NAMES: tuple[str, ...] = (
    "userPrincipalName", "proxyAddresses", "mail", "mailNickname", "mailEnabled", "groupTypes",
    "targetAddress", "displayName", "givenName", "sAMAccountName", "onPremisesImmutableId",
    "onPremisesSecurityIdentifier", "objectGUID", "objectSid", "mS-DS-ConsistencyGuid",
    "distinguishedName", "userType", "otherMails", "onPremisesDomainName", "onPremisesSamAccountName",
    "securityEnabled", "surname", "accountEnabled", "sourceAnchor", "userAccountControl", "description",
)  # fmt: skip

_NAME_CODE = {name: i for i, name in enumerate(CODED_NAMES)}


def _row_default(value: object) -> object:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} value {value!r} in the state cache")


_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_row_default)
# `JSONEncoder.encode` makes a new C encoder for every call; one made once, as `encode` would make
# it (no circular check: a record is a few flat lists), halves a record's encoding time (4.6 ->
# 2.4 µs), which a million-object fill pays a million times. None where `_json` is missing.
_c_encoder = getattr(json.encoder, "c_make_encoder", None)
_row_chunks = (
    _c_encoder(None, _row_default, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    if _c_encoder is not None
    else None
)


def encode_record(obj: DirectoryObject) -> str:
    """One object in the cache's compact form: `[id, kind, directory, [name, value, ...], quarantined]`.

    About half a snapshot line: the state lives in its own column and known attribute names are
    small integers. `decode_record` gives back exactly what `snapshot.record_to_object` would.
    """
    flat: list[object] = []
    attributes = obj.attributes
    for name in sorted(attributes):  # one object, one encoding: `_replace_state` compares them
        flat.append(_NAME_CODE.get(name, name))
        flat.append(attributes[name])
    row: list[object] = [obj.id, obj.kind, obj.directory, flat]
    if obj.quarantined:
        row.append([[q.property, q.value] for q in obj.quarantined])
    try:
        return "".join(_row_chunks(row, 0)) if _row_chunks is not None else _encoder.encode(row)
    except TypeError as exc:
        raise ValueError(f"object {obj.directory}:{obj.id}: {exc}") from exc


def decode_record(record: str, state: str) -> DirectoryObject:
    """The object `encode_record` stored. Anything else in the row (a damaged or foreign file) is
    `CacheDamaged` (exit 3), never a crash: every part is checked for what sync writes."""
    if not isinstance(record, str) or state not in ("active", "soft-deleted"):
        raise CacheDamaged(f"an object row holds {type(record).__name__} / state {state!r}, not what sync writes")
    data = json.loads(record)
    if (
        not isinstance(data, list)
        or len(data) not in (4, 5)
        or not all(isinstance(x, str) for x in data[:3])
        or data[1] not in ("user", "group", "contact")
        or data[2] not in DIRECTORIES
        or not isinstance(data[3], list)
        or len(data[3]) % 2
    ):
        raise CacheDamaged("an object record is not `[id, kind, directory, [name, value, ...]]`")
    flat = data[3]
    attributes: dict[str, object] = {}
    for i in range(0, len(flat), 2):
        name = flat[i]
        value = flat[i + 1]
        if type(name) is int:
            if not 0 <= name < len(CODED_NAMES):
                raise CacheDamaged(f"an object record names attribute number {name}, which the cache never writes")
            name = CODED_NAMES[name]
        elif not isinstance(name, str):
            raise CacheDamaged("an object record has an attribute name that is neither text nor a number")
        attributes[canonical_attribute(name)] = tuple(value) if type(value) is list else value
    quarantined: tuple[Quarantined, ...] = ()
    if len(data) > 4:
        pairs = data[4]
        if not isinstance(pairs, list) or not all(
            isinstance(q, list) and len(q) == 2 and all(isinstance(x, str) for x in q) for q in pairs
        ):
            raise CacheDamaged("an object record's quarantined values are not [property, value] pairs")
        quarantined = tuple(Quarantined(p, v) for p, v in pairs)
    return DirectoryObject(data[0], data[1], data[2], state, attributes, quarantined)
