"""CSV imports for on-prem AD: csvde files and the ad-hoc CSVs `New-ADUser` scripts read.

csvde's first line names LDAP attributes (`DN,objectClass,sAMAccountName,userPrincipalName,...`)
and a multi-valued value is `;`-separated inside one field (learn.microsoft.com, "Comma-separated
value (CSV) scripts"); csvde only creates objects, so every row is a `create` in AD. Scripts around
`New-ADUser` use the cmdlet's parameter names (`SamAccountName`, `EmailAddress`, `Name`, `Path`)
or anything at all, so columns are mapped: LDAP names and the common cmdlet names are understood
as they are, and `.dupfix.yaml` maps the rest:

    columnMappings:
      csv:                       # this format's name
        Login: sAMAccountName
        E-Mail: mail
        Aliases: proxyAddresses

A column that is almost the name of an attribute the checker judges (`Email`, `ProxyAdresses`) is
an error that asks for a mapping, because a column read as something else would be a duplicate
nobody checks. Password columns are never read. `Name` + `Path` (New-ADUser's CN and OU) make the
DN when there is no DN column, so sAMAccountNames are checked within the right AD domain.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .. import collector
from ..errors import UserInputError
from ..model import (
    JUDGED_ATTRIBUTES,
    KNOWN_ATTRIBUTES,
    Change,
    Location,
    Plan,
    canonical_attribute,
)
from . import extensions, suppression
from ._csv import (
    EMPTY,
    CellLocations,
    Record,
    RecordStream,
    cell_location,
    check_width,
    csv_settings,
    put_cell,
    sniff_separator,
    split_values,
)
from ._text import head_text, lines_of, stream_lines

NAME = "csv"
EXTENSIONS = extensions(NAME)
PATH = "<path>"  # New-ADUser -Path: the OU the object is created in
KIND = "objectClass"

# Header (lower case, as written) -> attribute: csvde's and New-ADUser's usual names.
ALIASES: dict[str, str] = {
    "dn": "distinguishedName",
    "emailaddress": "mail",
    "primarysmtpaddress": "mail",
    "emailaddresses": "proxyAddresses",
    "externalemailaddress": "targetAddress",
    "alias": "mailNickname",
    "sn": "surname",
    "name": "cn",
    "path": PATH,
    "objectclass": KIND,
    "samaccountname": "sAMAccountName",
    "othermailbox": "otherMails",
}
PASSWORDS = frozenset(
    {"password", "accountpassword", "unicodepwd", "userpassword", "initialpassword", "passwordprofile"}
)
# Columns that say "this is an AD import" (detection): csvde's DN, New-ADUser's Path, AD-only names.
AD_COLUMNS = frozenset({"dn", "distinguishedname", "objectclass", "samaccountname", "path"})
IDENTITY = frozenset(
    {
        "userPrincipalName",
        "proxyAddresses",
        "mail",
        "mailNickname",
        "targetAddress",
        "sAMAccountName",
        "distinguishedName",
    }
)
USER_CLASSES = frozenset({"user", "inetorgperson", "person", "organizationalperson"})
SKIPPED_CLASSES = {"computer": "computer", "organizationalunit": "OU", "container": "container"}


def _header_names(line: str) -> set[str]:
    sep = sniff_separator(line)
    return {cell.strip().strip('"').strip().lower() for cell in line.split(sep)}


def detect(path: str, head: bytes) -> bool:
    """A .csv/.tsv/.txt whose header has an AD column (DN, objectClass, sAMAccountName, Path)."""
    if not path.lower().endswith(EXTENSIONS):
        return False
    lines = [ln for ln in lines_of(head_text(head))[:6] if ln.strip() and not ln.lstrip().startswith("#")]
    if lines and lines[0].lower().startswith("sep="):
        lines = lines[1:]
    if not lines or "[" in lines[0]:
        return False
    return bool(_header_names(lines[0]) & AD_COLUMNS)


def load(path: str, options: Mapping[str, Any] | None = None) -> Plan:
    settings = csv_settings(options)
    mapping = _mapping(options)
    lines = stream_lines(path, "CSV", settings.encoding)
    records = iter(RecordStream(lines, path, separator=settings.separator))
    header = next(records, None)
    if header is None:
        raise UserInputError(
            "the CSV is empty",
            location=Location(path, 1, 1),
            hint="the first line names the columns (DN,...)",
        )
    columns = _columns(header, path, mapping)
    if not set(columns.values()) & IDENTITY:
        raise UserInputError(
            "no column names an identity attribute (userPrincipalName, proxyAddresses, mail, "
            "sAMAccountName, DN, ...)",
            location=Location(path, header.line, 1),
            hint="name the columns by their LDAP attribute, or map them in .dupfix.yaml under "
            f"`columnMappings: {{{NAME}: {{<header>: <attribute>}}}}`",
        )
    builder = _RowBuilder(path, header, columns, settings.value_separator)
    changes: list[Change] = []
    with collector.paused():
        for record in records:
            change = builder.change(record, len(changes))
            if change is not None:
                changes.append(change)
    if not changes and not builder.notes:
        raise UserInputError(
            "the CSV has a header but no rows",
            location=Location(path, header.line, 1),
            hint="add one row per object",
        )
    return Plan(path=path, format=NAME, changes=tuple(changes), notes=tuple(builder.notes))


def _mapping(options: Mapping[str, Any] | None) -> dict[str, str]:
    mappings = (options or {}).get("column_mappings") or {}
    raw = mappings.get(NAME) or {}
    if not isinstance(raw, Mapping):
        raise UserInputError(f"columnMappings.{NAME} must map column headers to attribute names")
    out: dict[str, str] = {}
    for header, attribute in raw.items():
        if not isinstance(attribute, str) or not attribute.strip():
            raise UserInputError(
                f"columnMappings.{NAME}: column {header!r} must map to an attribute name",
                field=f"columnMappings.{NAME}",
            )
        name = attribute.strip()
        out[str(header).strip().lower()] = ALIASES.get(name.lower(), canonical_attribute(name))
    return out


def _squeeze(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_SQUEEZED = {_squeeze(a): a for a in KNOWN_ATTRIBUTES}


def _columns(header: Record, path: str, mapping: dict[str, str]) -> dict[int, str]:
    """Column index -> attribute (or PATH / objectClass); password columns are left out."""
    columns: dict[int, str] = {}
    seen: dict[str, int] = {}
    for i, cell in enumerate(header.cells):
        name = cell.text.strip()
        if not name:
            continue
        attribute = _attribute_of(name, mapping, cell_location(path, cell))
        if attribute is None:
            continue
        if attribute in seen:
            first = header.cells[seen[attribute]]
            raise UserInputError(
                f"two columns are read as {attribute} (columns {first.column} and {cell.column})",
                location=cell_location(path, cell),
                hint="remove one, or map one of them to another attribute in columnMappings",
            )
        seen[attribute] = i
        columns[i] = attribute
    return columns


def _attribute_of(name: str, mapping: dict[str, str], where: Location) -> str | None:
    """What one header means: mapped, a known alias, an LDAP name; None for a password column."""
    from .native import NOT_NEAR_MISSES, near_miss

    lowered = name.lower()
    if lowered in mapping:
        return None if mapping[lowered].lower() in PASSWORDS else mapping[lowered]
    if lowered in PASSWORDS or _squeeze(name) in PASSWORDS:
        return None
    if lowered in ALIASES:
        return ALIASES[lowered]
    attribute = canonical_attribute(name.split(";", 1)[0])
    if attribute in KNOWN_ATTRIBUTES or lowered in NOT_NEAR_MISSES:
        return attribute
    attribute = _SQUEEZED.get(_squeeze(name), attribute)
    if attribute in KNOWN_ATTRIBUTES:
        return attribute
    suggestion = near_miss(name)
    if suggestion is not None:
        raise UserInputError(
            f"column `{name}`: did you mean {suggestion}?",
            location=where,
            hint="a column read under another name is never checked for duplicates; map it in .dupfix.yaml: "
            f"`columnMappings: {{{NAME}: {{{name!r}: {suggestion}}}}}` "
            "(or to any other name to carry it unchecked)",
        )
    if looks_like_an_address(name):
        raise UserInputError(
            f"column `{name}` looks like an address or UPN column, but it is no attribute dupfix knows",
            location=where,
            hint="say what it holds in .dupfix.yaml, e.g. "
            f"`columnMappings: {{{NAME}: {{{name!r}: userPrincipalName}}}}` (or mail, proxyAddresses, "
            "targetAddress); map it to any other name (e.g. notes) to carry it unchecked",
        )
    return attribute


_ADDRESS_WORDS = frozenset({"upn", "smtp", "sip", "x500", "proxy", "proxies", "email", "emails", "mail", "mails"})
_ADDRESS_PHRASES = ("userprincipal", "principalname", "logonname", "emailaddress", "targetaddress", "smtpaddress")
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def looks_like_an_address(name: str) -> bool:
    """A header such as `UPN`, `Email Address`, `SMTP`, `User logon name`: an unmapped identity column.

    Why: a column dupfix doesn't know is carried unchecked, so `UPN` read as a custom attribute
    would let every duplicate UPN in the file through. Real AD attribute names with such words
    (`msExchMailboxGuid`, `msRTCSIP-PrimaryUserAddress`) are split into words and don't match.
    """
    words = {w.lower() for w in _WORD.findall(name)}
    squeezed = _squeeze(name)
    return bool(words & _ADDRESS_WORDS) or any(p in squeezed for p in _ADDRESS_PHRASES)


def escape_rdn(value: str) -> str:
    """An RDN value with the characters RFC 4514 reserves escaped, for `CN=<Name>,<Path>`."""
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;=' or (ch == "#" and i == 0) or (ch == " " and i in (0, len(value) - 1)):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


class _RowBuilder:
    def __init__(self, path: str, header: Record, columns: dict[int, str], value_sep: str):
        self.path = path
        self.header = header
        self.columns = columns
        self.value_sep = value_sep
        self.notes: list[str] = []
        # CellLocations slots: every attribute a cell can set, plus the DN made from Name + Path.
        self.slots = {a: i for i, a in enumerate(dict.fromkeys([*columns.values(), "distinguishedName", "cn"]))}

    def change(self, record: Record, index: int) -> Change | None:
        if record.blank:
            return None
        check_width(record, len(self.header.cells), self.header, self.path)
        values: dict[str, Any] = {}
        locations = CellLocations(self.path, record.line, values, self.slots)
        kind = "user"
        ou: str | None = None
        for i, attribute in self.columns.items():
            if i >= len(record.cells) or not record.cells[i].text.strip():
                continue
            cell = record.cells[i]
            here = cell_location(self.path, cell)
            if attribute == KIND:
                found = self._kind(split_values(cell.text, self.value_sep), record)
                if found is None:
                    return None
                kind = found
                continue
            if attribute == PATH:
                ou = cell.text.strip()
                continue
            put_cell(values, locations, attribute, cell.text, here, self.value_sep)
        shared: dict[str, str] = {}  # mail = UPN is common: keep one string, not two
        for name, value in values.items():
            if type(value) is str:
                values[name] = shared.setdefault(value, value)
        if "distinguishedName" not in values and ou and values.get("cn"):
            values["distinguishedName"] = f"CN={escape_rdn(str(values['cn']).strip())},{ou}"
            locations[("distinguishedName", "")] = locations[("cn", "")]
        if not set(values) & set(JUDGED_ATTRIBUTES) - {"displayName", "givenName"}:
            raise UserInputError(
                "this row fills no identity attribute "
                "(userPrincipalName, proxyAddresses, mail, sAMAccountName, ...)",
                location=Location(self.path, record.line, 1),
                hint="fill them in, or delete the row",
            )
        marks = suppression.collect((text, Location(self.path, line, 1)) for line, text in record.comments)
        return Change(
            op="create",
            kind=kind,
            location=Location(self.path, record.line, 1),
            index=index,
            directory="ad",
            set=values,
            add=EMPTY,
            remove=EMPTY,
            predicted=EMPTY,
            value_locations=locations,
            suppressions=marks or EMPTY,
        )

    def _kind(self, classes: tuple[str, ...], record: Record) -> str | None:
        lowered = {c.lower() for c in classes}
        for name, label in SKIPPED_CLASSES.items():
            if name in lowered:
                self.notes.append(
                    f"{self.path}:{record.line}: skipped a {label} (not a user, group or contact)"
                )
                return None
        if "group" in lowered:
            return "group"
        if "contact" in lowered:
            return "contact"
        if lowered & USER_CLASSES:
            return "user"
        raise UserInputError(
            f"objectClass {';'.join(classes)} is not a user, group or contact",
            location=Location(self.path, record.line, 1),
            hint="use user, group or contact (csvde: the most specific class, e.g. user)",
        )
