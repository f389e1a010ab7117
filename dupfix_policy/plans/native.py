"""The native plan format: `version: 1` and a list of `changes` (docs/formats.md "Native plan format").

Structure is checked by `schemas/plan.schema.json` (the same file `dupfix schema plan` prints);
what a schema cannot say well is checked here: attribute names are case-insensitive, a near miss
of a name the checker judges is an error (a misspelt `userPrincipleName` would otherwise be carried
unchecked and the plan would pass), and refs are unique. Every change and every value keeps its
line, so findings point at the exact proxy address, not just the change.
"""

from __future__ import annotations

import codecs
import copy
import dataclasses
import os
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from ..documents import Document, Pointer, field_path, load_document, validate
from ..errors import UserInputError
from ..model import (
    JUDGED_ATTRIBUTES,
    KNOWN_ATTRIBUTES,
    MULTI_VALUED,
    TARGET_ATTRIBUTES,
    Change,
    Location,
    Plan,
    Target,
    canonical_attribute,
)
from ..schemas import load_schema
from . import extensions

EXTENSIONS = extensions("native")
CONFIG_NAMES = frozenset({".dupfix.yaml", ".dupfix.yml"})
# Attributes people write as yes/no: YAML 1.1 habits are honoured here, and only here.
BOOLEAN_ATTRIBUTES = frozenset({"mailEnabled", "securityEnabled", "accountEnabled"})
_TRUE = frozenset({"true", "yes", "on", "y", "1"})
_FALSE = frozenset({"false", "no", "off", "n", "0"})
# Real attributes that sit close to a judged name but are not typos of it (streetAddress ~
# targetAddress): carried like any other attribute.
NOT_NEAR_MISSES = frozenset(
    name.lower()
    for name in (
        "streetAddress",
        "onPremisesUserPrincipalName",
        "onPremisesDistinguishedName",
        "securityIdentifier",
        "displayNamePrintable",
        "mailboxSettings",
    )
)
_NEAR_MISS_CUTOFF = 0.8
_SEPARATORS = re.compile(r"[\s_.-]+")


def _top_level_key(key: str) -> re.Pattern[str]:
    """`key:` at the start of a line (YAML block style) or after `{`/`,` (JSON, YAML flow style)."""
    quoted = rf"""["']?{key}["']?[ \t]*:"""
    return re.compile(rf"(?:^{quoted}|[{{,]\s*{quoted})", re.MULTILINE)


_CHANGES = _top_level_key("changes")
_OBJECTS = _top_level_key("objects")
_TERRAFORM = _top_level_key("format_version")  # a Terraform plan JSON: plans/terraform.py reads it


def detect(path: str, head: bytes) -> bool:
    """A .yaml/.yml/.json file with a top-level `changes` key, and not a snapshot or config file."""
    name = os.path.basename(path).lower()
    if not name.endswith(EXTENSIONS) or name in CONFIG_NAMES:
        return False
    text = _head_text(head)
    return _CHANGES.search(text) is not None and _OBJECTS.search(text) is None and _TERRAFORM.search(text) is None


def _head_text(head: bytes) -> str:
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, "ignore")
    return head.decode("utf-8", "replace")


def load(path: str, options: Mapping[str, Any] | None = None) -> Plan:
    """Read a native plan file into a `Plan`; every problem is a `UserInputError` at its line."""
    doc = load_document(path, kind="plan")
    changes = doc.data.get("changes")
    # Every mistake but emptiness first, so a typo (`chnages:`) or a wrong version is named as such.
    without_null = {k: v for k, v in doc.data.items() if not (k == "changes" and v is None)}
    validate(dataclasses.replace(doc, data=without_null), _lenient_schema())
    if not changes:
        where = doc.key_position(("changes",)) if "changes" in doc.data else doc.position(())
        raise UserInputError(
            "the plan has no changes",
            location=where,
            hint="list at least one change under `changes:`, or delete the file; "
            "`dupfix schema plan` shows the format",
        )
    builder = _ChangeBuilder(doc)
    built = tuple(builder.change(i) for i in range(len(changes)))
    return Plan(path=path, format="native", changes=_with_suppressions(path, built))


def _with_suppressions(path: str, changes: tuple[Change, ...]) -> tuple[Change, ...]:
    """`# dupfix: ignore CODE reason` on or above a change (YAML; JSON has no comments)."""
    if path.lower().endswith(".json"):
        return changes
    from ..documents import decode
    from . import suppression
    from ._text import lines_of, read_bytes

    lines = lines_of(decode(read_bytes(path, "plan"), path, kind="plan"))
    marks = suppression.by_start_line(lines, [c.location.line or 1 for c in changes], path)
    return tuple(dataclasses.replace(c, suppressions=m) if m else c for c, m in zip(changes, marks, strict=True))


@cache
def _lenient_schema() -> dict[str, Any]:
    """The published schema, minus "changes is required and not empty" (reported separately)."""
    schema = copy.deepcopy(load_schema("plan"))
    schema["required"] = [r for r in schema["required"] if r != "changes"]
    changes = schema["properties"]["changes"]
    changes.pop("minItems", None)
    return schema


class _ChangeBuilder:
    """Turns schema-valid change mappings into `Change`s, checking what the schema cannot."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.refs: dict[str, Location] = {}
        self.locations: dict[tuple[str, str], Location] = {}

    def change(self, index: int) -> Change:
        base: Pointer = ("changes", index)
        raw: dict[str, Any] = self.doc.data["changes"][index]
        self.locations = {}
        ref = raw.get("ref")
        if ref is not None:
            self._check_ref(ref, (*base, "ref"))
        set_ = self._set(raw.get("set") or {}, (*base, "set"))
        add = self._edits(raw.get("add") or {}, (*base, "add"), set_)
        remove = self._edits(raw.get("remove") or {}, (*base, "remove"), set_)
        return Change(
            op=raw["op"],
            kind=raw["kind"],
            location=self.doc.position(base),
            index=index,
            directory=raw.get("directory", "entra"),
            ref=ref,
            target=self._target(raw["target"], (*base, "target")) if "target" in raw else None,
            set=set_,
            add=add,
            remove=remove,
            purge=bool(raw.get("purge", False)),
            value_locations=self.locations,
        )

    def _check_ref(self, ref: str, pointer: Pointer) -> None:
        here = self.doc.position(pointer)
        first = self.refs.get(ref)
        if first is None:
            self.refs[ref] = here
        else:
            raise UserInputError(
                f"ref `{ref}` is used by two changes (lines {first.line} and {here.line})",
                location=here,
                field=field_path(pointer),
                hint="give each change its own ref",
            )

    def _target(self, raw: dict[str, Any], pointer: Pointer) -> Target:
        ((name, value),) = raw.items()
        attribute = canonical_attribute(name)
        if attribute not in TARGET_ATTRIBUTES:
            import difflib  # only for a mistyped target attribute

            close = difflib.get_close_matches(name.lower(), [a.lower() for a in TARGET_ATTRIBUTES], 1, 0.6)
            suggestion = next((a for a in TARGET_ATTRIBUTES if close and a.lower() == close[0]), None)
            raise UserInputError(
                f"a target cannot be named by `{name}`"
                + (f": did you mean {suggestion}?" if suggestion else ""),
                location=self.doc.key_position((*pointer, name)),
                field=field_path((*pointer, name)),
                hint=f"use one of {', '.join(TARGET_ATTRIBUTES)}",
            )
        return Target(attribute, value)

    def _names(self, raw: dict[str, Any], pointer: Pointer) -> dict[str, str]:
        """Written name -> canonical name for one mapping of attributes, refusing near misses and twins."""
        out: dict[str, str] = {}
        seen: dict[str, str] = {}
        for name in raw:
            attribute = _attribute(name, self.doc, (*pointer, name))
            if attribute in seen:
                first = self.doc.key_position((*pointer, seen[attribute]))
                here = self.doc.key_position((*pointer, name))
                raise UserInputError(
                    f"{attribute} is written twice, as `{seen[attribute]}` and `{name}` "
                    f"(lines {first.line} and {here.line})",
                    location=here,
                    field=field_path((*pointer, name)),
                    hint="attribute names are case-insensitive; keep one",
                )
            seen[attribute] = name
            out[name] = attribute
        return out

    def _set(self, raw: dict[str, Any], pointer: Pointer) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, attribute in self._names(raw, pointer).items():
            at = (*pointer, name)
            self.locations.setdefault((attribute, ""), self.doc.key_position(at))
            out[attribute] = self._set_value(attribute, raw[name], at)
        return out

    def _set_value(self, attribute: str, value: Any, at: Pointer) -> Any:
        if attribute in MULTI_VALUED:
            if value is None:
                return ()
            if isinstance(value, bool):
                raise self._value_error(at, f"{attribute} takes a list of text, not {_bool(value)}")
            return self._texts(attribute, value, at)
        if isinstance(value, list):
            if attribute in KNOWN_ATTRIBUTES:
                raise self._value_error(
                    at,
                    f"{attribute} takes one value, not a list",
                    hint=f"only multi-valued attributes take lists: {', '.join(sorted(MULTI_VALUED))}",
                )
            return self._texts(attribute, value, at)
        if attribute in BOOLEAN_ATTRIBUTES:
            return self._boolean(attribute, value, at)
        if isinstance(value, bool):
            if attribute in JUDGED_ATTRIBUTES:
                raise self._value_error(
                    at, f"{attribute} takes text, not {_bool(value)}", hint="quote the value"
                )
            return value
        if value is None:
            return None
        return self._text(attribute, value, at)

    def _boolean(self, attribute: str, value: Any, at: Pointer) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        word = (self.doc.source_text(at) or str(value)).strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise self._value_error(at, f"{attribute} must be true or false (found {value!r})")

    def _edits(
        self, raw: dict[str, Any], pointer: Pointer, set_: Mapping[str, Any]
    ) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        verb = pointer[-1]
        for name, attribute in self._names(raw, pointer).items():
            at = (*pointer, name)
            if attribute in KNOWN_ATTRIBUTES and attribute not in MULTI_VALUED:
                raise UserInputError(
                    f"`{verb}` edits multi-valued attributes only, not {attribute}",
                    location=self.doc.key_position(at),
                    field=field_path(at),
                    hint=f"use `set: {{{attribute}: ...}}` to change it; "
                    f"multi-valued: {', '.join(sorted(MULTI_VALUED))}",
                )
            if attribute in set_:
                raise UserInputError(
                    f"{attribute} is both replaced (`set`) and edited (`{verb}`) in one change",
                    location=self.doc.key_position(at),
                    field=field_path(at),
                    hint="use `set` for the whole new list, or `add`/`remove` for the edits, not both",
                )
            self.locations.setdefault((attribute, ""), self.doc.key_position(at))
            out[attribute] = self._texts(attribute, raw[name], at)
        return out

    def _texts(self, attribute: str, value: Any, at: Pointer) -> tuple[str, ...]:
        """A list (or a lone value, read as a one-item list) as a tuple of text."""
        if isinstance(value, list):
            return tuple(self._text(attribute, item, (*at, i)) for i, item in enumerate(value))
        return (self._text(attribute, value, at),)

    def _text(self, attribute: str, value: Any, at: Pointer) -> str:
        text = value if isinstance(value, str) else (self.doc.source_text(at) or str(value))
        self.locations.setdefault((attribute, text), self.doc.position(at))
        return text

    def _value_error(self, at: Pointer, message: str, hint: str | None = None) -> UserInputError:
        return UserInputError(message, location=self.doc.position(at), field=field_path(at), hint=hint)


def _attribute(name: str, doc: Document, at: Pointer) -> str:
    """The canonical spelling of an attribute name; a near miss of a judged name is an error."""
    attribute = canonical_attribute(name)
    if attribute in KNOWN_ATTRIBUTES or name.lower() in NOT_NEAR_MISSES:
        return attribute
    suggestion = near_miss(name)
    if suggestion is not None:
        raise UserInputError(
            f"unknown attribute `{name}`: did you mean {suggestion}?",
            location=doc.key_position(at),
            field=field_path(at),
            hint=f"a misspelt name is carried unchecked, so {suggestion} would not be checked for duplicates",
        )
    return attribute


def near_miss(name: str) -> str | None:
    """The judged attribute `name` is probably a misspelling of, if any (`userPrincipleName`)."""
    judged = {a.lower(): a for a in JUDGED_ATTRIBUTES}
    squeezed = _SEPARATORS.sub("", name.lower())
    import difflib

    close = difflib.get_close_matches(squeezed, list(judged), n=1, cutoff=_NEAR_MISS_CUTOFF)
    return judged[close[0]] if close else None


def _bool(value: bool) -> str:
    return "true" if value else "false"
