"""`dupfix check PLAN…`: judge the plans against the sources, report, exit with the verdict."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from ..app import (
    apply_baselines,
    collect_plans,
    exit_code,
    load_baseline,
    load_checked_policy,
    opened,
    outputs,
    resolve,
    strict_inputs_failure,
    suggest_for,
    today,
    write_reports,
)
from ..errors import EXIT_BAD_INPUT, EXIT_OK
from ..plugins import Registry
from ..safetext import say


def run(args: argparse.Namespace, registry: Registry) -> int:
    from ..engine import check

    settings = resolve(args)
    chosen = outputs(settings.formats, registry)
    plans, notes = collect_plans(args.paths, registry, args.plan_format, args.hook, settings.plan_options)
    policy = load_checked_policy(settings, registry)
    baseline = load_baseline(args)
    if not plans:
        # pre-commit passed only files no loader reads: nothing to judge, and nothing wrong.
        for n in notes:
            say(f"dupfix: note: {n}")
        return EXIT_OK
    with opened(settings.sources, registry, settings) as sources:
        if getattr(args, "suggest", False):  # suggestions.py, over the same check
            report = suggest_for(plans, sources, registry, policy, settings, today()).report
        else:
            report = check(plans, sources, registry.rules, policy, today=today())
    if notes:
        report = dataclasses.replace(report, notes=tuple(notes) + report.notes)
    report = apply_baselines(report, baseline, getattr(args, "create_baseline", None))
    write_reports(report, chosen, registry)
    unjudged = strict_inputs_failure(plans, bool(getattr(args, "strict_inputs", False)), policy)
    if unjudged:
        print(f"dupfix: error: {unjudged}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return exit_code(report, settings.fail_on)

