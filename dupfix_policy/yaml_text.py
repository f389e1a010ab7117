"""YAML text -> `documents.Document`: PyYAML's composer, YAML 1.2 core scalars, a position for
every value and key, and every way the text can be unreadable as one `UserInputError`.

Its own module so that PyYAML is imported only by a process that reads a YAML file
(`documents.parse_document`): a `dupfix sync` or `snapshot` without a `.dupfix.yaml` reads none.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .documents import Document, Pointer
from .errors import UserInputError
from .model import Location

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
# Explicit tags whose YAML 1.1 meaning we decline: the text is kept as written.
_AS_TEXT = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary", "tag:yaml.org,2002:value"}

# Characters YAML forbids outside quoted escapes; a NUL usually means UTF-16 without a BOM.
_NON_PRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


_PLAIN_SCALARS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (_BOOL, re.compile(r"(?:true|True|TRUE|false|False|FALSE)")),
    (_INT, re.compile(r"[-+]?(?:0|[1-9][0-9]*)")),
    (_FLOAT, re.compile(r"[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)")),
    (_NULL, re.compile(r"(?:~|null|Null|NULL|)")),
    (_MERGE, re.compile(r"<<")),
)
_MAYBE_NOT_TEXT = frozenset("tTfF-+0123456789~nN<")


class _CoreLoader(_Loader):  # type: ignore[misc, valid-type]
    """PyYAML's safe loader, resolving plain scalars by the YAML 1.2 core schema.

    Ints have no leading zeros here (`007` stays text), and no path resolvers are consulted, which
    also makes resolving about three times faster than PyYAML's generic resolver.
    """

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0] and (not value or value[0] in _MAYBE_NOT_TEXT):
                for tag, pattern in _PLAIN_SCALARS:
                    if pattern.fullmatch(value):
                        return tag
            return _STR
        return _SEQ if kind is SequenceNode else _MAP


def parse_yaml(text: str, path: str, kind: str) -> Document:
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        hint = "a NUL byte usually means UTF-16 without a byte-order mark" if bad.group() == "\x00" else None
        raise UserInputError(
            f"the {kind} file contains the control character U+{ord(bad.group()):04X}, not allowed in YAML",
            location=Location(path, line, column),
            hint=(hint + "; " if hint else "") + "save the file as UTF-8 text",
        )
    try:
        root = yaml.compose(text, Loader=_CoreLoader)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, text, path, kind) from None
    except yaml.YAMLError as exc:
        raise UserInputError(f"invalid YAML in the {kind} file: {exc}", location=Location(path)) from None
    except RecursionError:
        raise UserInputError(f"the {kind} file is nested too deeply", location=Location(path)) from None
    doc = Document(path, kind, None)
    if root is not None:
        builder = _Builder(doc, budget=2 * len(text) + 100_000)
        try:
            doc.data = builder.build(root, ())
        except RecursionError:
            raise UserInputError(f"the {kind} file is nested too deeply", location=Location(path)) from None
    return doc


def _yaml_error(exc: yaml.MarkedYAMLError, text: str, path: str, kind: str) -> UserInputError:
    mark = exc.problem_mark or exc.context_mark
    location = Location(path, mark.line + 1, mark.column + 1) if mark is not None else Location(path)
    problem = exc.problem or exc.context or "unreadable"
    if exc.context and exc.problem and exc.context_mark is not None:
        problem += f" ({exc.context} on line {exc.context_mark.line + 1})"
    if "single document" in str(exc.context or ""):
        return UserInputError(
            f"the {kind} file holds more than one YAML document (a second `---`)",
            location=location,
            hint="keep everything in one document",
        )
    hint = "check the indentation and quoting on that line and the one before"
    lines = text.split("\n")
    before = lines[mark.line][: mark.column + 1] if mark is not None and mark.line < len(lines) else ""
    if "\t" in before or "tab" in problem:
        hint = "YAML indentation must use spaces, not tabs"
    return UserInputError(f"invalid YAML: {problem}", location=location, hint=hint)


class _Builder:
    """Node tree -> plain data, recording positions and refusing duplicate keys."""

    def __init__(self, doc: Document, budget: int) -> None:
        self.doc = doc
        self.budget = budget
        self.active: set[int] = set()

    def build(self, node: Node, pointer: Pointer) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise self._error(node, "expands to too much data through aliases", "use fewer nested `*aliases`")
        self.doc._values[pointer] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, ScalarNode):
            return self._scalar(node, pointer)
        if id(node) in self.active:
            raise self._error(
                node, "an alias refers to the mapping or list that contains it", "remove the loop"
            )
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                self._check_tag(node, _SEQ)
                return [self.build(item, (*pointer, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, MappingNode)
            self._check_tag(node, _MAP)
            return self._mapping(node, pointer)
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: MappingNode, pointer: Pointer) -> dict[str, Any]:
        out: dict[str, Any] = {}
        seen: dict[str, ScalarNode] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self._error(
                    key_node, "mapping keys must be plain text", "write the key as a simple word"
                )
            if key_node.tag == _MERGE:
                merges.extend(value_node.value if isinstance(value_node, SequenceNode) else [value_node])
                continue
            key = key_node.value
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise self._error(
                    key_node,
                    f"duplicate key `{key}` (lines {first} and {key_node.start_mark.line + 1})",
                    "YAML would silently keep only the last one; remove or rename one of them",
                )
            seen[key] = key_node
            at: Pointer = (*pointer, key)
            self.doc._keys[at] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, (*pointer, key))
        for merged in merges:  # explicit keys win, then earlier merges win (YAML merge-key rules)
            if not isinstance(merged, MappingNode):
                raise self._error(merged, "`<<` must merge a mapping or a list of mappings", None)
            for key_node, value_node in merged.value:
                key = str(key_node.value)
                if key not in out:
                    merged_at: Pointer = (*pointer, key)
                    self.doc._keys[merged_at] = (
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                    )
                    out[key] = self.build(value_node, (*pointer, key))
        return out

    def _scalar(self, node: ScalarNode, pointer: Pointer) -> Any:
        tag, text = node.tag, node.value
        if tag == _STR or tag in _AS_TEXT:
            return text
        if tag == _NULL:
            self.doc._texts[pointer] = text
            return None
        if tag == _BOOL:
            if text.lower() not in ("true", "false"):
                raise self._error(node, f"`{text}` is not a boolean", "write true or false")
            self.doc._texts[pointer] = text
            return text.lower() == "true"
        if tag in (_INT, _FLOAT):
            self.doc._texts[pointer] = text
            try:
                return int(text) if tag == _INT else float(text)
            except ValueError:
                raise self._error(
                    node, f"`{text}` is not a number", "remove the tag or fix the value"
                ) from None
        raise self._error(node, f"unsupported YAML tag `{tag}`", "remove the tag; plain values are enough")

    def _check_tag(self, node: Node, expected: str) -> None:
        if node.tag != expected:
            raise self._error(
                node, f"unsupported YAML tag `{node.tag}`", "remove the tag; plain values are enough"
            )

    def _error(self, node: Node, message: str, hint: str | None) -> UserInputError:
        mark = node.start_mark
        return UserInputError(
            message, location=Location(self.doc.path, mark.line + 1, mark.column + 1), hint=hint
        )
