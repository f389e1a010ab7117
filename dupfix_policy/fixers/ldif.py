"""LDIF values: one logical line may be folded over several physical lines and may be base64.

A value is replaced by rewriting its whole logical line: `attr: value` stays plain text unless the
new value needs base64 (RFC 2849: non-ASCII, a leading space, colon or `<`, a trailing space), a
base64 value stays base64 (the file's author chose it), and a folded line is folded again at the
width it had, with the file's own line ending.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from ..model import Location
from ..remedies import Replacement

if TYPE_CHECKING:
    from . import TextFile

_ATTR = re.compile(r"^(?P<attr>[A-Za-z0-9][A-Za-z0-9.\-]*(?:;[A-Za-z0-9\-]+)*)(?P<gap>[ \t]*)(?P<sep>::|:)(?P<value>.*)$", re.S)


def needs_base64(value: str) -> bool:
    return (
        not value.isascii()
        or value[:1] in (" ", ":", "<")
        or value.endswith(" ")
        or any(c in value for c in "\r\n\0")
    )


def locate_ldif(file: TextFile, where: Location, attribute: str, old: str, new: str) -> Replacement | None:
    """The logical line holding `old` at `where`, rewritten for `new` (None: not found there)."""
    starts = file.line_starts()
    if not where.line or where.line > len(starts):
        return None
    first = where.line - 1
    last = first
    while last + 1 < len(starts) and file.text[starts[last + 1] : starts[last + 1] + 1] == " ":
        last += 1
    physical = [file.text[starts[i] : (starts[i + 1] if i + 1 < len(starts) else len(file.text))] for i in range(first, last + 1)]
    bodies = [p.rstrip("\r\n") for p in physical]
    logical = bodies[0] + "".join(b[1:] for b in bodies[1:])
    m = _ATTR.match(logical)
    if m is None:
        return None
    raw = m.group("value").lstrip(" ")
    encoded = m.group("sep") == "::"
    try:
        value = base64.b64decode(raw, validate=True).decode("utf-8") if encoded else raw
    except (binascii.Error, UnicodeDecodeError):
        return None
    if value != old and value.strip() != old.strip():
        return None
    if encoded or needs_base64(new):
        text = f"{m.group('attr')}{m.group('gap')}:: {base64.b64encode(new.encode('utf-8')).decode('ascii')}"
    else:
        text = f"{m.group('attr')}{m.group('gap')}: {new}"
    if len(bodies) > 1:
        width = len(bodies[0])
        newline = physical[0][len(bodies[0]) :] or file.newline()
        chunks = [text[:width]]
        rest = text[width:]
        while rest:
            chunks.append(" " + rest[: width - 1])
            rest = rest[width - 1 :]
        text = newline.join(chunks)
    end_line, end_column = last + 1, len(bodies[-1]) + 1
    return replace(
        Replacement(file.path, attribute, old, new),
        line=first + 1,
        column=1,
        end_line=end_line,
        end_column=end_column,
        inserted=text,
    )
