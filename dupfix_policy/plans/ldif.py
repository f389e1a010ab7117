"""LDIF change files (RFC 2849) as ldifde writes and reads them: the on-prem AD plan format.

Why our own parser: the `ldif` package (4.3.0) crashes on the `-` line that ends each block of a
modify record, which is exactly the record that matters here; and a finding must name the line a
value came from, which no parser at hand keeps. RFC 2849 in short: an optional `version: 1`
first; records separated by blank lines; `#` starts a comment line; a line starting with one space
continues the line before it; `attr:: <base64>` for values that are not safe text (ldifde writes
non-ASCII values that way); `changetype: add | delete | modify | moddn | modrdn`; in a modify,
`add:` / `delete:` / `replace:` blocks each end with a line holding `-`. ldifde reads a file as
Unicode when it starts with a byte-order mark or is given `-u` (its exports then are UTF-16).

Every record targets the object by its DN, in AD (`directory: ad`): an add is a `create` whose
`objectClass` gives the kind (computers, OUs and other objects are skipped with a note), a modify
an `update`, a delete a `delete`, a moddn an `update` of `distinguishedName`. ldifde's schema
changetypes (`ntdsSchemaAdd`, ...) are skipped with a note.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserInputError
from ..model import (
    JUDGED_ATTRIBUTES,
    KNOWN_ATTRIBUTES,
    MULTI_VALUED,
    Change,
    Location,
    Plan,
    Target,
    canonical_attribute,
)
from . import suppression
from ._text import decode_text, head_text, lines_of, read_bytes

NAME = "ldif"
EXTENSIONS = (".ldif", ".ldf")
_ATTR_LINE = re.compile(
    r"^(?P<attr>[A-Za-z0-9][A-Za-z0-9.\-]*(?:;[A-Za-z0-9\-]+)*)[ \t]*(?P<sep>::|:<|:)(?P<value>.*)$"
)
_DN_START = re.compile(r"^dn[ \t]*::?", re.IGNORECASE)
MOD_VERBS = ("add", "delete", "replace")
CHANGETYPES = ("add", "delete", "modify", "moddn", "modrdn")
SCHEMA_CHANGETYPES = ("ntdsschemaadd", "ntdsschemamodify", "ntdsschemadelete")
USER_CLASSES = frozenset({"user", "inetorgperson", "person", "organizationalperson"})
# Binary attributes ldifde writes as base64 and the checker can read: GUIDs and the SID.
GUID_ATTRIBUTES = frozenset({"objectguid", "ms-ds-consistencyguid"})
GROUP_HINTS = frozenset({"member", "grouptype"})
# RFC 4512 lets an attribute be named by its OID (`1.2.840.113556.1.4.656: a@x`); read as such it
# would be a custom attribute nobody checks. The OIDs of the attributes dupfix reads (AD schema).
OID_NAMES: dict[str, str] = {
    "1.2.840.113556.1.4.656": "userPrincipalName",
    "1.2.840.113556.1.2.210": "proxyAddresses",
    "0.9.2342.19200300.100.1.3": "mail",
    "1.2.840.113556.1.2.447": "mailNickname",
    "1.2.840.113556.1.2.352": "targetAddress",
    "1.2.840.113556.1.4.221": "sAMAccountName",
    "1.2.840.113556.1.2.13": "displayName",
    "2.5.4.42": "givenName",
    "2.5.4.4": "sn",
    "2.5.4.3": "cn",
    "2.5.4.0": "objectClass",
    "2.5.4.49": "distinguishedName",
    "2.5.4.31": "member",
    "1.2.840.113556.1.4.750": "groupType",
    "1.2.840.113556.1.4.2": "objectGUID",
    "1.2.840.113556.1.4.146": "objectSid",
    "1.2.840.113556.1.4.1360": "mS-DS-ConsistencyGuid",
}
_NUMERIC_OID = re.compile(r"^(?:oid\.)?([0-9]+(?:\.[0-9]+)+)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Line:
    """One logical line (folded continuations joined), numbered by its first physical line."""

    number: int
    text: str


@dataclass(slots=True)
class Paragraph:
    """The lines between blank lines: comments apart, with their line numbers."""

    lines: list[Line] = field(default_factory=list)
    comments: list[Line] = field(default_factory=list)
    blank_before: int | None = None  # the physical line number of the blank line that started it


@dataclass(frozen=True, slots=True)
class Value:
    attribute: str  # canonical name
    text: str | None  # None: a binary value the checker cannot read
    line: int


def detect(path: str, head: bytes) -> bool:
    """`.ldf`/`.ldif`, or any file whose first record line (after comments and `version:`) is `dn:`."""
    if path.lower().endswith(EXTENSIONS):
        return True
    if not path.lower().endswith((".txt", ".ldi")):
        return False
    for raw in lines_of(head_text(head))[:50]:
        text = raw.strip()
        if not text or text.startswith("#") or text.lower().startswith("version:"):
            continue
        return bool(_DN_START.match(text))
    return False


def load(path: str, options: Mapping[str, Any] | None = None) -> Plan:
    text = decode_text(read_bytes(path, "LDIF"), path, kind="LDIF")
    paragraphs = _paragraphs(lines_of(text), path)
    _check_cut_records(paragraphs, path)
    reader = _Reader(path)
    changes: list[Change] = []
    for paragraph in paragraphs:
        change = reader.record(paragraph, len(changes))
        if change is not None:
            changes.append(change)
    if not changes and not reader.notes:
        raise UserInputError(
            "the LDIF file has no records",
            location=Location(path, 1, 1),
            hint="each record starts with `dn: <distinguished name>`; ldifde -f writes them",
        )
    return Plan(path=path, format=NAME, changes=tuple(changes), notes=tuple(reader.notes))


def _paragraphs(physical: list[str], path: str) -> list[Paragraph]:
    """Unfold continuation lines, drop `version: 1`, and split into records at blank lines."""
    logical: list[Line | int] = []  # an int marks a blank line: its number
    folded: list[str] = []  # continuations of logical[-1], joined once: `+=` per line is quadratic
    for n, raw in enumerate(physical, start=1):
        if raw.startswith(" "):
            previous = logical[-1] if logical else None
            if not isinstance(previous, Line):
                if not raw.strip():
                    logical.append(n)
                    continue
                raise UserInputError(
                    "a continuation line (starting with a space) follows no line",
                    location=Location(path, n, 1),
                    hint="remove the leading space, or join it to the line it continues",
                )
            folded.append(raw[1:])
            continue
        if folded:
            _unfold(logical, folded)
        logical.append(Line(n, raw) if raw.strip() else n)
    if folded:
        _unfold(logical, folded)
    out: list[Paragraph] = []
    current = Paragraph()
    version_seen = False
    for line in logical:
        if isinstance(line, int):
            if current.lines or current.comments:
                out.append(current)
                current = Paragraph(blank_before=line)
            elif current.blank_before is None:
                current.blank_before = line
            continue
        if line.text.startswith("#"):
            current.comments.append(line)
            continue
        if not version_seen and not out and not current.lines and line.text.lower().startswith("version:"):
            version_seen = True
            _check_version(line, path)
            continue
        current.lines.append(line)
    if current.lines or current.comments:
        out.append(current)
    return [p for p in out if p.lines]


def _check_cut_records(paragraphs: list[Paragraph], path: str) -> None:
    """A record a blank line cut in two: its second half starts without `dn:`. Said before any
    record is read, so the first half (which may look complete) cannot mislead the message."""
    for previous, paragraph in itertools.pairwise(paragraphs):
        head = paragraph.lines[0]
        if _DN_START.match(head.text) or not _DN_START.match(previous.lines[0].text):
            continue
        blank = paragraph.blank_before
        at = f"the blank line at line {blank}" if blank else "a blank line"
        raise UserInputError(
            f"line {head.number} ({head.text[:40]!r}) continues the record that starts at line "
            f"{previous.lines[0].number}, but {at} ended that record there",
            location=Location(path, blank or head.number, 1),
            hint="in LDIF a blank line ends a record: delete the blank line, or start a new record with dn:",
        )


def _unfold(logical: list[Line | int], folded: list[str]) -> None:
    """Join the continuation lines collected for the last logical line onto it, once."""
    last = logical[-1]
    assert isinstance(last, Line)
    logical[-1] = Line(last.number, last.text + "".join(folded))
    folded.clear()


def _check_version(line: Line, path: str) -> None:
    value = line.text.split(":", 1)[1].strip()
    if value != "1":
        raise UserInputError(
            f"LDIF version {value!r} is not supported",
            location=Location(path, line.number, 1),
            hint="RFC 2849 defines `version: 1`; remove the line or write `version: 1`",
        )


def _sid_string(raw: bytes) -> str | None:
    """A binary objectSid as `S-1-5-21-...` (the form snapshots and Entra use)."""
    if len(raw) < 8 or raw[0] != 1 or len(raw) != 8 + 4 * raw[1]:
        return None
    authority = int.from_bytes(raw[2:8], "big")
    subs = [int.from_bytes(raw[8 + 4 * i : 12 + 4 * i], "little") for i in range(raw[1])]
    return "S-1-" + "-".join(str(x) for x in [authority, *subs])


def split_dn(dn: str) -> tuple[str, str]:
    """`CN=A\\, B,OU=Staff,DC=x` -> (`CN=A\\, B`, `OU=Staff,DC=x`): the first RDN and the parent."""
    escaped = False
    for i, ch in enumerate(dn):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            return dn[:i].strip(), dn[i + 1 :].strip()
    return dn.strip(), ""


class _Reader:
    """Turns paragraphs into `Change`s, one record at a time."""

    def __init__(self, path: str):
        self.path = path
        self.notes: list[str] = []

    def at(self, line: Line | int, column: int = 1) -> Location:
        number = line.number if isinstance(line, Line) else line
        return Location(self.path, number, column)

    # --- one line ---------------------------------------------------------------------------

    def split(self, line: Line) -> tuple[str, str, str]:
        """(attribute as written, separator, raw value) of `attr: value` / `attr:: b64` / `attr:< url`."""
        if line.text.strip() == "-":
            raise UserInputError(
                "a `-` line ends an add:/delete:/replace: block and belongs only in `changetype: modify`",
                location=self.at(line),
                hint="remove it, or add `changetype: modify` after the dn: line",
            )
        match = _ATTR_LINE.match(line.text)
        if match is None:
            raise UserInputError(
                f"expected `attribute: value`, found {line.text[:40]!r}",
                location=self.at(line),
                hint="a line that continues the one before starts with exactly one space; "
                "records are separated by an empty line",
            )
        return match.group("attr"), match.group("sep"), match.group("value")

    def name(self, written: str, line: Line) -> str:
        """An attribute description's name: options dropped, a known OID turned into its name."""
        name = written.split(";", 1)[0].strip()
        numeric = _NUMERIC_OID.match(name)
        if numeric is None:
            return name
        known = OID_NAMES.get(numeric.group(1))
        if known is not None:
            return known
        note = f"{self.path}:{line.number}: attribute {name} (an OID dupfix doesn't know) is carried unchecked"
        if not any(n.endswith(f"attribute {name} (an OID dupfix doesn't know) is carried unchecked") for n in self.notes):
            self.notes.append(note)
        return name

    def value(self, line: Line) -> Value:
        written, sep, raw = self.split(line)
        name = self.name(written, line)
        attribute = "distinguishedName" if name.lower() == "dn" else canonical_attribute(name)
        raw = raw.lstrip(" ")
        if sep == ":":
            return Value(attribute, raw, line.number)
        if sep == ":<":
            if attribute in JUDGED_ATTRIBUTES or attribute == "distinguishedName":
                raise UserInputError(
                    f"{attribute} is given by URL ({raw.strip()[:60]}); dupfix reads only values in the file",
                    location=self.at(line),
                    hint=f"write the value itself: `{written}: <value>` or `{written}:: <base64>`",
                )
            return Value(attribute, None, line.number)
        data = self.base64(raw, line, written)
        if name.lower() in GUID_ATTRIBUTES and len(data) == 16:
            return Value(attribute, str(uuid.UUID(bytes_le=data)), line.number)
        if name.lower() == "objectsid":
            return Value(attribute, _sid_string(data), line.number)
        try:
            return Value(attribute, data.decode("utf-8"), line.number)
        except UnicodeDecodeError:
            if attribute in JUDGED_ATTRIBUTES or attribute == "distinguishedName":
                raise UserInputError(
                    f"the base64 value of {written} is not UTF-8 text",
                    location=self.at(line),
                    hint="ldifde writes text values as base64 of their UTF-8 bytes; re-export the file",
                ) from None
            return Value(attribute, None, line.number)

    def base64(self, raw: str, line: Line, written: str) -> bytes:
        text = raw.strip()
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            column = len(line.text) - len(raw) + 1
            raise UserInputError(
                f"the value of {written}:: is not valid base64",
                location=self.at(line, column),
                hint="`attr:: ` takes base64; write plain text after a single colon (`attr: value`)",
            ) from None

    # --- one record -------------------------------------------------------------------------

    def record(self, paragraph: Paragraph, index: int) -> Change | None:
        lines = paragraph.lines
        head = lines[0]
        if not _DN_START.match(head.text):
            raise UserInputError(
                f"a record must start with `dn:`, found {head.text[:40]!r}",
                location=self.at(head),
                hint="separate records with one empty line, and start each with the object's DN",
            )
        dn_value = self.value(head)
        dn = (dn_value.text or "").strip()
        if not dn:
            raise UserInputError(
                "the record's dn: is empty", location=self.at(head), hint="name the object's DN"
            )
        rest = [ln for ln in lines[1:] if not ln.text.lower().startswith("control:")]
        changetype = "add"
        if rest and rest[0].text.lower().startswith("changetype:"):
            changetype = rest[0].text.split(":", 1)[1].strip().lower()
            ct_line = rest[0]
            rest = rest[1:]
            if changetype in SCHEMA_CHANGETYPES:
                self.notes.append(
                    f"{self.path}:{head.number}: skipped a schema change ({changetype}) of {dn}"
                )
                return None
            if changetype not in CHANGETYPES:
                raise UserInputError(
                    f"unknown changetype {changetype!r}",
                    location=self.at(ct_line),
                    hint=f"use one of {', '.join(CHANGETYPES)}",
                )
        marks = suppression.collect((c.text, self.at(c)) for c in paragraph.comments)
        base: dict[str, Any] = {
            "location": self.at(head),
            "index": index,
            "directory": "ad",
            "suppressions": marks,
        }
        if changetype == "add":
            return self.add(dn, head, rest, base)
        target = Target("distinguishedName", dn)
        locations = {("target", ""): self.at(head)}
        if changetype == "delete":
            if rest:
                raise UserInputError(
                    "a `changetype: delete` record takes no other lines",
                    location=self.at(rest[0]),
                    hint="separate the next record with an empty line",
                )
            return Change(op="delete", kind="user", target=target, value_locations=locations, **base)
        if changetype in ("moddn", "modrdn"):
            return self.moddn(dn, head, rest, target, locations, base)
        return self.modify(dn, head, rest, target, locations, base)

    def add(self, dn: str, head: Line, rest: list[Line], base: dict[str, Any]) -> Change | None:
        if not rest:
            raise UserInputError(
                "an add record has no attributes",
                location=self.at(head),
                hint="list objectClass and the attributes",
            )
        values: dict[str, list[str]] = {}
        locations: dict[tuple[str, str], Location] = {("distinguishedName", ""): self.at(head)}
        classes: list[str] = []
        for line in rest:
            v = self.value(line)
            if v.attribute == "objectClass" and v.text is not None:
                classes.append(v.text.strip())
                continue
            if v.text is None:
                continue
            values.setdefault(v.attribute, []).append(v.text)
            locations.setdefault((v.attribute, v.text), self.at(line))
            locations.setdefault((v.attribute, ""), self.at(line))
        kind = self.kind(classes, dn, head)
        if kind is None:
            return None
        out: dict[str, Any] = {"distinguishedName": dn}
        for attribute, items in values.items():
            if attribute == "distinguishedName":
                continue
            out[attribute] = self.single_or_many(attribute, items, locations)
        return Change(op="create", kind=kind, set=out, value_locations=locations, **base)

    def single_or_many(
        self, attribute: str, items: list[str], locations: Mapping[tuple[str, str], Location]
    ) -> Any:
        if attribute in MULTI_VALUED or attribute not in KNOWN_ATTRIBUTES:
            return tuple(items) if (attribute in MULTI_VALUED or len(items) > 1) else items[0]
        if len(items) > 1:
            raise UserInputError(
                f"{attribute} takes one value, but the record gives {len(items)}",
                location=locations.get((attribute, items[1])),
                hint="keep one line for it",
            )
        return items[0]

    def kind(self, classes: list[str], dn: str, head: Line) -> str | None:
        lowered = {c.lower() for c in classes}
        if not lowered:
            raise UserInputError(
                "an add record needs objectClass",
                location=self.at(head),
                hint="add `objectClass: user` (or group, contact)",
            )
        if "computer" in lowered or not lowered & (USER_CLASSES | {"group", "contact"}):
            label = "computer" if "computer" in lowered else f"objectClass {classes[-1]}"
            self.notes.append(
                f"{self.path}:{head.number}: skipped {dn} ({label}: not a user, group or contact)"
            )
            return None
        if "group" in lowered:
            return "group"
        if "contact" in lowered:
            return "contact"
        return "user"

    def modify(
        self, dn: str, head: Line, rest: list[Line], target: Target, locations: dict, base: dict[str, Any]
    ) -> Change:
        edits = _Edits()
        i = 0
        while i < len(rest):
            line = rest[i]
            if line.text.strip() == "-":
                raise UserInputError(
                    "a `-` line with no add:/delete:/replace: block before it",
                    location=self.at(line),
                    hint="remove the extra `-`",
                )
            verb, sep, attr_written = self.split(line)
            verb = verb.lower()
            if verb not in MOD_VERBS or sep != ":":
                raise UserInputError(
                    f"expected add:, delete: or replace: in a modify record, found {line.text[:40]!r}",
                    location=self.at(line),
                    hint="each block is `add: <attribute>`, its values, then a line holding `-`",
                )
            name = self.name(attr_written, line)
            attribute = canonical_attribute(name)
            block_values: list[Value] = []
            i += 1
            while True:
                if i >= len(rest):
                    raise UserInputError(
                        f"the `{verb}: {name}` block is not closed with a `-` line",
                        location=self.at(line),
                        hint="end every add:/delete:/replace: block with a line holding only `-`",
                    )
                if rest[i].text.strip() == "-":
                    i += 1
                    break
                v = self.value(rest[i])
                if v.attribute.lower() != attribute.lower():
                    word = rest[i].text.split(":", 1)[0].strip().lower()
                    block = f"the `{verb}: {name}` block (line {line.number})"
                    message = (
                        f"`{word}:` starts a new block, but {block} is not closed with `-`"
                        if word in MOD_VERBS
                        else f"{block} lists a value of {v.attribute}"
                    )
                    raise UserInputError(
                        message,
                        location=self.at(rest[i]),
                        hint="end every add:/delete:/replace: block with a line holding only `-`",
                    )
                block_values.append(v)
                i += 1
            if attribute not in KNOWN_ATTRIBUTES:
                edits.kinds_hint |= {attribute.lower()} & GROUP_HINTS
                continue
            texts = [v.text for v in block_values if v.text is not None]
            for v in block_values:
                if v.text is not None:
                    locations.setdefault((attribute, v.text), self.at(v.line))
            locations.setdefault((attribute, ""), self.at(line))
            edits.apply(verb, attribute, texts, self, line)
        if not edits.touched:
            self.notes.append(
                f"{self.path}:{head.number}: the modify of {dn} changes no attribute dupfix checks"
            )
        kind = "group" if edits.kinds_hint else "user"
        return Change(
            op="update",
            kind=kind,
            target=target,
            set=edits.replaced,
            add={k: tuple(v) for k, v in edits.add.items() if v},
            remove={k: tuple(v) for k, v in edits.remove.items() if v},
            value_locations=locations,
            **base,
        )

    def moddn(
        self, dn: str, head: Line, rest: list[Line], target: Target, locations: dict, base: dict[str, Any]
    ) -> Change:
        fields: dict[str, tuple[str, Line]] = {}
        for line in rest:
            v = self.value(line)
            key = v.attribute.lower()
            if key not in ("newrdn", "deleteoldrdn", "newsuperior"):
                raise UserInputError(
                    f"a moddn record takes newrdn, deleteoldrdn and newsuperior, not {v.attribute}",
                    location=self.at(line),
                    hint="separate the next record with an empty line",
                )
            fields[key] = ((v.text or "").strip(), line)
        if "newrdn" not in fields or not fields["newrdn"][0]:
            raise UserInputError(
                "a moddn record needs `newrdn:`", location=self.at(head), hint="e.g. `newrdn: CN=Jane Smith`"
            )
        if "deleteoldrdn" not in fields or fields["deleteoldrdn"][0] not in ("0", "1"):
            where = fields["deleteoldrdn"][1] if "deleteoldrdn" in fields else head
            raise UserInputError(
                "a moddn record needs `deleteoldrdn: 0` or `deleteoldrdn: 1`",
                location=self.at(where),
                hint="1 removes the old RDN value (what ldifde and AD expect)",
            )
        parent = fields["newsuperior"][0] if "newsuperior" in fields else split_dn(dn)[1]
        new_dn = f"{fields['newrdn'][0]},{parent}" if parent else fields["newrdn"][0]
        locations[("distinguishedName", "")] = self.at(fields["newrdn"][1])
        return Change(
            op="update",
            kind="user",
            target=target,
            set={"distinguishedName": new_dn},
            value_locations=locations,
            **base,
        )


