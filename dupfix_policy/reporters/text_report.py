"""The text report, for people: grouped by change, what it wants, who holds it, and the fix.

Every line's text passes through `safetext.clean`: values, file names and keys come from the plan's
author, and must not be able to forge log lines or CI commands (`::error::`, `##vso[`).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from itertools import groupby
from typing import IO

from ..model import DIRECTORY_NAMES, HolderView, Report, ReportedFinding
from ..safetext import clean

COLOURS = {
    "error": "\033[31m",
    "warning": "\033[33m",
    "note": "\033[36m",
    "bold": "\033[1m",
    "dim": "\033[2m",
}
RESET = "\033[0m"


def use_colour(stream: IO[str]) -> bool:
    """Colour only on a terminal; NO_COLOR (any non-empty value, no-color.org) always wins."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _holder_line(h: HolderView) -> str:
    state = "soft-deleted " if h.state == "soft-deleted" else ""
    if h.via == "plan" and h.change is not None:
        return f"{h.change.label} at {h.change.location}"
    objects = ", ".join(f"{DIRECTORY_NAMES.get(o.directory, o.directory)} {o.id}" for o in h.objects)
    via = " (quarantined value)" if h.via == "quarantine" else ""
    return f"{state}{h.kind} {h.name} as {h.attribute}{via} [{objects}]"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render(report: Report, stream: IO[str]) -> None:
    _render(report, stream, use_colour(stream))


def render_plain(report: Report, stream: IO[str]) -> None:
    """The same report without colour (the GitHub reporter's log group)."""
    _render(report, stream, False)


def _render(report: Report, stream: IO[str], colour: bool) -> None:
    def c(name: str, text: str) -> str:
        return f"{COLOURS[name]}{text}{RESET}" if colour else text

    shown = [r for r in report.findings if r.suppressed is None]

    def group_key(r: ReportedFinding) -> tuple:
        ch = r.finding.change
        return (ch.file, ch.index) if ch else ("", -1)

    for _, items in groupby(shown, key=group_key):
        batch: list[ReportedFinding] = list(items)
        ch = batch[0].finding.change
        if ch is not None:
            stream.write(c("bold", clean(f"{ch.location}  {ch.label}")) + "\n")
        else:
            loc = batch[0].finding.location
            stream.write(c("bold", clean(f"{loc if loc else 'policy'}")) + "\n")
        for r in batch:
            _write_finding(stream, r, c)
        stream.write("\n")

    for note in report.notes:
        stream.write(c("dim", clean(f"note: {note}")) + "\n")
    _write_summary(stream, report, c)


def _write_finding(stream: IO[str], r: ReportedFinding, c) -> None:
    f = r.finding
    where = (
        f"line {f.location.line}: "
        if f.location and f.location.line and f.change and f.location != f.change.location
        else ""
    )
    predicted = " (predicted)" if f.predicted else ""
    stream.write(f"  {c(r.severity, f'{r.severity:<7}')} {f.code} {r.rule.id}{predicted}\n")
    stream.write(f"          {clean(where + f.message)}\n")
    for h in f.holders:
        stream.write(f"          held by: {clean(_holder_line(h))}\n")
    stream.write(c("dim", f"          fix: {clean(f.fix)}") + "\n")
    if r.suggestion is not None:  # check --suggest
        label = "suggest" if r.suggestion.kind == "value" else "resolve"
        stream.write(f"          {label}: {clean(r.suggestion.text)}\n")


def _write_summary(stream: IO[str], report: Report, c) -> None:
    sources = _describe_sources(report)
    parts = [
        _plural(report.count("error"), "error"),
        _plural(report.count("warning"), "warning"),
        _plural(report.count("note"), "note"),
    ]
    if report.suppressed:
        kinds = Counter(str((r.suppressed or {}).get("kind", "")) for r in report.findings if r.suppressed)
        detail = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()) if kind)
        parts.append(f"{report.suppressed} suppressed" + (f" ({detail})" if detail else ""))
    if report.predicted:
        parts.append(f"{report.predicted} on predicted values")
    line = f"{_plural(report.changes, 'change')} checked against {sources} with policy {report.policy}: "
    stream.write(clean(line + ", ".join(parts)) + "\n")


def _describe_sources(report: Report) -> str:
    items: Iterable[str] = (f"{s.spec} (as of {s.as_of or 'unknown'})" for s in report.sources)
    text = ", ".join(items)
    return text or "no state"
