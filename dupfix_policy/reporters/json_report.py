"""The JSON report: the machine contract (docs/cli.md "Report formats", `dupfix schema report`)."""

from __future__ import annotations

import json
from typing import IO, TYPE_CHECKING, Any

from ..model import HolderView, Location, Report, ReportedFinding

if TYPE_CHECKING:
    from ..remedies import Suggestion


def _location(loc: Location | None) -> dict[str, Any] | None:
    if loc is None:
        return None
    return {"path": loc.path, "line": loc.line, "column": loc.column}


def _holder(h: HolderView) -> dict[str, Any]:
    out: dict[str, Any] = {
        "objects": [{"directory": o.directory, "id": o.id} for o in h.objects],
        "kind": h.kind,
        "state": h.state,
        "attribute": h.attribute,
        "via": h.via,
        "name": h.name,
    }
    if h.change is not None:
        out["change"] = {
            "file": h.change.file,
            "index": h.change.index,
            "op": h.change.op,
            "kind": h.change.kind,
            "ref": h.change.ref,
            "location": _location(h.change.location),
        }
    return out


def finding_dict(r: ReportedFinding) -> dict[str, Any]:
    f = r.finding
    change = None
    if f.change is not None:
        change = {
            "file": f.change.file,
            "index": f.change.index,
            "op": f.change.op,
            "kind": f.change.kind,
            "ref": f.change.ref,
        }
    return {
        "rule": r.rule.id,
        "code": f.code,
        "severity": r.severity,
        "attribute": f.attribute,
        "value": f.value,
        "key": f.key,
        "location": _location(f.location),
        "change": change,
        "holders": [_holder(h) for h in f.holders],
        "predicted": f.predicted,
        "suppressed": dict(r.suppressed) if r.suppressed is not None else None,
        "message": f.message,
        "fix": f.fix,
        "fingerprint": r.fingerprint,
        **({"suggestion": suggestion_dict(r.suggestion)} if r.suggestion is not None else {}),
    }


def suggestion_dict(s: Suggestion) -> dict[str, Any]:
    """`--suggest` (suggestions.py): present only when asked for, so reports without it are unchanged."""
    out: dict[str, Any] = {"kind": s.kind, "text": s.text}
    if s.kind == "value":
        out["value"] = s.value
        out["replacements"] = [
            {
                "file": r.file, "attribute": r.attribute, "old": r.old, "new": r.new,
                "line": r.line, "column": r.column, "endLine": r.end_line, "endColumn": r.end_column,
                "inserted": r.inserted, "editable": r.editable,
            }
            for r in s.replacements
        ]  # fmt: skip
    return out


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "version": 1,
        "tool": {"name": "dupfix-policy", "version": report.tool_version},
        "sources": [{"spec": s.spec, "origin": s.origin, "asOf": s.as_of} for s in report.sources],
        "policy": report.policy,
        "summary": {
            "changes": report.changes,
            "error": report.count("error"),
            "warning": report.count("warning"),
            "note": report.count("note"),
            "suppressed": report.suppressed,
            "predicted": report.predicted,
        },
        "findings": [finding_dict(r) for r in report.findings],
        "notes": list(report.notes),
    }


def render(report: Report, stream: IO[str]) -> None:
    json.dump(report_dict(report), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
