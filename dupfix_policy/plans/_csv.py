"""A small CSV reader that keeps the line and column of every cell (RFC 4180 as Excel writes it).

Python's `csv` module gives rows but not where each cell starts, and a finding must point at the
cell that holds the duplicate. This reader also understands what identity CSVs contain in
practice: Excel's `sep=;` first line, a separator sniffed from the header (Excel in many locales
saves with `;`, "Unicode text" with tabs), quoted cells spanning lines, blank lines, and `#`
comment lines between records (where inline suppressions live). Every malformed input becomes a
`UserInputError` at its line and column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserInputError
from ..model import MULTI_VALUED, Location

SEPARATORS = (",", ";", "\t", "|")
_SEP_LINE = re.compile(r"^\ufeff?sep=(.)\s*$", re.IGNORECASE)
SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    line: int
    column: int


@dataclass(slots=True)
class Record:
    """One CSV record (a row), with the `#` comment lines directly above it (no blank line between)."""

    line: int
    cells: list[Cell]
    comments: list[tuple[int, str]] = field(default_factory=list)

    @property
    def blank(self) -> bool:
        return all(not c.text.strip() for c in self.cells)

    def values(self) -> list[str]:
        return [c.text for c in self.cells]


@dataclass(frozen=True, slots=True)
class Table:
    records: list[Record]
    separator: str
    trailing_comments: list[tuple[int, str]]


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def sniff_separator(line: str) -> str:
    """The candidate separator that occurs most often outside quotes in a header line; `,` on a tie."""
    counts = dict.fromkeys(SEPARATORS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(SEPARATORS, key=lambda s: (counts[s], s == ","))
    return best if counts[best] else ","


def read_table(
    lines: list[str], path: str, *, separator: str | None = None, start: int = 0, kind: str = "CSV"
) -> Table:
    """Records from `lines[start:]`; the separator is given, announced by `sep=`, or sniffed."""
    if start < len(lines):
        announced = _SEP_LINE.match(lines[start])
        if announced:
            separator = separator or announced.group(1)
            start += 1
    if separator is None:
        first = next((ln for ln in lines[start:] if ln.strip() and not _is_comment(ln)), "")
        separator = sniff_separator(first)
    if separator in ('"', "\n", "\r") or len(separator) != 1:
        raise UserInputError(
            f"{separator!r} cannot separate CSV columns",
            field="csv.separator",
            hint="use one character such as , ; or a tab",
        )
    records: list[Record] = []
    pending: list[tuple[int, str]] = []
    i = start
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            pending = []  # a comment reaches only the row directly below it
            i += 1
            continue
        if _is_comment(line):
            pending.append((i + 1, line.strip()))
            i += 1
            continue
        record, i = _record(lines, i, separator, path, kind)
        record.comments = pending
        pending = []
        records.append(record)
    return Table(records, separator, pending)


def _record(lines: list[str], i: int, sep: str, path: str, kind: str) -> tuple[Record, int]:
    """Parse one record starting at line index `i`; returns it and the index after it."""
    cells: list[Cell] = []
    first_line = i + 1
    line = lines[i]
    pos = 0
    while True:
        if line.startswith('"', pos):
            open_line, open_col = i + 1, pos + 1
            parts: list[str] = []
            pos += 1
            while True:
                q = line.find('"', pos)
                if q < 0:
                    parts.append(line[pos:])
                    i += 1
                    if i >= len(lines):
                        raise UserInputError(
                            f"a quoted {kind} value opened here is never closed",
                            location=Location(path, open_line, open_col),
                            hint='end the value with a double quote; write a quote inside a value as ""',
                        )
                    parts.append("\n")
                    line, pos = lines[i], 0
                    continue
                if line.startswith('"', q + 1):
                    parts.append(line[pos : q + 1])
                    pos = q + 2
                    continue
                parts.append(line[pos:q])
                pos = q + 1
                break
            cells.append(Cell("".join(parts), open_line, open_col))
            if pos < len(line) and line[pos] != sep:
                raise UserInputError(
                    f"unexpected text after a quoted {kind} value",
                    location=Location(path, i + 1, pos + 1),
                    hint="put the whole value inside the quotes, or add a "
                    f"{SEPARATOR_NAMES.get(sep, repr(sep))} separator after the closing quote",
                )
        else:
            end = line.find(sep, pos)
            stop = len(line) if end < 0 else end
            cells.append(Cell(line[pos:stop], i + 1, pos + 1))
            pos = stop
        if pos >= len(line):
            return Record(first_line, cells), i + 1
        pos += 1  # the separator
        if pos == len(line):
            cells.append(Cell("", i + 1, pos + 1))
            return Record(first_line, cells), i + 1


def check_width(record: Record, width: int, header: Record, path: str) -> None:
    """A row with a value past the last header column is a mistake (an unquoted separator, usually).

    Empty cells past the header are Excel's trailing separators and are fine.
    """
    extra = [c for c in record.cells[width:] if c.text.strip()]
    if not extra:
        return
    used = max(i for i, c in enumerate(record.cells) if c.text.strip()) + 1
    raise UserInputError(
        f"this row has {used} values but the header (line {header.line}) names {width} columns",
        location=Location(path, extra[0].line, extra[0].column),
        hint="quote a value that contains the separator, or add a header for the extra column",
    )


def cell_location(path: str, cell: Cell) -> Location:
    return Location(path, cell.line, cell.column)


def split_values(text: str, separator: str) -> tuple[str, ...]:
    """A multi-valued cell (`SMTP:a@x;smtp:b@x`): values in order, spaces around separators dropped."""
    return tuple(v.strip() for v in text.split(separator) if v.strip())


@dataclass(frozen=True, slots=True)
class CsvSettings:
    """What `.dupfix.yaml` `csv:` says: a forced separator, the multi-value separator, an encoding."""

    separator: str | None = None
    value_separator: str = ";"
    encoding: str | None = None


def put_cell(
    values: dict[str, Any],
    locations: dict[tuple[str, str], Location],
    attribute: str,
    text: str,
    here: Location,
    value_separator: str,
) -> None:
    """Store one cell as a change value, remembering where each value was written.

    Multi-valued attributes are split (`SMTP:a@x;smtp:b@x`) and every item points at its cell, so
    a finding on one address names the row and column it came from.
    """
    locations[(attribute, "")] = here
    if attribute in MULTI_VALUED:
        items = split_values(text, value_separator)
        values[attribute] = items
        for item in items:
            locations[(attribute, item)] = here
    else:
        values[attribute] = text
        locations[(attribute, text)] = here


def csv_settings(options: Mapping[str, Any] | None) -> CsvSettings:
    raw = (options or {}).get("csv") or {}
    if not isinstance(raw, Mapping):
        raise UserInputError("csv settings must be a mapping", field="csv")
    sep = raw.get("separator")
    if isinstance(sep, str) and sep.lower() in ("tab", "\\t"):
        sep = "\t"
    value_sep = raw.get("valueSeparator") or ";"
    for name, value in (("separator", sep), ("valueSeparator", value_sep)):
        if value is not None and (not isinstance(value, str) or len(value) != 1 or value in '"\r\n'):
            raise UserInputError(
                f"csv.{name} must be one character (found {value!r})",
                field=f"csv.{name}",
                hint="e.g. , ; | or tab",
            )
    encoding = raw.get("encoding")
    return CsvSettings(sep, value_sep, str(encoding) if encoding else None)
