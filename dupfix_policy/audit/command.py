"""`dupfix audit`: sources, policy and outputs resolved as for `check`, then the audit.

The audit's JSON, text and HTML need what only an audit knows (its totals, the resolutions), so
for this command those three names are bound to the audit result; every other report format
(sarif, csv, junit, github, a plugin's) renders the plain `Report` as it would for a check.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from ..interfaces import Reporter
from ..plugins import Registry
from ..safetext import say
from .collect import Progress
from .emit import reasons_by_action, render_ldif, render_plan, write_text
from .html_report import render_page
from .render import render_json, render_text
from .run import AuditResult, run_audit


@dataclass
class _AuditReporters:
    """What `commands.write_reports` needs of a registry: reporters by name, three bound here."""

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


def cmd_audit(args: argparse.Namespace, registry: Registry) -> int:
    from .. import commands
    from ..policy import load_policy

    settings = commands.resolve(args)
    outputs = commands._outputs(settings.formats, registry)
    policy = load_policy(settings.policy, base_dir=settings.base_dir).with_sync(settings.sync)
    commands._check_policy_rules(policy, registry)
    progress = Progress.for_terminal(settings.quiet)
    with commands.opened(settings.sources, registry, settings) as sources:
        result = run_audit(sources, registry.rules, policy, today=commands._today(), progress=progress)
    commands.write_reports(result.report, outputs, bound_reporters(result, registry))  # type: ignore[arg-type]
    _emit(args, result, list(settings.sources))
    return commands.exit_code(result.report, settings.fail_on)


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
