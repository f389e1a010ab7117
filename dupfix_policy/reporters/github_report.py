"""GitHub Actions workflow commands: each finding as an annotation on the pull request's diff.

`::error file=F,line=L,col=C,title=T::MESSAGE` (and `::warning`, `::notice`), escaped the way the
Actions runner unescapes them (actions/toolkit `command.ts`): `%`, CR and LF in the message;
additionally `:` and `,` in property values. GitHub shows at most 10 annotations of each level per
step, so the full text report follows in a collapsed log group.

Plan values come from whoever opened the pull request. A value holding a line break and
`::add-mask::…` must not become a workflow command, so the text block is wrapped in
`::stop-commands::TOKEN` … `::TOKEN::`, with a token derived from the block itself (an attacker
cannot write the hash of the text that contains it).
"""

from __future__ import annotations

import hashlib
import io
from typing import IO

from ..model import Report, ReportedFinding
from . import text_report
from .repo_paths import repo_relative, repo_root

COMMANDS = {"error": "error", "warning": "warning", "note": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(r: ReportedFinding, root: str) -> str:
    f = r.finding
    props: list[tuple[str, str]] = []
    loc = f.location or (f.change.location if f.change else None)
    if loc is not None:
        props.append(("file", repo_relative(loc.path, root)))
        if loc.line:
            props.append(("line", str(loc.line)))
        if loc.column:
            props.append(("col", str(loc.column)))
    props.append(("title", f"{f.code} {r.rule.id}" + (" (predicted)" if f.predicted else "")))
    head = ",".join(f"{k}={escape_property(v)}" for k, v in props)
    body = f"{f.message}\nfix: {f.fix}"
    if r.suggestion is not None:  # check --suggest
        body += f"\n{'suggest' if r.suggestion.kind == 'value' else 'resolve'}: {r.suggestion.text}"
    return f"::{COMMANDS.get(r.severity, 'warning')} {head}::{escape_data(body)}"


def render(report: Report, stream: IO[str]) -> None:
    root = repo_root()
    for r in report.findings:
        if r.suppressed is None and r.severity in COMMANDS:
            stream.write(annotation(r, root) + "\n")
    text = io.StringIO()
    text_report.render_plain(report, text)
    block = text.getvalue()
    token = hashlib.sha256(block.encode("utf-8")).hexdigest()
    stream.write("::group::dupfix-policy report\n")
    stream.write(f"::stop-commands::{token}\n")
    stream.write(block if block.endswith("\n") else block + "\n")
    stream.write(f"::{token}::\n")
    stream.write("::endgroup::\n")
