"""`--format html`: one self-contained page people open from a CI artefact (any report).

Self-contained means: inline CSS, charts as inline SVG, system fonts, no script at all, and a
Content-Security-Policy that forbids loading anything, so the page shows the same offline, from a
zip, or behind a proxy, and a value from the directory can never run in the reader's browser (every
value is HTML-escaped). Every number on the page carries a `data-count` / `data-value` attribute,
so a test can read them back from the rendered DOM and compare them with the JSON report.

Charts count the findings that are not suppressed: by rule, by mail domain of the value
(`csv_report.domain_of_key`), and by the kinds of object involved (holders, and the change's own
kind in a check report).
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping
from typing import IO

from ..model import DIRECTORY_NAMES, Report, ReportedFinding
from .csv_report import domain_of_key

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
BAR_HEIGHT = 22
LABEL_WIDTH = 260
CHART_WIDTH = 640
MAX_BARS = 15
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1f2328;max-width:75rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
.meta{color:#57606a;margin:.2rem 0}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:0;padding:0}
.cards div{border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;min-width:7rem}
.cards dt{color:#57606a;font-size:.85rem}.cards dd{margin:0;font-size:1.6rem;font-weight:600}
.error{color:#cf222e}.warning{color:#9a6700}.note{color:#0969da}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}figure{margin:0}figcaption{font-weight:600;margin-bottom:.3rem}
svg text{font-size:12px;fill:#1f2328}svg rect{fill:#0969da}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #d0d7de;text-align:left;vertical-align:top;padding:.4rem}
td ul{margin:0;padding-left:1.1rem}.key{font-family:ui-monospace,monospace;word-break:break-all}
.fix{color:#57606a}.suppressed{opacity:.6}td.key{min-width:12rem}
"""


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _kinds(r: ReportedFinding) -> str:
    kinds = {h.kind for h in r.finding.holders}
    if r.finding.change is not None:
        kinds.add(r.finding.change.kind)
    return " / ".join(sorted(kinds)) or "(none)"


def chart_counts(report: Report) -> dict[str, Counter]:
    shown = [r for r in report.findings if r.suppressed is None]
    return {
        "rule": Counter(r.finding.code for r in shown),
        "domain": Counter(domain_of_key(r.finding.key) or "(no domain)" for r in shown),
        "kind": Counter(_kinds(r) for r in shown),
    }


def _chart(name: str, caption: str, counts: Counter) -> str:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(items) > MAX_BARS:
        rest = sum(n for _, n in items[MAX_BARS - 1 :])
        items = [*items[: MAX_BARS - 1], ("(other)", rest)]
    height = max(len(items), 1) * (BAR_HEIGHT + 6) + 6
    top = max((n for _, n in items), default=1)
    span = CHART_WIDTH - LABEL_WIDTH - 60
    parts = [
        f'<figure data-chart="{_e(name)}"><figcaption>{_e(caption)}</figcaption>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{height}" role="img" '
        f'aria-label="{_e(caption)}">',
    ]
    if not items:
        parts.append('<text x="4" y="18">nothing to chart</text>')
    for n, (label, value) in enumerate(items):
        y = 6 + n * (BAR_HEIGHT + 6)
        width = max(2, round(span * value / top))
        parts.append(
            f'<g class="bar" data-label="{_e(label)}" data-value="{value}"><title>{_e(label)}: {value}</title>'
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{_e(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}" rx="3"/>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 15}">{value}</text></g>'
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def _card(name: str, label: str, value: int, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f'<div><dt>{_e(label)}</dt><dd data-count="{_e(name)}"{cls}>{value}</dd></div>'


def _finding_row(r: ReportedFinding) -> str:
    f = r.finding
    holders = "".join(
        "<li>"
        + _e(f"{'soft-deleted ' if h.state == 'soft-deleted' else ''}{h.kind} {h.name}")
        + f" <small>({_e(h.attribute)}{', quarantined' if h.via == 'quarantine' else ''}; "
        + _e(", ".join(f"{DIRECTORY_NAMES.get(o.directory, o.directory)} {o.id}" for o in h.objects))
        + ")</small></li>"
        for h in f.holders
    )
    where = f.change.label if f.change is not None else (str(f.location) if f.location else "")
    css = ' class="suppressed"' if r.suppressed is not None else ""
    return (
        f'<tr data-fingerprint="{_e(r.fingerprint)}" data-code="{_e(f.code)}"{css}>'
        f'<td class="{_e(r.severity)}">{_e(r.severity)}</td><td>{_e(f.code)}<br><small>{_e(r.rule.id)}</small></td>'
        f'<td class="key">{_e(f.key or f.value or "")}</td>'
        f"<td>{_e(f.message)}<ul>{holders}</ul><small>{_e(where)}</small></td>"
        f'<td class="fix">{_e(f.fix)}</td></tr>'
    )


def render_page(
    report: Report, stream: IO[str], extra: Mapping[str, int] | None = None, title: str = ""
) -> None:
    """The page; `extra` adds the audit's totals (objects, conflicts, ...) to the summary cards."""
    kind = title or ("audit" if report.changes == 0 and extra is not None else "check")
    sources = ", ".join(f"{s.spec} (as of {s.as_of or 'unknown'})" for s in report.sources) or "no state"
    cards = [
        _card("error", "Errors", report.count("error"), "error"),
        _card("warning", "Warnings", report.count("warning"), "warning"),
        _card("note", "Notes", report.count("note"), "note"),
        _card("suppressed", "Suppressed", report.suppressed),
    ]
    labels = {
        "objects": "Objects read",
        "conflicts": "Conflicts",
        "quarantined": "Quarantined values",
        "suggestedChanges": "Suggested changes",
        "needsDecision": "Need a decision",
    }
    if extra is None:
        cards.insert(0, _card("changes", "Changes checked", report.changes))
    else:
        cards = [_card(k, labels.get(k, k), v) for k, v in extra.items()] + cards
    counts = chart_counts(report)
    charts = [
        _chart("rule", "Findings by rule", counts["rule"]),
        _chart("domain", "Findings by domain", counts["domain"]),
        _chart("kind", "Findings by kind of object", counts["kind"]),
    ]
    rows = "".join(_finding_row(r) for r in report.findings)
    notes = "".join(f"<li>{_e(n)}</li>" for n in report.notes)
    stream.write(
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>dupfix-policy {kind} report</title><style>{STYLE}</style></head><body>"
        f"<header><h1>dupfix-policy {kind} report</h1>"
        f'<p class="meta">Sources: {_e(sources)}</p>'
        f'<p class="meta">Policy: {_e(report.policy)} · dupfix-policy {_e(report.tool_version)}</p></header>'
        f'<section id="summary"><h2>Summary</h2><dl class="cards">{"".join(cards)}</dl></section>'
        f'<section id="charts"><h2>Charts</h2><div class="charts">{"".join(charts)}</div></section>'
        f'<section id="findings"><h2>Findings ({len(report.findings)})</h2>'
        "<table><thead><tr><th>Severity</th><th>Rule</th><th>Key</th><th>What and who</th>"
        f"<th>Suggested fix</th></tr></thead><tbody>{rows}</tbody></table></section>"
        + (f'<section id="notes"><h2>Notes</h2><ul>{notes}</ul></section>' if notes else "")
        + "</body></html>\n"
    )


def render(report: Report, stream: IO[str]) -> None:
    render_page(report, stream)
