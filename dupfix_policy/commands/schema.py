"""`dupfix schema NAME`: the JSON Schema of a file dupfix reads or writes."""

from __future__ import annotations

import argparse
import sys

from ..errors import EXIT_OK
from ..plugins import Registry
from ..schemas import load_schema_text


def run(args: argparse.Namespace, registry: Registry) -> int:
    text = load_schema_text(args.name)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK

