"""Entra admin center bulk-operation CSVs: bulk create, bulk invite, bulk delete, bulk restore.

The portal's templates start with a `version:v1.0` row, then headers written as
`<Item name> [propertyName] <Required or blank>`, and "older versions of the template might have
slight variations" (`Name (example: Chris Green) [displayName] *`), so columns are keyed on the
bracketed token, never on the header text. Files saved from Excel carry trailing separators
(`version:v1.0,,,,`); the downloaded template has an examples row that must be removed before
upload, which is skipped here with a note rather than checked as a real user
(MicrosoftDocs/entra-docs users-bulk-add.md, tutorial-bulk-invite.md, users-bulk-restore.md).

What each template means for the checker (directory: entra):
- bulk create: one `create user` per row, `userPrincipalName`, `displayName`, ... from the
  row; `Block sign in (Yes/No) [accountEnabled]` is inverted (Yes = not enabled). The initial
  password column is never read into the plan, so it can never be printed.
- bulk invite: one guest per row (`userType: Guest`). Entra gives the guest `SMTP:<invited
  e-mail>`: that address is *derived*, so it goes into `Change.predicted` and its findings say
  `predicted: true` (docs/formats.md "Values the directory derives").
- bulk delete: `delete user` by UPN. bulk restore: `restore user` by object id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import UserInputError
from ..model import Change, Location, Plan, Target, canonical_attribute
from . import extensions, suppression
from ._csv import Cell, Record, cell_location, check_width, csv_settings, put_cell, read_table
from ._text import decode_text, head_text, lines_of, read_bytes

NAME = "entra-csv"
EXTENSIONS = extensions(NAME)
_TOKEN = re.compile(r"\[\s*([A-Za-z][A-Za-z0-9_]*)\s*\]")
_VERSION = re.compile(r'^\s*"?\s*version\s*:\s*v?(\d+)((?:\.\d+)*)\s*"?\s*[,;\t|]*\s*$', re.IGNORECASE)
# The examples row every downloaded template carries as its third row ("Example: Chris Green", ...):
# marked in its first cell, or in the template's key cell when a spreadsheet moved the columns.
_EXAMPLE = re.compile(r"^\s*\"?\s*(?:example|e\.g\.)\b\s*[:.-]?", re.IGNORECASE)
SUPPORTED_VERSION = 1
PASSWORD_TOKENS = frozenset({"passwordprofile", "password"})
_YES = frozenset({"yes", "y", "true"})
_NO = frozenset({"no", "n", "false"})

# template -> the token every row of it must fill
TEMPLATES = {
    "invite": "inviteeEmail",
    "restore": "objectId",
    "create": "userPrincipalName",
    "delete": "userPrincipalName",
}
TEMPLATE_NAMES = {
    "create": "bulk create",
    "invite": "bulk invite",
    "delete": "bulk delete",
    "restore": "bulk restore",
}


def _template(tokens: set[str]) -> str | None:
    lowered = {t.lower() for t in tokens}
    if "inviteeemail" in lowered:
        return "invite"
    if "userprincipalname" in lowered:
        if lowered & {"displayname", "passwordprofile"}:
            return "create"
        return "delete"
    if "objectid" in lowered:
        return "restore"
    return None


def detect(path: str, head: bytes) -> bool:
    """A .csv/.txt file whose headers carry the template's bracketed tokens (after `version:v1.0`)."""
    if not path.lower().endswith(EXTENSIONS):
        return False
    lines = [ln for ln in lines_of(head_text(head))[:6] if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return False
    if _VERSION.match(lines[0]):
        lines = lines[1:]
    if not lines:
        return False
    return _template(set(_TOKEN.findall(lines[0]))) is not None


def load(path: str, options: Mapping[str, Any] | None = None) -> Plan:
    settings = csv_settings(options)
    text = decode_text(read_bytes(path, "CSV"), path, kind="CSV", encoding=settings.encoding)
    lines = lines_of(text)
    start = next(
        (i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")), len(lines)
    )
    if start < len(lines):
        version = _VERSION.match(lines[start])
        if version:
            if int(version.group(1)) != SUPPORTED_VERSION:
                raise UserInputError(
                    f"Entra bulk template version v{version.group(1)}{version.group(2)} is not supported",
                    location=Location(path, start + 1, 1),
                    hint=f"download the current template (version:v{SUPPORTED_VERSION}.0) "
                    "from the Entra admin center",
                )
            start += 1
    table = read_table(lines, path, separator=settings.separator, start=start)
    if not table.records:
        raise UserInputError(
            "the CSV has no header row",
            location=Location(path, 1, 1),
            hint="keep the template's first two rows: version:v1.0 and the column headings",
        )
    header = table.records[0]
    columns = _columns(header, path)
    template = _template(set(columns))
    if template is None:
        raise UserInputError(
            "no supported Entra bulk template: the headings name none of "
            "[userPrincipalName], [inviteeEmail] or [objectId]",
            location=Location(path, header.line, 1),
            hint="use the bulk create, invite, delete or restore template "
            "as downloaded from the Entra admin center",
        )
    rows = table.records[1:]
    notes: list[str] = []
    first = next((r for r in rows if not r.blank), None)
    if first is not None and _is_example(first, columns, template):
        notes.append(
            f"{path}:{first.line}: skipped the {TEMPLATE_NAMES[template]} template's example row "
            "(remove it before uploading)"
        )
        rows = [r for r in rows if r is not first]
    builder = _RowBuilder(path, template, columns, header, settings.value_separator)
    changes = [c for c in (builder.change(r) for r in rows) if c is not None]
    if not changes and notes:
        notes.append(f"{path}: the {TEMPLATE_NAMES[template]} CSV holds only the template's example row: no changes")
        return Plan(path=path, format=NAME, changes=(), notes=tuple(notes))
    if not changes:
        raise UserInputError(
            f"the {TEMPLATE_NAMES[template]} CSV has no rows",
            location=Location(path, header.line, 1),
            hint="add one row per user under the column headings",
        )
    return Plan(path=path, format=NAME, changes=tuple(changes), notes=tuple(notes))


def _is_example(record: Record, columns: dict[str, int], template: str) -> bool:
    """The template's examples row: "Example:" in its first cell or in the key column's cell."""
    key = next((i for t, i in columns.items() if t.lower() == TEMPLATES[template].lower()), 0)
    cells = [record.cells[i].text for i in {0, key} if i < len(record.cells)]
    return any(_EXAMPLE.match(text) for text in cells)


def _columns(header: Record, path: str) -> dict[str, int]:
    """Bracketed token -> column index; unbracketed columns are ignored, as Entra ignores them."""
    columns: dict[str, int] = {}
    seen: dict[str, Cell] = {}
    for i, cell in enumerate(header.cells):
        tokens = _TOKEN.findall(cell.text)
        if not tokens:
            continue
        token = tokens[-1]
        key = token.lower()
        if key in seen:
            raise UserInputError(
                f"two columns are headed [{token}] (columns {seen[key].column} and {cell.column})",
                location=cell_location(path, cell),
                hint="keep one of them",
            )
        seen[key] = cell
        columns[token] = i
    return columns


class _RowBuilder:
    def __init__(self, path: str, template: str, columns: dict[str, int], header: Record, value_sep: str):
        self.path = path
        self.template = template
        self.columns = columns
        self.header = header
        self.value_sep = value_sep
        self.index = 0
        self.required = next(t for t in columns if t.lower() == TEMPLATES[template].lower())

    def _cell(self, record: Record, token: str) -> Cell | None:
        i = self.columns[token]
        return record.cells[i] if i < len(record.cells) else None

    def change(self, record: Record) -> Change | None:
        if record.blank:
            return None
        check_width(record, len(self.header.cells), self.header, self.path)
        key = self._cell(record, self.required)
        if key is None or not key.text.strip():
            heading = self.header.cells[self.columns[self.required]].text.strip()
            empty = key if key is not None else record.cells[-1]
            raise UserInputError(
                f"`{heading}` is empty: every {TEMPLATE_NAMES[self.template]} row needs one",
                location=cell_location(self.path, empty),
                hint="fill it in, or delete the row",
            )
        if self.template == "create" and key.text != key.text.strip():
            heading = self.header.cells[self.columns[self.required]].text.strip()
            raise UserInputError(
                f"`{heading}` {key.text.strip()!r} has spaces around it, and Entra's bulk create refuses "
                "such a user name (the row fails the import)",
                location=cell_location(self.path, key),
                field=self.required,
                hint="delete the spaces before and after the user name (Excel keeps them when a cell was "
                "pasted with them)",
            )
        marks = suppression.collect((text, Location(self.path, line, 1)) for line, text in record.comments)
        where = Location(self.path, record.line, 1)
        here = cell_location(self.path, key)
        value = key.text
        common: dict[str, Any] = {
            "kind": "user",
            "location": where,
            "index": self.index,
            "directory": "entra",
            "suppressions": marks,
        }
        self.index += 1
        if self.template == "delete":
            return Change(
                op="delete",
                target=Target("userPrincipalName", value.strip()),
                value_locations={("target", ""): here},
                **common,
            )
        if self.template == "restore":
            return Change(
                op="restore",
                target=Target("id", value.strip()),
                value_locations={("target", ""): here},
                **common,
            )
        if self.template == "invite":
            address = f"SMTP:{value.strip()}"
            return Change(
                op="create",
                ref=f"invite:{value.strip()}",
                set={"userType": "Guest"},
                predicted={"proxyAddresses": (address,)},
                value_locations={("proxyAddresses", address): here, ("proxyAddresses", ""): here},
                **common,
            )
        values, locations = self._attributes(record)
        return Change(op="create", set=values, value_locations=locations, **common)

    def _attributes(self, record: Record) -> tuple[dict[str, Any], dict[tuple[str, str], Location]]:
        values: dict[str, Any] = {}
        locations: dict[tuple[str, str], Location] = {}
        for token, i in self.columns.items():
            if token.lower() in PASSWORD_TOKENS or i >= len(record.cells):
                continue
            cell = record.cells[i]
            if not cell.text.strip():
                continue
            at = cell_location(self.path, cell)
            if token.lower() == "accountenabled":
                values["accountEnabled"] = not self._blocked(cell, self.header.cells[i].text.strip())
                locations[("accountEnabled", "")] = at
                continue
            attribute = canonical_attribute(token)
            put_cell(values, locations, attribute, cell.text, at, self.value_sep)
        return values, locations

    def _blocked(self, cell: Cell, heading: str) -> bool:
        word = cell.text.strip().lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
        raise UserInputError(
            f"`{heading}` must be Yes or No (found {cell.text.strip()!r})",
            location=cell_location(self.path, cell),
            hint="Yes blocks sign-in (accountEnabled false); No lets the user sign in",
        )
