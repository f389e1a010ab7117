"""Validate a large, repetitive document by validating one example of each distinct shape.

jsonschema costs ~0.15 ms per plan change (20,000 generated changes: 3 s). Most changes in a big
plan differ only in their strings, and for a schema whose keywords look at strings only through
`enum`/`const` and emptiness, two list items with the same *shape* are valid or invalid together.
So list items are de-duplicated by shape, and only when that reduced document is invalid is the
whole one validated, to find and place the error. Schemas using any other keyword (`pattern`,
`maxLength`, `uniqueItems`...) are always validated in full.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_ANNOTATIONS = {
    "$schema",
    "$id",
    "$defs",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "errorMessage",
}
_SHAPE_SAFE = {
    "$ref",
    "type",
    "enum",
    "const",
    "properties",
    "additionalProperties",
    "required",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "items",
    "minProperties",
    "maxProperties",
}
_AT_MOST_ONE = {"minItems", "minLength"}  # safe while they only distinguish empty from not


def reducible(schema: Any, significant: set[Any] | None = None) -> set[Any] | None:
    """The enum/const values the schema compares with, or None if shapes cannot decide validity."""
    found: set[Any] = set() if significant is None else significant
    if isinstance(schema, bool):
        return found
    if not isinstance(schema, Mapping):
        return None
    for keyword, value in schema.items():
        if keyword in _AT_MOST_ONE:
            if value > 1:
                return None
        elif keyword in ("enum", "const"):
            for item in value if keyword == "enum" else [value]:
                if isinstance(item, (dict, list)):
                    return None
                found.add(_marker(item))
        elif keyword in ("properties", "$defs"):
            for sub in value.values():
                if reducible(sub, found) is None:
                    return None
        elif keyword in ("allOf", "anyOf", "oneOf"):
            for sub in value:
                if reducible(sub, found) is None:
                    return None
        elif keyword in ("additionalProperties", "not", "if", "then", "else", "items"):
            if reducible(value, found) is None:
                return None
        elif keyword not in _SHAPE_SAFE and keyword not in _ANNOTATIONS:
            return None
    return found


def reduce(instance: Any, significant: set[Any]) -> Any:
    """`instance` with every list cut down to its first item of each distinct shape."""
    return _walk(instance, significant)[1]


def _walk(value: Any, significant: set[Any]) -> tuple[Any, Any]:
    if isinstance(value, dict):
        parts = {k: _walk(v, significant) for k, v in value.items()}
        shape = ("d", tuple(sorted((k, p[0]) for k, p in parts.items())))
        return shape, {k: p[1] for k, p in parts.items()}
    if isinstance(value, list):
        kept: dict[Any, Any] = {}
        for item in value:
            shape, reduced = _walk(item, significant)
            kept.setdefault(shape, reduced)
        return ("l", tuple(kept)), list(kept.values())
    marker = _marker(value)
    if marker in significant:
        return marker, value
    if isinstance(value, str):
        return ("s", value == ""), value
    if isinstance(value, float):
        return ("f", value.is_integer()), value
    return (type(value).__name__,), value


def _marker(value: Any) -> tuple[str, Any]:
    # jsonschema compares 1 and 1.0 as equal (but not True and 1), and so must the shapes.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return ("number", value)
    return (type(value).__name__, value)
