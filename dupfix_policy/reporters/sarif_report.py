"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF viewer).

What GitHub needs (its "SARIF support for code scanning" page): each rule with a short and full
description, help text and a help link; each result with a rule id, a level, a message, a location
relative to the repository root with a start line, and `partialFingerprints`. GitHub matches alerts
across runs by `partialFingerprints.primaryLocationLineHash`; we set it from the finding's own
fingerprint (rule, key, file, change identity: no line), so an alert survives edits that move the
change, where GitHub's line-content hash would open a new one. `upload-sarif` logs that it found a
fingerprint it did not compute itself; that is expected.

Suppressed findings (exemptions, inline comments, the baseline) are left out: GitHub ignores a
result's `suppressions` and would open an alert for each. The run's properties count them.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import IO, Any

from ..model import Report, ReportedFinding, RuleInfo
from ..ruledoc import PROJECT_URL, as_markdown, as_text, capitalised, help_uri
from .repo_paths import repo_relative, repo_root

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "note": "note", "off": "none"}
MAX_DESCRIPTION = 1000  # GitHub truncates fullDescription beyond this


def _rule(info: RuleInfo) -> dict[str, Any]:
    family = "format" if info.code.startswith("FMT") else "duplicates"
    return {
        "id": info.code,
        "name": info.id,
        "shortDescription": {"text": capitalised(info.summary)},
        "fullDescription": {"text": (info.description or capitalised(info.summary))[:MAX_DESCRIPTION]},
        "help": {"text": as_text(info), "markdown": as_markdown(info)},
        "helpUri": help_uri(info),
        "defaultConfiguration": {"level": LEVELS.get(info.default_severity, "warning")},
        "properties": {"tags": ["identity", "entra-id", family], "precision": "very-high"},
    }


def _location(path: str, line: int | None, column: int | None, root: str) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": line or 1}
    if column:
        region["startColumn"] = column
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": repo_relative(path, root), "uriBaseId": "%SRCROOT%"},
            "region": region,
        }
    }


def _result(r: ReportedFinding, index: dict[str, int], root: str, occurrence: int) -> dict[str, Any]:
    f = r.finding
    text = f.message + (" (predicted value)" if f.predicted else "") + f". Fix: {f.fix}"
    result: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": index[f.code],
        "level": LEVELS.get(r.severity, "warning"),
        "message": {"text": text},
        "partialFingerprints": {
            # GitHub's format: a hash, then which occurrence of that hash this is (1, 2, ...).
            "primaryLocationLineHash": f"{r.fingerprint[:16]}:{occurrence}",
            "dupfixFingerprint/v1": r.fingerprint,
        },
        "properties": {
            "attribute": f.attribute,
            "value": f.value,
            "key": f.key,
            "predicted": f.predicted,
            "holders": [h.name for h in f.holders],
        },
    }
    loc = f.location or (f.change.location if f.change else None)
    if loc is not None:
        result["locations"] = [_location(loc.path, loc.line, loc.column, root)]
    if r.suggestion is not None:
        result["message"]["text"] += f" Suggested: {r.suggestion.text}."
        fixes = _fixes(r, root)
        if fixes:
            result["fixes"] = fixes
    related: list[dict[str, Any]] = []
    for h in f.holders:
        if h.change is not None:
            place = _location(h.change.location.path, h.change.location.line, h.change.location.column, root)
            place["id"] = len(related) + 1
            place["message"] = {"text": f"also claimed by {h.change.label}"}
            related.append(place)
    if related:
        result["relatedLocations"] = related
    return result


def _fixes(r: ReportedFinding, root: str) -> list[dict[str, Any]]:
    """SARIF `fixes` for a suggested value, where the file to change is the plan itself (a
    Terraform change's .tf line is not the file dupfix read, so it gets none)."""
    s = r.suggestion
    if s is None or s.kind != "value":
        return []
    by_file: dict[str, list[dict[str, Any]]] = {}
    for rep in s.replacements:
        if not (rep.editable and rep.end_line and rep.inserted is not None):
            continue
        by_file.setdefault(rep.file, []).append(
            {
                "deletedRegion": {
                    "startLine": rep.line, "startColumn": rep.column,
                    "endLine": rep.end_line, "endColumn": rep.end_column,
                },
                "insertedContent": {"text": rep.inserted},
            }
        )  # fmt: skip
    if not by_file:
        return []
    changes = [
        {"artifactLocation": {"uri": repo_relative(path, root), "uriBaseId": "%SRCROOT%"}, "replacements": reps}
        for path, reps in sorted(by_file.items())
    ]
    return [{"description": {"text": s.text}, "artifactChanges": changes}]


def _results(shown: list[ReportedFinding], index: dict[str, int], root: str) -> list[dict[str, Any]]:
    """Two changes can share a fingerprint (two rows creating one UPN, neither with a `ref`): they
    are told apart by occurrence, as GitHub does for identical lines."""
    seen: Counter[str] = Counter()
    out = []
    for r in shown:
        seen[r.fingerprint] += 1
        out.append(_result(r, index, root, seen[r.fingerprint]))
    return out


def sarif_dict(report: Report) -> dict[str, Any]:
    shown = [r for r in report.findings if r.suppressed is None]
    infos = sorted({r.rule.code: r.rule for r in shown}.values(), key=lambda i: i.code)
    index = {info.code: n for n, info in enumerate(infos)}
    root = repo_root()
    notes = [{"level": "note", "message": {"text": n}} for n in report.notes]
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if notes:
        invocation["toolExecutionNotifications"] = notes
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dupfix-policy",
                        "version": report.tool_version,
                        "semanticVersion": report.tool_version,
                        "informationUri": PROJECT_URL,
                        "rules": [_rule(i) for i in infos],
                    }
                },
                "invocations": [invocation],
                "columnKind": "unicodeCodePoints",
                "results": _results(shown, index, root),
                "properties": {
                    "policy": report.policy,
                    "changes": report.changes,
                    "suppressed": report.suppressed,
                    "sources": [{"spec": s.spec, "origin": s.origin, "asOf": s.as_of} for s in report.sources],
                },
            }
        ],
    }


def render(report: Report, stream: IO[str]) -> None:
    json.dump(sarif_dict(report), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
