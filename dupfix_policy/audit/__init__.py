"""`dupfix audit`: every duplicate and quarantined value that exists today, with a checked fix plan.

One module per job, data flowing one way:

- `collect`: streams each source's `scan()` once, keeps compact key maps and spools objects to
  disk, and hands back only the objects that can be in a conflict (memory follows the conflicts);
- `conflicts` (pure): objects -> conflicts, by the check's own claim keys, identities and rules;
- `resolutions` (pure): conflict -> suggested resolution and reason (never applied);
- `run`: findings, policy, fingerprints -> `model.Report` (the check's report shape);
- `emit`: the suggested plan (native YAML) and its on-prem part (LDIF);
- `render` (audit JSON and text), `csv_report`, `html_report` (reporter plugins for any report);
- the CLI command is `commands/audit.py`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ..hookspecs import hookimpl
from ..interfaces import Reporter
from ..reporters import lazy_render

# Resolved on first use: the audit's reporter plugins (csv_report, html_report) live in this
# package, and registering them must not import the audit itself on every check.
_LAZY = {"AuditResult": "run", "AuditSummary": "run", "audit_fingerprint": "run", "run_audit": "run"}
__all__ = ["AuditResult", "AuditSummary", "audit_fingerprint", "run_audit"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


@hookimpl
def dupfix_reporters() -> list[Reporter]:
    """The audit's report formats, for any report; registered here without importing them."""
    return [
        Reporter("csv", lazy_render(f"{__name__}.csv_report"), "one CSV row per holder object, for spreadsheets",
                 (".csv",)),
        Reporter("html", lazy_render(f"{__name__}.html_report"),
                 "a self-contained HTML page with charts (no scripts, no network)", (".html",)),
    ]  # fmt: skip
