"""`dupfix schema NAME`: the JSON Schema of a file dupfix reads or writes."""

from __future__ import annotations

import argparse
import sys
from importlib import resources

from ..errors import EXIT_OK
from ..plugins import Registry


def run(args: argparse.Namespace, registry: Registry) -> int:
    text = resources.files("dupfix_policy.schemas").joinpath(f"{args.name}.schema.json").read_text("utf-8")
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK

