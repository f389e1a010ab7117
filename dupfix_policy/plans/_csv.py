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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

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
    stream = RecordStream(iter(lines[start:]), path, separator=separator, kind=kind, first_line=start + 1)
    records = list(stream)
    return Table(records, stream.separator, stream.trailing_comments)


class _Window:
    """Physical lines by index from an iterator, keeping only those not yet consumed.

    Why: the parser looks ahead a line or two (quoted cells span lines, comments wait for their
    row), but a million-row file must not be held as a list of a million strings on top of its text.
    """

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._buffer: dict[int, str] = {}
        self._read = 0

    def __call__(self, i: int) -> str | None:
        while self._read <= i:
            line = next(self._lines, None)
            if line is None:
                return None
            self._buffer[self._read] = line
            self._read += 1
        return self._buffer.get(i)

    def forget_before(self, i: int) -> None:
        for k in [k for k in self._buffer if k < i]:
            del self._buffer[k]


class RecordStream:
    """The records of a CSV text one at a time; `separator` is known once it is created.

    `trailing_comments` (comment lines after the last record) is complete once iterated. Memory
    stays with the current record, so a loader that keeps only what it needs per row loads a
    1e6-row import in linear time and bounded memory (benchmarks/bench_large_inputs.py).
    """

    def __init__(
        self, lines: Iterator[str], path: str, *, separator: str | None = None, kind: str = "CSV",
        first_line: int = 1,
    ) -> None:  # fmt: skip
        self.path, self.kind = path, kind
        self._fetch = _Window(lines)
        self._offset = first_line - 1  # line number = index + 1 + offset
        self._start = 0
        first = self._fetch(0)
        if first is not None:
            announced = _SEP_LINE.match(first)
            if announced:
                separator = separator or announced.group(1)
                self._start = 1
        if separator is None:
            i = self._start
            line = self._fetch(i)
            while line is not None and (not line.strip() or _is_comment(line)):
                i += 1
                line = self._fetch(i)
            separator = sniff_separator(line or "")
        if separator in ('"', "\n", "\r") or len(separator) != 1:
            raise UserInputError(
                f"{separator!r} cannot separate CSV columns",
                field="csv.separator",
                hint="use one character such as , ; or a tab",
            )
        self.separator: str = separator
        self.trailing_comments: list[tuple[int, str]] = []

    def __iter__(self) -> Iterator[Record]:
        fetch, sep, offset = self._fetch, self.separator, self._offset
        pending: list[tuple[int, str]] = []
        i = self._start
        line = fetch(i)
        while line is not None:
            if not line.strip():
                pending = []  # a comment reaches only the row directly below it
            elif _is_comment(line):
                pending.append((i + 1 + offset, line.strip()))
            else:
                record, i = _record(fetch, i, sep, self.path, self.kind, offset)
                record.comments = pending
                pending = []
                fetch.forget_before(i)
                yield record
                line = fetch(i)
                continue
            fetch.forget_before(i)
            i += 1
            line = fetch(i)
        self.trailing_comments = pending


def _record(fetch: _Window, i: int, sep: str, path: str, kind: str, offset: int = 0) -> tuple[Record, int]:
    """Parse one record starting at line index `i`; returns it and the index after it."""
    cells: list[Cell] = []
    first_line = i + 1 + offset
    line = fetch(i) or ""
    pos = 0
    while True:
        if line.startswith('"', pos):
            open_line, open_col = i + 1 + offset, pos + 1
            parts: list[str] = []
            pos += 1
            while True:
                q = line.find('"', pos)
                if q < 0:
                    parts.append(line[pos:])
                    i += 1
                    following = fetch(i)
                    if following is None:
                        raise UserInputError(
                            f"a quoted {kind} value opened here is never closed",
                            location=Location(path, open_line, open_col),
                            hint='end the value with a double quote; write a quote inside a value as ""',
                        )
                    parts.append("\n")
                    line, pos = following, 0
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
                    location=Location(path, i + 1 + offset, pos + 1),
                    hint="put the whole value inside the quotes, or add a "
                    f"{SEPARATOR_NAMES.get(sep, repr(sep))} separator after the closing quote",
                )
        else:
            end = line.find(sep, pos)
            stop = len(line) if end < 0 else end
            cells.append(Cell(line[pos:stop], i + 1 + offset, pos + 1))
            pos = stop
        if pos >= len(line):
            return Record(first_line, cells), i + 1
        pos += 1  # the separator
        if pos == len(line):
            cells.append(Cell("", i + 1 + offset, pos + 1))
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


class LocationSink(Protocol):
    """Where `put_cell` records value locations: a plain dict or a row's packed `CellLocations`."""

    def __setitem__(self, key: tuple[str, str], where: Location, /) -> None: ...


def put_cell(
    values: dict[str, Any],
    locations: LocationSink,
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


class FrozenDict(dict):  # type: ignore[type-arg]
    """A dict nobody can change: one shared empty instance instead of three new dicts per row."""

    def _refuse(self, *_: Any, **__: Any) -> None:
        raise TypeError("this mapping is shared and cannot be changed")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]


EMPTY: Mapping[Any, Any] = FrozenDict()
_COLUMN_BITS, _DELTA_BITS = 20, 11  # one packed slot: (1 + line - row line) << 20 | column


class CellLocations(Mapping[tuple[str, str], Location]):
    """`Change.value_locations` for one CSV row, computed on demand from packed (line, column)s.

    Why: a dict of `(attribute, value) -> Location` costs ~1.5 KB per row, which made a 1e6-row
    csvde import take gigabytes. Every value of a cell is at the cell, so one integer holding a
    32-bit (line offset, column) per attribute (slot numbers shared by the whole file) plus the
    row's own values answer the same questions: `(attribute, "")` -> the cell, `(attribute,
    value)` -> the cell if the row holds that value. Anything that doesn't fit goes to `_extra`.
    """

    __slots__ = ("_extra", "_line", "_packed", "_path", "_slots", "_values")

    def __init__(self, path: str, line: int, values: Mapping[str, Any], slots: Mapping[str, int]) -> None:
        self._path = path
        self._line = line
        self._values = values
        self._slots = slots
        self._packed = 0
        self._extra: dict[tuple[str, str], Location] | None = None

    def __setitem__(self, key: tuple[str, str], where: Location) -> None:
        attribute, value = key
        slot = self._slots.get(attribute)
        delta = (where.line or 0) - self._line
        column = where.column or 0
        if value == "" and slot is not None and 0 <= delta < (1 << _DELTA_BITS) - 1 and 0 < column < 1 << _COLUMN_BITS:
            field = ((delta + 1) << _COLUMN_BITS | column) << (32 * slot)
            self._packed = self._packed & ~(0xFFFFFFFF << (32 * slot)) | field
        elif value == "" or self.get((attribute, "")) != where:
            if self._extra is None:
                self._extra = {}
            self._extra[key] = where

    def _cell(self, attribute: str) -> Location | None:
        slot = self._slots.get(attribute)
        packed = (self._packed >> (32 * slot)) & 0xFFFFFFFF if slot is not None else 0
        if not packed:
            return self._extra.get((attribute, "")) if self._extra else None
        line = self._line + (packed >> _COLUMN_BITS) - 1
        return Location(self._path, line, packed & ((1 << _COLUMN_BITS) - 1))

    def __getitem__(self, key: tuple[str, str]) -> Location:
        found = self._extra.get(key) if self._extra else None
        if found is not None:
            return found
        if not isinstance(key, tuple) or len(key) != 2:
            raise KeyError(key)
        attribute, value = key
        if value:
            held = self._values.get(attribute)
            if not (held == value or (isinstance(held, tuple) and value in held)):
                raise KeyError(key)
        cell = self._cell(attribute)
        if cell is None:
            raise KeyError(key)
        return cell

    def _keys(self) -> list[tuple[str, str]]:
        keys = dict.fromkeys(self._extra or ())
        for attribute in self._slots:
            if self._cell(attribute) is None:
                continue
            keys[(attribute, "")] = None
            held = self._values.get(attribute)
            for value in held if isinstance(held, tuple) else (held,) if isinstance(held, str) else ():
                keys[(attribute, value)] = None
        return list(keys)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())
