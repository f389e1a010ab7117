"""Bytes to text for the line-based plan formats (CSV, LDIF), as the tools that write them encode.

Excel writes CSV as UTF-8 with a byte-order mark, or as "Unicode text" (UTF-16 little-endian with
a BOM); `ldifde -u` writes UTF-16 too; some exporters write UTF-16 with no BOM at all. The native
loader's `documents.decode` handles UTF-8 and BOM-marked UTF-16; this adds BOM-less UTF-16 (told
apart by its NUL bytes) and an encoding named in `.dupfix.yaml`, so a legacy ANSI export can be
read on purpose rather than guessed at.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from ..documents import DEFAULT_LIMIT, decode, open_regular, read_file, read_limited, too_large
from ..errors import UserInputError
from ..model import Location

_NEWLINE = re.compile(r"\r\n|\r|\n")
READ_BLOCK = 1 << 20
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


def read_bytes(path: str, kind: str) -> bytes:
    """A plan file's bytes: regular files only, size-capped (`documents.read_file`)."""
    return read_file(path, kind=kind)


def bomless_utf16(raw: bytes) -> str | None:
    """ "utf-16-le"/"utf-16-be" when the text looks like UTF-16 without a BOM (ASCII with NULs)."""
    if raw.startswith(_BOMS) or len(raw) < 4:
        return None
    sample = raw[:256]
    sample = sample[: len(sample) - len(sample) % 2]
    odd_nuls = sample[1::2].count(0)
    even_nuls = sample[0::2].count(0)
    half = len(sample) // 2
    if odd_nuls >= half * 0.6 and even_nuls == 0:
        return "utf-16-le"
    if even_nuls >= half * 0.6 and odd_nuls == 0:
        return "utf-16-be"
    return None


def decode_text(raw: bytes, path: str, *, kind: str, encoding: str | None = None) -> str:
    """UTF-8 (with or without BOM), UTF-16 (with or without BOM), or the configured encoding."""
    if encoding:
        try:
            if not codecs.lookup(encoding)._is_text_encoding:  # type: ignore[attr-defined]
                raise LookupError(encoding)
        except LookupError:
            raise UserInputError(
                f"unknown text encoding {encoding!r}",
                field="csv.encoding",
                hint="use a Python codec name such as utf-8, utf-16, cp1252 or latin-1",
            ) from None
        try:
            text = raw.decode(encoding)
        except UnicodeError as exc:
            start = getattr(exc, "start", 0)
            raise UserInputError(
                f"the {kind} file is not valid {encoding} text ({getattr(exc, 'reason', exc)})",
                location=Location(path, raw.count(b"\n", 0, start) + 1),
                hint="fix csv.encoding in .dupfix.yaml, or save the file as UTF-8",
            ) from None
        return text.removeprefix("\ufeff")
    utf16 = bomless_utf16(raw)
    if utf16 is not None:
        try:
            return raw[: len(raw) - len(raw) % 2].decode(utf16).removeprefix("\ufeff")
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: let the UTF-8 decoder name the bad byte
    return decode(raw, path, kind=kind)


def lines_of(text: str) -> list[str]:
    """Physical lines, whatever the line ends (CRLF from Windows tools, LF, lone CR)."""
    lines = _NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def iter_lines(text: str) -> Iterator[str]:
    """`lines_of` one line at a time: a large file's text is not copied into a list of lines."""
    pos, size = 0, len(text)
    search = _NEWLINE.search
    while pos < size:
        found = search(text, pos)
        if found is None:
            yield text[pos:]
            return
        yield text[pos : found.start()]
        pos = found.end()


def stream_lines(path: str, kind: str, encoding: str | None = None) -> Iterator[str]:
    """The lines of a text plan file, decoded as they are read (what `lines_of(decode_text(...))` gives).

    Why: a 1e6-row import is ~150 MB; holding its bytes, its text and then a list of its lines
    costs three times that before a single row is parsed. Plain UTF-8 (the common case) is decoded
    block by block; UTF-16, a configured encoding, or a decoding error fall back to `decode_text`
    on the whole file, so every message stays exactly what it was.
    """
    with open_regular(path, kind=kind) as fh:
        head = fh.read(READ_BLOCK)
        if encoding or bomless_utf16(head) is not None or head.startswith(_BOMS[1:]):
            rest = read_limited(fh, path, kind=kind, limit=DEFAULT_LIMIT - len(head))
            yield from iter_lines(decode_text(head + rest, path, kind=kind, encoding=encoding))
            return
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        carry, total, block = "", len(head), head
        while block:
            try:
                buffer = carry + decoder.decode(block)
            except UnicodeDecodeError:
                decode_text(read_file(path, kind=kind), path, kind=kind)  # raises, naming line and column
                raise
            hold = ""
            if buffer.endswith("\r"):  # maybe the first half of a CRLF split across blocks
                buffer, hold = buffer[:-1], "\r"
            parts = _NEWLINE.split(buffer)
            carry = parts.pop() + hold
            yield from parts
            block = fh.read(READ_BLOCK)
            total += len(block)
            if total > DEFAULT_LIMIT:
                raise too_large(path, kind, DEFAULT_LIMIT)
        try:
            carry += decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            decode_text(read_file(path, kind=kind), path, kind=kind)
            raise
        parts = _NEWLINE.split(carry)
        if parts[-1] == "":
            parts.pop()
        yield from parts


def head_text(head: bytes) -> str:
    """The first bytes of a file as text, for detection only: never raises."""
    for bom, enc in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            body = head[len(bom) :]
            return body[: len(body) - len(body) % 2].decode(enc, "replace")
    utf16 = bomless_utf16(head)
    if utf16 is not None:
        return head[: len(head) - len(head) % 2].decode(utf16, "replace")
    return head.removeprefix(codecs.BOM_UTF8).decode("utf-8", "replace")