@dataclass
class _Edits:
    """The add/delete/replace blocks of one modify record, folded into set / add / remove."""

    replaced: dict[str, Any] = field(default_factory=dict)
    add: dict[str, list[str]] = field(default_factory=dict)
    remove: dict[str, list[str]] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    kinds_hint: set[str] = field(default_factory=set)

    def apply(self, verb: str, attribute: str, values: list[str], reader: _Reader, line: Line) -> None:
        self.touched.add(attribute)
        multi = attribute in MULTI_VALUED
        if verb == "replace":
            self.add.pop(attribute, None)
            self.remove.pop(attribute, None)
            self.replaced[attribute] = tuple(values) if multi else (values[0] if values else None)
            if not multi and len(values) > 1:
                raise self._too_many(attribute, values, line, reader)
            return
        if not multi:
            if len(values) > 1:
                raise self._too_many(attribute, values, line, reader)
            self.replaced[attribute] = values[0] if verb == "add" and values else None
            return
        if verb == "delete" and not values:
            self.add.pop(attribute, None)
            self.remove.pop(attribute, None)
            self.replaced[attribute] = ()
            return
        if attribute in self.replaced:
            current = list(self.replaced[attribute] or ())
            folded = {v.casefold() for v in values}
            if verb == "add":
                current += [v for v in values if v.casefold() not in {c.casefold() for c in current}]
            else:
                current = [c for c in current if c.casefold() not in folded]
            self.replaced[attribute] = tuple(current)
            return
        mine, other = (self.add, self.remove) if verb == "add" else (self.remove, self.add)
        folded = {v.casefold() for v in values}
        if attribute in other:
            other[attribute] = [v for v in other[attribute] if v.casefold() not in folded]
        bucket = mine.setdefault(attribute, [])
        bucket += [v for v in values if v.casefold() not in {b.casefold() for b in bucket}]

    @staticmethod
    def _too_many(attribute: str, values: list[str], line: Line, reader: _Reader) -> UserInputError:
        return UserInputError(
            f"{attribute} takes one value, but the block gives {len(values)}",
            location=reader.at(line),
            hint="keep one value line in the block",
        )
