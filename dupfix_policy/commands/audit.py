"""`dupfix audit`: sources, policy and outputs resolved as for `check`, then the audit.

The audit's JSON, text and HTML need what only an audit knows (its totals, the resolutions), so
for this command those three names are bound to the audit result; every other report format
(sarif, csv, junit, github, a plugin's) renders the plain `Report` as it would for a check.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from ..app import exit_code, load_checked_policy, opened, outputs, resolve, today, write_reports
from ..audit.collect import Progress
from ..audit.emit import reasons_by_action, render_ldif, render_plan, write_text
from ..audit.html_report import render_page
from ..audit.render import render_json, render_text
from ..audit.run import AuditResult, run_audit
from ..interfaces import Reporter
from ..plugins import Registry
from ..safetext import say


@dataclass
class _AuditReporters:
    """What `app.write_reports` needs of a registry: reporters by name, three bound here."""

    reporters: dict[str, Reporter] = field(default_factory=dict)


def bound_reporters(result: AuditResult, registry: Registry) -> _AuditReporters:
    own = {
        "json": lambda _report, stream: render_json(result, stream),
        "text": lambda _report, stream: render_text(result, stream),
        "html": lambda report, stream: render_page(report, stream, result.summary.as_dict()),
    }
    reporters = dict(registry.reporters)
    for name, render in own.items():
        base = reporters.get(name)
        reporters[name] = Reporter(
            name, render, base.description if base else "", base.extensions if base else ()
        )
    return _AuditReporters(reporters)


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Every duplicate and quarantined value the sources hold today (dupfix_policy/audit/)."""
    settings = resolve(args)
    chosen = outputs(settings.formats, registry)
    policy = load_checked_policy(settings, registry)
    progress = Progress.for_terminal(settings.quiet)
    with opened(settings.sources, registry, settings) as sources:
        result = run_audit(sources, registry.rules, policy, today=today(), progress=progress)
    write_reports(result.report, chosen, bound_reporters(result, registry))  # type: ignore[arg-type]
    _emit(args, result, list(settings.sources))
    return exit_code(result.report, settings.fail_on)


def _emit(args: argparse.Namespace, result: AuditResult, sources: list[str]) -> None:
    plan_path = getattr(args, "emit_plan", None)
    ldif_path = getattr(args, "emit_ldif", None)
    if not plan_path and not ldif_path:
        return
    why = reasons_by_action(result.report.findings, result.resolutions)
    if plan_path:
        if result.actions:
            write_text(plan_path, render_plan(result.actions, why, sources, plan_path), "suggested plan")
            say(f"dupfix: wrote {len(result.actions)} suggested change(s) to {plan_path}")
        else:
            say(f"dupfix: no change to suggest; {plan_path} not written")
    if ldif_path:
        ad = [a for a in result.actions if a.directory == "ad" and a.op == "update" and a.dn]
        write_text(ldif_path, render_ldif(result.actions, why, sources), "LDIF")
        say(f"dupfix: wrote {len(ad)} on-prem AD change(s) to {ldif_path}")
