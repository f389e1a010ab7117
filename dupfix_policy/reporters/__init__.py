"""The built-in report formats, registered without importing them.

One table says what each format is called and does; its module (`text_report`, `json_report`, …)
holds only `render`, and is imported when a report in that format is written. A check that writes
text never loads the XML, SARIF or JSON writers.
"""

from __future__ import annotations

from importlib import import_module
from typing import IO

from ..hookspecs import hookimpl
from ..interfaces import Reporter
from ..model import Report

# name, module, description, file extensions
BUILTIN: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("text", "text_report", "a report for people, grouped by change (colour on a terminal)", (".txt",)),
    ("json", "json_report", "the JSON report (schema: `dupfix schema report`)", (".json",)),
    ("sarif", "sarif_report", "SARIF 2.1.0 for GitHub code scanning and other SARIF viewers", (".sarif",)),
    ("junit", "junit_report", "JUnit XML for CI test views: one test case per change", (".xml",)),
    ("github", "github_report", "GitHub Actions annotations, with the text report in a log group", ()),
)


def lazy_render(module: str):
    """A `render` that imports `module` (absolute name) on first use."""

    def render(report: Report, stream: IO[str]) -> None:
        import_module(module).render(report, stream)

    return render


@hookimpl
def dupfix_reporters() -> list[Reporter]:
    return [
        Reporter(name, lazy_render(f"{__name__}.{module}"), description, extensions)
        for name, module, description, extensions in BUILTIN
    ]
