"""Where reports go: `--format NAME[=PATH]`, one reporter plugin per name."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ..errors import UserInputError
from ..model import Location, Report
from ..plugins import Registry


def outputs(formats: Sequence[str], registry: Registry) -> list[tuple[str, str | None]]:
    chosen = list(formats) or ["auto"]
    out: list[tuple[str, str | None]] = []
    to_stdout = 0
    for item in chosen:
        name, sep, path = item.partition("=")
        name = name.strip()
        if name == "auto":
            name = "github" if os.environ.get("GITHUB_ACTIONS") == "true" and "github" in registry.reporters else "text"
        if name not in registry.reporters:
            raise UserInputError(
                f"unknown report format {name!r}",
                field="--format",
                hint=f"installed formats: {', '.join(sorted(registry.reporters))}, auto",
            )
        if not sep:
            to_stdout += 1
        elif not path:
            raise UserInputError(f"--format {item}: give a path after '='", field="--format")
        out.append((name, path or None))
    if to_stdout > 1:
        raise UserInputError("only one --format may write to standard output; give the others =PATH", field="--format")
    return out


def write_reports(report: Report, outputs: Sequence[tuple[str, str | None]], registry: Registry) -> None:
    for name, path in outputs:
        reporter = registry.reporters[name]
        if path is None:
            reporter.render(report, sys.stdout)
            sys.stdout.flush()
            continue
        try:
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                reporter.render(report, fh)
        except OSError as exc:
            raise UserInputError(f"cannot write the {name} report: {exc.strerror}", location=Location(path)) from exc

