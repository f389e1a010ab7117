"""`--format csv`: one row per holder object, for spreadsheets (any report: audit or check).

A finding with two holders that are each an AD object and its Entra twin gives four rows; the
`holder` column numbers the holders within the finding, so twins share a number. A finding with no
holder (a format rule, REF001, POL001) gives one row with the holder columns empty. Columns, in
order (README "Audit" documents them):

severity, code, rule, key, value, domain, holder, holder_name, kind, state, directory, object_id,
attribute, via, location, change, suppressed, message, fix, fingerprint

A cell that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage
return) is prefixed with `'`: directory values are written by many people (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
from typing import IO

from ..model import Report, ReportedFinding

COLUMNS = (
    "severity", "code", "rule", "key", "value", "domain", "holder", "holder_name", "kind", "state",
    "directory", "object_id", "attribute", "via", "location", "change", "suppressed", "message", "fix",
    "fingerprint",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def domain_of_key(key: str | None) -> str:
    """The mail domain a key's value is in (`proxy:smtp:a@contoso.com` -> contoso.com), the AD
    domain of a sAMAccountName, else empty (aliases, anchors)."""
    if not key:
        return ""
    ns, _, rest = key.partition(":")
    if ns == "sam":
        return rest.partition("\\")[0]
    if "@" in rest:
        return rest.rsplit("@", 1)[1]
    return ""


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def rows(report: Report) -> list[list[str]]:
    out: list[list[str]] = []
    for r in report.findings:
        out.extend(_finding_rows(r))
    return out


def _finding_rows(r: ReportedFinding) -> list[list[str]]:
    f = r.finding
    suppressed = ""
    if r.suppressed is not None:
        suppressed = f"{r.suppressed.get('kind', '')}: {r.suppressed.get('reason') or ''}".rstrip(": ")
    change = f"{f.change.op} {f.change.kind} ({f.change.file}#{f.change.index + 1})" if f.change else ""
    head = [r.severity, f.code, r.rule.id, f.key, f.value, domain_of_key(f.key)]
    tail = [str(f.location) if f.location else "", change, suppressed, f.message, f.fix, r.fingerprint]
    if not f.holders:
        return [[_cell(v) for v in (*head, "", "", "", "", "", "", "", "", *tail)]]
    out = []
    for n, h in enumerate(f.holders, start=1):
        for ref in h.objects:
            holder = [n, h.name, h.kind, h.state, ref.directory, ref.id, h.attribute, h.via]
            out.append([_cell(v) for v in (*head, *holder, *tail)])
    return out


def render(report: Report, stream: IO[str]) -> None:
    writer = csv.writer(stream, lineterminator="\r\n")  # RFC 4180, what spreadsheets expect
    writer.writerow(COLUMNS)
    writer.writerows(rows(report))
