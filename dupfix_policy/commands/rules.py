"""`dupfix rules`: every rule of every plugin, with its fix."""

from __future__ import annotations

import argparse
import sys

from ..errors import EXIT_OK
from ..plugins import Registry


def run(args: argparse.Namespace, registry: Registry) -> int:
    from ..ruledoc import render

    render((r.info for r in registry.rules.values()), args.format, sys.stdout)
    return EXIT_OK

