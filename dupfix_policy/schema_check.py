"""A small JSON Schema (Draft 2020-12) checker for the keywords dupfix's own schemas use.

Why: importing jsonschema and building a validator costs more than a whole 10-change check
(docs/plugins.md "Start-up"). Almost every file dupfix reads is valid, so this module answers the
one question the fast path needs — "is this document certainly valid?" — without jsonschema.
Only a "no" (or a keyword this module does not implement) sends the document to jsonschema,
which then finds and words the error exactly as before (`validation.py`).

It never says "valid" for a document jsonschema would reject: every keyword it meets is either
implemented with jsonschema's semantics (`type` with 1.0 an integer and booleans not numbers,
`enum`/`const` with True != 1, `pattern` as an unanchored search) or an annotation; anything else
raises `Unsupported`, and the caller falls back. `format` is an annotation, as in jsonschema's
default (no format checker).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples", "errorMessage",
     "format", "deprecated", "readOnly", "writeOnly"}
)  # fmt: skip


class Unsupported(Exception):
    """A keyword or reference this checker does not implement: ask jsonschema."""


def certainly_valid(instance: Any, schema: Mapping[str, Any]) -> bool:
    """True only when `instance` is valid; False when invalid or not decidable here."""
    try:
        return _valid(instance, schema, schema)
    except Unsupported:
        return False


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "number":
        return isinstance(value, (int, float))
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    raise Unsupported(f"type {name!r}")


def _equal(a: Any, b: Any) -> bool:
    """JSON equality as jsonschema sees it: 1 == 1.0, but True is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _resolve(ref: str, root: Mapping[str, Any]) -> Mapping[str, Any]:
    if not ref.startswith("#"):
        raise Unsupported(f"$ref {ref!r}")
    node: Any = root
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            raise Unsupported(f"$ref {ref!r}")
        node = node[part]
    if not isinstance(node, Mapping):
        raise Unsupported(f"$ref {ref!r}")
    return node


def _valid(value: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    if schema is True:
        return True
    if schema is False:
        return False
    if not isinstance(schema, Mapping):
        raise Unsupported("schema")
    for key, arg in schema.items():
        if key in ANNOTATIONS or key in ("then", "else"):
            continue
        if key == "$ref":
            ok = _valid(value, _resolve(arg, root), root)
        elif key == "type":
            ok = any(_is_type(value, t) for t in arg) if isinstance(arg, list) else _is_type(value, arg)
        elif key == "enum":
            ok = any(_equal(value, option) for option in arg)
        elif key == "const":
            ok = _equal(value, arg)
        elif key == "properties":
            ok = not isinstance(value, dict) or all(
                _valid(value[name], sub, root) for name, sub in arg.items() if name in value
            )
        elif key == "additionalProperties":
            if "patternProperties" in schema:
                raise Unsupported("patternProperties")
            known = schema.get("properties", {})
            ok = not isinstance(value, dict) or all(
                _valid(item, arg, root) for name, item in value.items() if name not in known
            )
        elif key == "required":
            ok = not isinstance(value, dict) or all(name in value for name in arg)
        elif key == "propertyNames":
            ok = not isinstance(value, dict) or all(_valid(name, arg, root) for name in value)
        elif key == "minProperties":
            ok = not isinstance(value, dict) or len(value) >= arg
        elif key == "maxProperties":
            ok = not isinstance(value, dict) or len(value) <= arg
        elif key == "items":
            if not isinstance(arg, (Mapping, bool)):
                raise Unsupported("items as a list")
            ok = not isinstance(value, list) or all(_valid(item, arg, root) for item in value)
        elif key == "minItems":
            ok = not isinstance(value, list) or len(value) >= arg
        elif key == "maxItems":
            ok = not isinstance(value, list) or len(value) <= arg
        elif key == "uniqueItems":
            ok = not arg or not isinstance(value, list) or all(
                not _equal(a, b) for i, a in enumerate(value) for b in value[i + 1 :]
            )
        elif key == "minLength":
            ok = not isinstance(value, str) or len(value) >= arg
        elif key == "maxLength":
            ok = not isinstance(value, str) or len(value) <= arg
        elif key == "pattern":
            ok = not isinstance(value, str) or _regex(arg).search(value) is not None
        elif key == "minimum":
            ok = not _is_type(value, "number") or value >= arg
        elif key == "maximum":
            ok = not _is_type(value, "number") or value <= arg
        elif key == "not":
            ok = not _valid(value, arg, root)
        elif key == "allOf":
            ok = all(_valid(value, sub, root) for sub in arg)
        elif key == "anyOf":
            ok = any(_valid(value, sub, root) for sub in arg)
        elif key == "oneOf":
            ok = sum(1 for sub in arg if _valid(value, sub, root)) == 1
        elif key == "if":
            branch = schema.get("then") if _valid(value, arg, root) else schema.get("else")
            ok = branch is None or _valid(value, branch, root)
        else:
            raise Unsupported(key)
        if not ok:
            return False
    return True
