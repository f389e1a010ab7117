"""JSON Schemas for the files people write (plan, policy, config), shipped as package data.

They are the contract `dupfix schema NAME` prints and editors validate against, and the loaders
validate with the very same files, so the documentation cannot drift from the checks.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema `NAME.schema.json` (e.g. "plan"), parsed once per process."""
    schema: dict[str, Any] = json.loads(load_schema_text(name))
    return schema


def load_schema_text(name: str) -> str:
    """The file as shipped (what `dupfix schema NAME` prints).

    Beside this module in a wheel and in a checkout alike; importlib.resources or pathlib would
    add zipfile, urllib.parse and more to every check's start-up (docs/plugins.md "Start-up") for
    a package that is never zipped.
    """
    with open(os.path.join(os.path.dirname(__file__), f"{name}.schema.json"), encoding="utf-8") as fh:
        return fh.read()
