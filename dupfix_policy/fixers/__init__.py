"""Writers at the edge: put suggested values into plan files, changing nothing else.

Every plan loader records where each value was written (`Change.value_locations`: line and column
of the YAML scalar, the CSV cell, the LDIF line). A fix is a span replacement at that place: the
old text is found there exactly as the loader read it and only those characters are replaced, so
comments, key order, quoting, indentation, delimiters, BOM, encoding and line endings stay
byte-for-byte what they were (a YAML round trip through a library would still renormalise some of
them). LDIF needs more than a span: base64 values and folded lines (`ldif.py`). Terraform plan
JSON is generated, so it is never edited: the `.tf` line to change is shown instead.
"""

from __future__ import annotations

import bisect
import codecs
import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from ..model import Change, Location
from ..remedies import Replacement

_NEWLINE = re.compile(r"\r\n|\r|\n")
# Characters that continue an address or a name: a match must not be part of a longer value.
_WORD = re.compile(r"[A-Za-z0-9._%+\-@]")
NOT_EDITED = frozenset({"terraform"})


@dataclass(frozen=True)
class TextFile:
    """A plan file's text and how to write it back exactly as it was encoded."""

    path: str
    raw: bytes
    text: str
    encoding: str
    bom: bytes

    @classmethod
    def read(cls, path: str, encoding: str | None = None) -> TextFile:
        from ..plans._text import bomless_utf16, read_bytes

        raw = read_bytes(path, "plan")
        for bom, name in (
            (codecs.BOM_UTF8, "utf-8"),
            (codecs.BOM_UTF16_LE, "utf-16-le"),
            (codecs.BOM_UTF16_BE, "utf-16-be"),
        ):
            if raw.startswith(bom):
                return cls(path, raw, raw[len(bom) :].decode(name), name, bom)
        name = encoding or bomless_utf16(raw) or "utf-8"
        return cls(path, raw, raw.decode(name, errors="surrogateescape"), name, b"")

    def encode(self, text: str) -> bytes:
        errors = "surrogateescape" if self.encoding == "utf-8" else "strict"
        return self.bom + text.encode(self.encoding, errors=errors)

    @cached_property
    def _starts(self) -> list[int]:
        return [0, *(m.end() for m in _NEWLINE.finditer(self.text))]

    def line_starts(self) -> list[int]:
        return self._starts

    def offset(self, line: int, column: int) -> int:
        starts = self._starts
        return starts[line - 1] + column - 1 if 0 < line <= len(starts) else len(self.text)

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset) - 1
        return line + 1, offset - self._starts[line] + 1

    def newline(self) -> str:
        m = _NEWLINE.search(self.text)
        return m.group(0) if m else "\n"


def locate(file: TextFile, plan_format: str, where: Location, attribute: str, old: str, new: str) -> Replacement:
    """The replacement of `old` by `new` at its recorded place, with the exact span when found."""
    base = Replacement(file.path, attribute, old, new, where.line, where.column)
    if where.line is None:
        return base
    if plan_format == "ldif":
        from .ldif import locate_ldif

        return locate_ldif(file, where, attribute, old, new) or base
    start = file.offset(where.line, where.column or 1)
    # Only the rest of the value's own line: a value found further on would be another value's.
    stop = _NEWLINE.search(file.text, start)
    window = file.text[start : stop.start() if stop else len(file.text)]
    for m in re.finditer(re.escape(old), window):
        before = window[m.start() - 1] if m.start() else (file.text[start - 1] if start else "")
        after = window[m.end()] if m.end() < len(window) else ""
        if _WORD.match(before or " ") or _WORD.match(after or " "):
            continue
        begin = start + m.start()
        line, column = file.position(begin)
        end_line, end_column = file.position(begin + len(old))
        return replace(base, line=line, column=column, end_line=end_line, end_column=end_column, inserted=new)
    return base


def shown_line(path: str, line: int | None) -> str:
    """The text of one line of a file (a `.tf` line to change), or empty when it cannot be read."""
    if not line:
        return ""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for n, text in enumerate(fh, 1):
                if n == line:
                    return text.strip()
    except OSError:
        return ""
    return ""


def replacements_for(
    change: Change, plan_format: str, edits: Sequence[tuple[str, str, str]], files: dict[str, TextFile]
) -> tuple[Replacement, ...]:
    """Each (attribute, old value, new value) of one change, placed in its plan file."""
    out = []
    for attribute, old, new in edits:
        where = change.location_of(attribute, old)
        if plan_format in NOT_EDITED:
            out.append(Replacement(where.path, attribute, old, new, where.line, where.column, editable=False))
            continue
        file = files.get(where.path)
        if file is None:
            file = files[where.path] = TextFile.read(where.path)
        out.append(locate(file, plan_format, where, attribute, old, new))
    return tuple(out)


def located(r: Replacement) -> bool:
    return r.editable and r.end_line is not None and r.inserted is not None


def apply(file: TextFile, replacements: Iterable[Replacement]) -> str:
    """The file's text with every located replacement made (each span once, last first)."""
    spans = sorted(
        {(file.offset(r.line or 0, r.column or 1), file.offset(r.end_line or 0, r.end_column or 1), r.inserted or "")
         for r in replacements if located(r)},
        reverse=True,
    )  # fmt: skip
    text = file.text
    floor = len(text) + 1
    for start, end, inserted in spans:
        if end > floor:
            continue  # overlapping spans (one value named twice): the later one is already written
        text = text[:start] + inserted + text[end:]
        floor = start
    return text


def unified_diff(file: TextFile, new_text: str) -> str:
    lines = difflib.unified_diff(
        file.text.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile=f"a/{file.path}",
        tofile=f"b/{file.path}",
    )
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n" for line in lines)
