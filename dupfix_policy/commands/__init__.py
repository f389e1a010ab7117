"""One module per command, each a `run(args, registry)` over the application layer (`app/`).

Like yamllint's cli.py / linter.py split: `cli.py` parses and maps exceptions to exit codes; a
command wires settings, plugins and policy to the core and writes the report. A command's module
is imported only when that command runs, so `dupfix --help` and a check import nothing else.
"""

from __future__ import annotations

import argparse
from importlib import import_module

from ..plugins import load_registry

COMMANDS = ("check", "snapshot", "whois", "rules", "schema", "doctor", "audit", "sync", "fix")


def dispatch(args: argparse.Namespace) -> int:
    registry = load_registry()
    module = import_module(f"{__name__}.{args.command}")
    return int(module.run(args, registry))
