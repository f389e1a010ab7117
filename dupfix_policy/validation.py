"""JSON Schema validation that speaks like a person: one error, at its line, with what to do.

jsonschema's own messages (`'upsert' is not one of ['create', ...]`, `False schema does not allow
...`) are written for programmers. Here each failing keyword gets a plain sentence, a schema can
override it with an `errorMessage` (a string, or a mapping from keyword to string: the ajv-errors
convention, ignored by other validators), and the error reported is the first one in file order,
because that is the order people fix things in.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from ._schema_fastpath import reduce, reducible
from .documents import Document, Pointer, field_path
from .errors import UserInputError
from .model import Location

_VALIDATORS: dict[int, tuple[Mapping[str, Any], Draft202012Validator, set[Any] | None]] = {}
_WEAK = {"anyOf", "oneOf", "if", "then", "else", "allOf"}

_TYPE_WORDS = {
    "object": "a mapping (`key: value` pairs)",
    "array": "a list",
    "string": "text",
    "boolean": "true or false",
    "integer": "a whole number",
    "number": "a number",
    "null": "null",
}


def validate(document: Document, schema: Mapping[str, Any]) -> None:
    """Raise `UserInputError` for the first schema violation in `document`, if there is one."""
    error = first_error(document, schema)
    if error is not None:
        raise to_user_error(document, error)


def first_error(document: Document, schema: Mapping[str, Any]) -> ValidationError | None:
    """The violation to show: earliest in the file; at one place, the most specific keyword."""
    validator, significant = _validator(schema)
    if significant is not None and validator.is_valid(reduce(document.data, significant)):
        return None

    def key(error: ValidationError) -> tuple:
        # Ordered by the instance's place, so an unknown key (a typo) is named before the
        # `required` error it causes on the same mapping.
        loc = document.position(tuple(error.absolute_path))
        rank = 2 if error.validator == "additionalProperties" else 0 if error.validator in _WEAK else 1
        return (-(loc.line or 0), -(loc.column or 0), rank, len(error.absolute_path))

    return best_match(validator.iter_errors(document.data), key=key)


def _validator(schema: Mapping[str, Any]) -> tuple[Draft202012Validator, set[Any] | None]:
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = (schema, Draft202012Validator(schema), reducible(schema))
        _VALIDATORS[id(schema)] = cached
    return cached[1], cached[2]


def describe(value: Any) -> str:
    """A short rendering of a found value for "(found ...)"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f'"{shown}"'
    return str(value)


def _location(document: Document, error: ValidationError) -> Location:
    pointer: Pointer = tuple(error.absolute_path)
    extra = _extra_key(error)
    if extra is not None:
        return document.key_position((*pointer, extra))
    return document.position(pointer)


def _extra_key(error: ValidationError) -> str | None:
    """The offending key for errors about a key rather than a value."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extras = _extras(error)
        return extras[0] if extras else None
    if "propertyNames" in error.absolute_schema_path and isinstance(error.instance, str):
        return error.instance
    return None


def _extras(error: ValidationError) -> list[str]:
    schema: Any = error.schema  # jsonschema types these as unions with its `Unset` marker
    instance: Any = error.instance
    props = schema.get("properties", {})
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    return [k for k in instance if k not in props and not any(p.search(k) for p in patterns)]


def to_user_error(document: Document, error: ValidationError) -> UserInputError:
    """Turn one jsonschema error into the message a person can act on."""
    pointer: Pointer = tuple(error.absolute_path)
    location = _location(document, error)
    name = _extra_key(error)
    field = field_path((*pointer, name) if name is not None else pointer)
    custom = _custom_message(error)
    message = custom if custom is not None else _message(error)
    return UserInputError(message, location=location, field=field)


def _custom_message(error: ValidationError) -> str | None:
    if not isinstance(error.schema, Mapping):
        return None
    custom = error.schema.get("errorMessage")
    if isinstance(custom, Mapping):
        custom = custom.get(str(error.validator))
    return str(custom) if custom is not None else None


def _message(error: ValidationError) -> str:
    kind = error.validator
    expected: Any = error.validator_value
    found: Any = error.instance
    schema: Any = error.schema
    if kind == "enum":
        choices = ", ".join(describe(c).strip('"') for c in expected)
        return f"must be one of {choices} (found {describe(found)}){_suggest(found, expected)}"
    if kind == "const":
        return f"must be {describe(expected)} (found {describe(found)})"
    if kind == "type":
        types = [expected] if isinstance(expected, str) else list(expected)
        words = [_TYPE_WORDS.get(t, t) for t in types]
        wanted = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
        return f"must be {wanted} (found {describe(found)})"
    if kind == "required":
        missing = [r for r in expected if isinstance(found, dict) and r not in found]
        return f"missing `{missing[0] if missing else expected[0]}`"
    if kind == "additionalProperties":
        extras = _extras(error)
        allowed = sorted(schema.get("properties", {}))
        extra = extras[0] if extras else "?"
        hint = _suggest(extra, allowed) or f"; allowed here: {', '.join(allowed)}"
        return f"unknown field `{extra}`{hint}"
    if kind == "minItems":
        return "must not be empty" if expected == 1 else f"must have at least {expected} items"
    if kind == "maxItems":
        return f"must have at most {expected} items"
    if kind == "minProperties":
        return "must not be empty" if expected == 1 else f"must have at least {expected} fields"
    if kind == "maxProperties":
        return f"must have at most {expected} field{'s' if expected != 1 else ''} (found {len(found)})"
    if kind == "minLength":
        return "must not be empty" if expected == 1 else f"must be at least {expected} characters long"
    if kind == "maxLength":
        return f"must be at most {expected} characters long"
    if kind == "pattern":
        return f"{describe(found)} is not in the expected form (pattern {expected})"
    if kind == "format":
        return f"{describe(found)} is not a valid {expected}"
    if kind == "uniqueItems":
        return "must not list the same item twice"
    if kind in ("not", None) or error.schema is False:
        return "is not allowed here"
    if kind in ("anyOf", "oneOf"):
        return f"{describe(found)} does not match any of the allowed forms"
    return error.message


def _suggest(found: Any, choices: Iterable[Any]) -> str:
    if not isinstance(found, str):
        return ""
    options = {str(c).lower(): str(c) for c in choices}
    close = difflib.get_close_matches(found.lower(), list(options), n=1, cutoff=0.6)
    return f"; did you mean {options[close[0]]}?" if close else ""
