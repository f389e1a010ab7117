"""The audit's JSON and text reports: the check's report, plus what only an audit knows.

JSON: exactly `reporters/json_report.report_dict` (so `dupfix schema report` validates it, and
tools that read check reports read audit reports), with the audit's totals added to `summary`
(`objects`, `conflicts`, `quarantined`, `suggestedChanges`, `needsDecision`) and a `resolution`
on each finding (`reason`, `keeps`, `needsDecision`, `actions` in the native plan's terms).

Text: the summary comes first (an audit of a large tenant lists thousands of findings, and the
totals are what a person reads first), then one block per finding, then the notes.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import IO, Any

from ..model import DIRECTORY_NAMES, HolderView, ReportedFinding
from ..reporters.json_report import report_dict
from ..reporters.text_report import COLOURS as _COLOURS
from ..reporters.text_report import RESET as _RESET
from ..reporters.text_report import use_colour as _use_colour
from ..safetext import clean
from .resolutions import Action
from .run import AuditResult


def action_dict(a: Action) -> dict[str, Any]:
    out: dict[str, Any] = {
        "op": a.op,
        "kind": a.kind,
        "directory": a.directory,
        "target": {a.target.attribute: a.target.value},
    }
    if a.remove:
        out["remove"] = {name: list(values) for name, values in a.remove}
    if a.purge:
        out["purge"] = True
    return out


def audit_dict(result: AuditResult) -> dict[str, Any]:
    data = report_dict(result.report)
    data["summary"].update(result.summary.as_dict())
    for finding, reported in zip(data["findings"], result.report.findings, strict=True):
        resolution = result.resolutions.get(reported.fingerprint)
        if resolution is not None:
            finding["resolution"] = {
                "reason": resolution.reason,
                "keeps": resolution.keeps,
                "needsDecision": resolution.needs_decision,
                "actions": [action_dict(a) for a in resolution.actions],
            }
    return data


def render_json(result: AuditResult, stream: IO[str]) -> None:
    json.dump(audit_dict(result), stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_text(result: AuditResult, stream: IO[str]) -> None:
    colour = _use_colour(stream)

    def c(name: str, text: str) -> str:
        return f"{_COLOURS[name]}{text}{_RESET}" if colour else text

    report, s = result.report, result.summary
    shown = [r for r in report.findings if r.suppressed is None]
    sources = ", ".join(f"{x.spec} (as of {x.as_of or 'unknown'})" for x in report.sources) or "no state"
    stream.write(c("bold", clean(f"dupfix audit of {sources}, policy {report.policy}")) + "\n")
    counts = [_plural(report.count(sev), sev) for sev in ("error", "warning", "note")]
    if report.suppressed:
        counts.append(f"{report.suppressed} suppressed")
    stream.write(
        f"  {_plural(s.objects, 'object')} read: {_plural(s.conflicts, 'conflict')}, "
        f"{_plural(s.quarantined, 'quarantined value')} ({', '.join(counts)})\n"
    )
    stream.write(
        f"  {_plural(s.suggested, 'suggested change')} (--emit-plan writes them), "
        f"{_plural(s.decisions, 'finding')} needing a decision\n"
    )
    by_rule = Counter((r.finding.code, r.rule.id) for r in shown)
    if by_rule:
        stream.write(
            "  by rule: " + ", ".join(f"{code} {rid} {n}" for (code, rid), n in sorted(by_rule.items()))
        )
        stream.write("\n")
    stream.write("\n")
    for r in shown:
        _write_finding(stream, r, c)
    for note in report.notes:
        stream.write(c("dim", clean(f"note: {note}")) + "\n")


def _holder_line(h: HolderView) -> str:
    state = "soft-deleted " if h.state == "soft-deleted" else ""
    objects = ", ".join(f"{DIRECTORY_NAMES.get(o.directory, o.directory)} {o.id}" for o in h.objects)
    via = " (quarantined value)" if h.via == "quarantine" else ""
    return f"{state}{h.kind} {h.name} as {h.attribute}{via} [{objects}]"


def _write_finding(stream: IO[str], r: ReportedFinding, c) -> None:
    f = r.finding
    stream.write(f"{c(r.severity, f'{r.severity:<7}')} {f.code} {r.rule.id}  {c('bold', clean(f.key or ''))}\n")
    stream.write(f"        {clean(f.message)}\n")
    for h in f.holders:
        stream.write(f"        held by: {clean(_holder_line(h))}\n")
    stream.write(c("dim", f"        {clean(f.fix)}") + "\n\n")
