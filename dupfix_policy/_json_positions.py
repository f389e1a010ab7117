"""A strict JSON parser that records the line and column of every value and key.

Why not `json.loads` plus something else for positions: the stdlib throws positions away, and PyYAML
(the other parser at hand) is YAML 1.1, which rejects tabs and `\\/` and splits surrogate pairs
that JSON allows. This parser reuses the stdlib's C string scanner, so strings, escapes and error
wording are exactly `json`'s; it only walks the structure itself. JSON strings cannot contain raw
newlines, so line numbers are counted in the whitespace between tokens alone.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import UserInputError
from .model import Location

Pointer = tuple[str | int, ...]
Position = tuple[int, int]

_WS = re.compile(r"[ \t\n\r]*")
_WS_CHARS = frozenset(" \t\n\r")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_LITERALS = {"true": True, "false": False, "null": None}
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


class _Fail(Exception):
    def __init__(self, message: str, index: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.index, self.hint = message, index, hint


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.line = 1
        self.line_start = 0
        self.values: dict[Pointer, Position] = {}
        self.keys: dict[Pointer, Position] = {}
        self.texts: dict[Pointer, str] = {}

    def skip(self, index: int) -> int:
        if self.text[index : index + 1] not in _WS_CHARS:
            return index
        end = _WS.match(self.text, index).end()  # type: ignore[union-attr]
        newlines = self.text.count("\n", index, end)
        if newlines:
            self.line += newlines
            self.line_start = self.text.rfind("\n", index, end) + 1
        return end

    def here(self, index: int) -> Position:
        return (self.line, index - self.line_start + 1)

    def value(self, index: int, pointer: Pointer) -> tuple[Any, int]:
        text = self.text
        self.values[pointer] = self.here(index)
        char = text[index : index + 1]
        if char == '"':
            return self.string(index)
        if char == "{":
            return self.obj(index + 1, pointer)
        if char == "[":
            return self.array(index + 1, pointer)
        for word, literal in _LITERALS.items():
            if text.startswith(word, index):
                self.texts[pointer] = word
                return literal, index + len(word)
        match = _NUMBER.match(text, index)
        if match is not None:
            self.texts[pointer] = match.group()
            number = float(match.group()) if match.group(1) or match.group(2) else int(match.group())
            return number, match.end()
        hint = None
        if text.startswith(("NaN", "Infinity", "-Infinity"), index):
            hint = "JSON has no NaN or Infinity; quote the value"
        elif char == "'":
            hint = "JSON strings use double quotes"
        raise _Fail("Expecting value", index, hint)

    def string(self, index: int) -> tuple[str, int]:
        try:
            return _scanstring(self.text, index + 1, True)  # type: ignore[no-any-return]
        except json.JSONDecodeError as exc:
            raise _Fail(exc.msg.removesuffix(" at").removesuffix(" starting"), exc.pos) from None

    def obj(self, index: int, pointer: Pointer) -> tuple[dict[str, Any], int]:
        out: dict[str, Any] = {}
        index = self.skip(index)
        if self.text[index : index + 1] == "}":
            return out, index + 1
        while True:
            if self.text[index : index + 1] != '"':
                hint = "remove the trailing comma" if self.text[index : index + 1] == "}" else None
                raise _Fail("Expecting property name enclosed in double quotes", index, hint)
            key_index, key_pos = index, self.here(index)
            key, index = self.string(index)
            child = (*pointer, key)
            if child in self.keys:
                first = self.keys[child][0]
                raise _Fail(
                    f"duplicate key `{key}` (lines {first} and {key_pos[0]})",
                    key_index,
                    "JSON readers would silently keep only one of them; remove or rename one",
                )
            self.keys[child] = key_pos
            index = self.skip(index)
            if self.text[index : index + 1] != ":":
                raise _Fail("Expecting ':' delimiter", index)
            index = self.skip(index + 1)
            out[key], index = self.value(index, child)
            index = self.skip(index)
            char = self.text[index : index + 1]
            if char == "}":
                return out, index + 1
            if char != ",":
                raise _Fail("Expecting ',' delimiter", index)
            index = self.skip(index + 1)

    def array(self, index: int, pointer: Pointer) -> tuple[list[Any], int]:
        out: list[Any] = []
        index = self.skip(index)
        if self.text[index : index + 1] == "]":
            return out, index + 1
        while True:
            if self.text[index : index + 1] == "]":
                raise _Fail("Expecting value", index, "remove the trailing comma")
            item, index = self.value(index, (*pointer, len(out)))
            out.append(item)
            index = self.skip(index)
            char = self.text[index : index + 1]
            if char == "]":
                return out, index + 1
            if char != ",":
                raise _Fail("Expecting ',' delimiter", index)
            index = self.skip(index + 1)


def parse_json(
    text: str, path: str, *, kind: str
) -> tuple[Any, dict[Pointer, Position], dict[Pointer, Position], dict[Pointer, str]]:
    """Parse `text` as strict JSON: (data, value positions, key positions, literal texts)."""
    parser = _Parser(text)
    try:
        index = parser.skip(0)
        if index == len(text):
            return None, {}, {}, {}
        data, index = parser.value(index, ())
        index = parser.skip(index)
        if index != len(text):
            raise _Fail("Extra data", index, "the file must hold a single JSON value")
    except _Fail as fail:
        line = text.count("\n", 0, fail.index) + 1
        column = fail.index - (text.rfind("\n", 0, fail.index) + 1) + 1
        message = fail.message if fail.message.startswith("duplicate") else f"invalid JSON: {fail.message}"
        raise UserInputError(message, location=Location(path, line, column), hint=fail.hint) from None
    except RecursionError:
        raise UserInputError(f"the {kind} file is nested too deeply", location=Location(path)) from None
    return data, parser.values, parser.keys, parser.texts
