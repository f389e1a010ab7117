"""Baselines: adopt dupfix on a tenant that already has conflicts, and fail only on new ones.

`dupfix check --create-baseline FILE` writes every finding of today's run to FILE; later runs with
`--baseline FILE` report a finding whose fingerprint is in FILE as suppressed (`suppressed.kind:
baseline`, counted in the summary) and judge only the rest. Like checkov's baseline, and unlike a
list of line numbers, the match survives edits: the fingerprint is the rule, the claim key, the
file and the change's identity (`engine.fingerprint`), never a line or an index. Renaming the plan
file or the change's `ref` makes its findings new again, on purpose: it is a different change.

The file is JSON sorted by file, rule and key, with no timestamps, so it diffs well in review.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from .documents import load_document, validate
from .errors import UserInputError
from .model import Location, Report, ReportedFinding

VERSION = 1
KIND = "baseline"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version", "findings"],
    "properties": {
        "version": {"const": VERSION},
        "tool": {"type": "object"},
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["fingerprint"],
                "properties": {
                    "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "code": {"type": "string"},
                    "rule": {"type": "string"},
                    "file": {"type": ["string", "null"]},
                    "change": {"type": ["string", "null"]},
                    "key": {"type": ["string", "null"]},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Baseline:
    """The findings accepted when the baseline was made, by fingerprint."""

    path: str
    fingerprints: frozenset[str]
    files: dict[str, str | None]  # fingerprint -> the plan file it was found in


def load_baseline(path: str) -> Baseline:
    """Read a baseline file; a missing or malformed one is exit 2 naming the way to make one."""
    if not os.path.exists(path):
        raise UserInputError(
            "baseline file not found",
            location=Location(path),
            field="--baseline",
            hint=f"create it with `dupfix check ... --create-baseline {path}`",
        )
    doc = load_document(path, kind=KIND)
    validate(doc, SCHEMA)
    entries = doc.data["findings"]
    return Baseline(
        path=path,
        fingerprints=frozenset(e["fingerprint"] for e in entries),
        files={e["fingerprint"]: e.get("file") for e in entries},
    )


def apply_baseline(report: Report, baseline: Baseline) -> Report:
    """Mark findings the baseline accepted as suppressed; say how many entries matched nothing."""
    record = {"kind": KIND, "location": baseline.path}
    seen: set[str] = set()
    findings = []
    for r in report.findings:
        if r.suppressed is None and r.fingerprint in baseline.fingerprints:
            seen.add(r.fingerprint)
            findings.append(replace(r, suppressed=dict(record)))
        else:
            findings.append(r)
    notes = list(report.notes)
    checked = {c.file for c in report.change_refs}
    stale = [fp for fp in baseline.fingerprints - seen if baseline.files.get(fp) in checked]
    if stale:
        notes.append(
            f"{len(stale)} entr{'y' if len(stale) == 1 else 'ies'} of baseline {baseline.path} no longer "
            f"match a finding in the files checked (fixed, or the change was renamed); "
            f"refresh it with --create-baseline {baseline.path}"
        )
    return replace(report, findings=tuple(findings), notes=tuple(notes))


def baseline_findings(report: Report) -> list[ReportedFinding]:
    """What a new baseline accepts: every finding not already covered by an exemption or comment."""
    return [r for r in report.findings if r.suppressed is None or r.suppressed.get("kind") == KIND]


def _entry(r: ReportedFinding) -> dict[str, Any]:
    f = r.finding
    return {
        "fingerprint": r.fingerprint,
        "code": f.code,
        "rule": r.rule.id,
        "file": f.change.file if f.change else None,
        "change": f.change.label if f.change else None,
        "key": f.key,
        "message": f.message,
    }


def render_baseline(findings: Iterable[ReportedFinding], tool_version: str) -> str:
    unique = {r.fingerprint: _entry(r) for r in findings}
    entries = sorted(
        unique.values(), key=lambda e: (e["file"] or "", e["code"], e["key"] or "", e["fingerprint"])
    )
    tool = {"name": "dupfix-policy", "version": tool_version}
    data = {"version": VERSION, "tool": tool, "findings": entries}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_baseline(path: str, report: Report) -> tuple[Report, int]:
    """Write the baseline atomically; return the report with those findings suppressed, and the count."""
    accepted = baseline_findings(report)
    text = render_baseline(accepted, report.tool_version)
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix=".baseline-", suffix=".tmp", dir=parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        raise UserInputError(
            f"cannot write the baseline: {exc.strerror or exc}",
            location=Location(path),
            field="--create-baseline",
        ) from exc
    fingerprints = frozenset(r.fingerprint for r in accepted)
    files = {r.fingerprint: (r.finding.change.file if r.finding.change else None) for r in accepted}
    return apply_baseline(report, Baseline(path, fingerprints, files)), len(fingerprints)
