"""Read a YAML or JSON file into plain data that remembers where each value was written.

Plans, policies and the config are written by people, so every later complaint ("duplicate UPN",
"unknown rule", "must be one of ...") has to point at a line. Standard loaders throw positions away;
this module keeps them, and turns every way a file can be unreadable into one `UserInputError`
that names the file, the line and the fix, never a traceback.

YAML is read (`yaml_text`) with the YAML 1.2 core schema rather than PyYAML's 1.1 default: `yes`,
`no`, `on`, `off`, `2026-12-31`, `1:20` and `0755` stay text, because in identity data they are
names, dates and codes, not booleans, timestamps or octal numbers. JSON (`.json`) is read by a
JSON parser of its own (see `_json_positions`), because PyYAML is not a JSON parser: tabs, `\\/`
escapes and surrogate pairs that every JSON tool accepts break or corrupt under it.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from .errors import UserInputError
from .model import Location

Pointer = tuple[str | int, ...]
Position = tuple[int, int]

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


@dataclass
class Document:
    """A parsed file: plain `data` plus the line and column of every value and mapping key.

    Pointers are tuples of mapping keys and list indexes, like a JSON pointer split into parts:
    `("changes", 2, "set", "proxyAddresses", 0)`.
    """

    path: str
    kind: str
    data: Any
    _values: dict[Pointer, Position] = field(default_factory=dict, repr=False)
    _keys: dict[Pointer, Position] = field(default_factory=dict, repr=False)
    _texts: dict[Pointer, str] = field(default_factory=dict, repr=False)

    def position(self, pointer: Pointer = ()) -> Location:
        """Where the value at `pointer` starts; the nearest ancestor's place if it has none."""
        if type(pointer) is not tuple:
            pointer = tuple(pointer)
        pos = self._values.get(pointer)
        if pos is not None:
            return Location(self.path, pos[0], pos[1])
        return self._find(self._values, pointer)

    def key_position(self, pointer: Pointer) -> Location:
        """Where the mapping key naming the value at `pointer` is written (else the value's place)."""
        pointer = tuple(pointer)
        pos = self._keys.get(pointer)
        if pos is not None:
            return Location(self.path, pos[0], pos[1])
        return self.position(pointer)

    def source_text(self, pointer: Pointer) -> str | None:
        """A number, boolean or null exactly as written (`007`, `1e3`), for fields that want text."""
        return self._texts.get(tuple(pointer))

    def _find(self, table: dict[Pointer, Position], pointer: Pointer) -> Location:
        while True:
            pos = table.get(pointer)
            if pos is not None:
                return Location(self.path, pos[0], pos[1])
            if not pointer:
                return Location(self.path, 1, 1)
            pointer = pointer[:-1]


MB = 1024 * 1024
DEFAULT_LIMIT = 512 * MB  # plans: a 1e6-row import is ~150 MB
LIMITS = {"config": 4 * MB, "policy": 16 * MB, "baseline": 256 * MB}


