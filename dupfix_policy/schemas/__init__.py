"""JSON Schemas for the files people write (plan, policy, config), shipped as package data.

They are the contract `dupfix schema NAME` prints and editors validate against, and the loaders
validate with the very same files, so the documentation cannot drift from the checks.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema `NAME.schema.json` (e.g. "plan"), parsed once per process."""
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
