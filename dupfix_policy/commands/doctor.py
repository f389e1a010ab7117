"""`dupfix doctor`: each source checks its own set-up; exit 3 if a check run would fail."""

from __future__ import annotations

import argparse
import sys

from ..app import opened, resolve
from ..errors import EXIT_OK, EXIT_STATE_UNAVAILABLE, DupfixError
from ..interfaces import Diagnosable, DoctorLine
from ..plugins import Registry


def run(args: argparse.Namespace, registry: Registry) -> int:
    """One line per check of each source's set-up; exit 3 if a check run would fail."""
    settings = resolve(args)
    failed = False
    with opened(settings.sources, registry, settings) as sources:
        for source in sources:
            try:
                lines = source.diagnose() if isinstance(source, Diagnosable) else [
                    DoctorLine("checks", "info", "no checks")
                ]
            except DupfixError as exc:
                lines = [DoctorLine("checks", "fail", str(exc))]
            for line in lines:
                failed = failed or line.status == "fail"
                print(f"{line.status:<5} {source.spec}: {line.check}: {line.detail}".rstrip(": "))
    sys.stdout.flush()
    return EXIT_STATE_UNAVAILABLE if failed else EXIT_OK