def open_regular(path: str, *, kind: str, limit: int = DEFAULT_LIMIT) -> BinaryIO:
    """A binary file handle on a regular file of at most `limit` bytes, else exit 2 saying why.

    Why: a path in a repository or a flag can name /dev/zero, /dev/stdin or a FIFO, which would
    make `read()` run forever, block, or fill memory. Only regular files are opened (checked before
    opening, so a FIFO's open can't block, and again on the open file); `read_limited` then never
    reads more than `limit` bytes, however large the file grows meanwhile.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UserInputError(
            f"{kind} file not found", location=Location(path), hint="check the path and the working directory"
        ) from None
    except OSError as exc:
        raise UserInputError(f"cannot read the {kind} file: {exc.strerror or exc}", location=Location(path)) from None
    if stat.S_ISDIR(st.st_mode):
        raise UserInputError(
            f"the {kind} path is a directory, not a file", location=Location(path), hint=f"name a {kind} file"
        )
    if not stat.S_ISREG(st.st_mode):
        raise UserInputError(
            f"the {kind} path is not a regular file (a device, FIFO or socket)",
            location=Location(path), hint=f"save the {kind} to a file and name that",
        )  # fmt: skip
    if st.st_size > limit:
        raise too_large(path, kind, limit)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        handle = os.fdopen(fd, "rb")
    except OSError as exc:
        raise UserInputError(f"cannot read the {kind} file: {exc.strerror or exc}", location=Location(path)) from None
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise UserInputError(f"the {kind} path is not a regular file", location=Location(path))
    return handle


def too_large(path: str, kind: str, limit: int) -> UserInputError:
    return UserInputError(
        f"the {kind} file is larger than {limit // MB} MB, more than dupfix reads",
        location=Location(path), hint=f"is this really a {kind} file? split it into smaller files",
    )  # fmt: skip


def read_limited(handle: BinaryIO, path: str, *, kind: str, limit: int = DEFAULT_LIMIT, size: int = 1 << 20) -> bytes:
    """The rest of `handle`, refusing more than `limit` bytes; `size` is the expected length."""
    chunks, total = [], 0
    try:
        while total <= limit:  # sized by the file, not the cap: read(limit) would allocate it
            chunk = handle.read(min(limit + 1 - total, max(size + 1 - total, 1 << 20)))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise UserInputError(f"cannot read the {kind} file: {exc.strerror or exc}", location=Location(path)) from None
    if total > limit:
        raise too_large(path, kind, limit)
    return b"".join(chunks)


def read_file(path: str, *, kind: str, limit: int = DEFAULT_LIMIT) -> bytes:
    """The bytes of a regular file of at most `limit` bytes (`open_regular`)."""
    with open_regular(path, kind=kind, limit=limit) as handle:
        return read_limited(handle, path, kind=kind, limit=limit, size=os.fstat(handle.fileno()).st_size)


def load_document(path: str, *, kind: str, allow_empty: bool = False) -> Document:
    """Read `path` (YAML, or JSON when it ends in `.json`); `kind` names the file in messages.

    `allow_empty` turns a file with nothing in it (or only comments) into an empty mapping, for
    files like `.dupfix.yaml` whose mere presence means something.
    """
    raw = read_file(path, kind=kind, limit=LIMITS.get(kind, DEFAULT_LIMIT))
    text = decode(raw, path, kind=kind)
    return parse_document(text, path, kind=kind, json=path.lower().endswith(".json"), allow_empty=allow_empty)


def decode(raw: bytes, path: str, *, kind: str) -> str:
    """Bytes to text: UTF-8 (with or without BOM), or UTF-16 that says so with a BOM."""
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise UserInputError(
            f"the {kind} file is UTF-32", location=Location(path, 1, 1), hint="save it as UTF-8"
        )
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise UserInputError(
                    f"the {kind} file starts with a UTF-16 byte-order mark but is not valid UTF-16",
                    location=Location(path),
                    hint=f"{exc.reason}; save it as UTF-8",
                ) from None
    data = raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[data.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8", "replace")) + 1
        raise UserInputError(
            f"the {kind} file is not UTF-8 text (byte 0x{data[exc.start]:02X} cannot be decoded)",
            location=Location(path, line, column),
            hint="save the file as UTF-8 (UTF-16 works too, with a byte-order mark)",
        ) from None


def parse_document(
    text: str, path: str, *, kind: str, json: bool = False, allow_empty: bool = False
) -> Document:
    """Parse text already in memory (shipped resources, tests); `path` is only used in messages."""
    if json:
        from ._json_positions import parse_json

        data, values, keys, texts = parse_json(text, path, kind=kind)
        doc = Document(path, kind, data, values, keys, texts)
    else:
        from .yaml_text import parse_yaml  # PyYAML only for a YAML file (~8 ms to import)

        doc = parse_yaml(text, path, kind)
    if doc.data is None and allow_empty:
        doc.data = {}
    if doc.data is None:
        raise UserInputError(
            f"the {kind} file is empty", location=Location(path, 1, 1), hint=f"write the {kind} as a mapping"
        )
    if not isinstance(doc.data, dict):
        found = "a list" if isinstance(doc.data, list) else "a single value"
        raise UserInputError(
            f"the {kind} must be a mapping (`key: value` lines) at the top level, not {found}",
            location=doc.position(()),
            hint="start the file with `version: 1`",
        )
    return doc


def field_path(pointer: Iterable[str | int]) -> str | None:
    """`("changes", 2, "op")` -> `changes[2].op`, the way people read it in a file."""
    out = ""
    for part in pointer:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out or None


def validate(document: Document, schema: Mapping[str, Any]) -> None:
    """Check `document.data` against a JSON Schema (Draft 2020-12); raise the most useful error.

    A valid document is recognised without jsonschema (`schema_check`): importing it costs more
    than a small check, so it is imported only when a file fails the fast path, to find and
    word the error.
    """
    from ._schema_fastpath import reduce, reducible
    from .schema_check import certainly_valid

    significant = reducible(schema)  # one example of each shape stands for the rest (big plans)
    data = reduce(document.data, significant) if significant is not None else document.data
    if certainly_valid(data, schema):
        return
    from .validation import validate as _validate

    _validate(document, schema)
