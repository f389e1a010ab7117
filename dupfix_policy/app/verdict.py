"""The exit code a finished run gives: the verdict (docs/cli.md "Exit codes"; errors.py has the numbers)."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import EXIT_OK, EXIT_VIOLATIONS
from ..model import Plan, Report
from ..policy import Policy

FAIL_RANK = {"error": 0, "warning": 1, "note": 2}


def exit_code(report: Report, fail_on: str) -> int:
    if fail_on == "never":
        return EXIT_OK
    limit = FAIL_RANK[fail_on]
    for r in report.findings:
        if r.suppressed is None and r.severity in FAIL_RANK and FAIL_RANK[r.severity] <= limit:
            return EXIT_VIOLATIONS
    return EXIT_OK


def strict_inputs_failure(plans: Sequence[Plan], flag: bool, policy: Policy) -> str | None:
    """With `--strict-inputs` or a policy's `inputs: {strict: true}`, what the plans left unjudged
    fails the run (exit 2): a CI gate that must not pass a change it never looked at."""
    if not (flag or policy.strict_inputs):
        return None
    unjudged = [item for plan in plans for item in plan.unchecked]
    if not unjudged:
        return None
    why = "--strict-inputs" if flag else f"policy {policy.name} sets inputs.strict"
    more = f" (and {len(unjudged) - 1} more; see the report's notes)" if len(unjudged) > 1 else ""
    return (
        f"{len(unjudged)} value(s) in the plans could not be judged, and {why}: {unjudged[0]}{more}. "
        "Make the values known at plan time, or drop --strict-inputs to accept the notes"
    )

