"""The policy a command runs with: the pack or file, `.dupfix.yaml`'s `sync:` over it, every rule
it names known to a plugin; and the baseline files a check reads and writes."""

from __future__ import annotations

import argparse

from ..errors import UserInputError
from ..model import Report
from ..plugins import Registry
from ..policy import Policy, load_policy
from ..safetext import say
from .settings import Settings


def load_checked_policy(settings: Settings, registry: Registry) -> Policy:
    policy = load_policy(settings.policy, base_dir=settings.base_dir).with_sync(settings.sync)
    check_policy_rules(policy, registry)
    return policy


def check_policy_rules(policy: Policy, registry: Registry) -> None:
    known = {r.info.code for r in registry.rules.values()} | {r.info.id for r in registry.rules.values()}
    for name, location in policy.unknown_rules(known):
        import difflib  # only for a policy naming an unknown rule

        close = difflib.get_close_matches(name, sorted(known), n=1)
        raise UserInputError(
            f"unknown rule {name!r}",
            location=location,
            hint=f"did you mean {close[0]}?" if close else "`dupfix rules` lists every rule",
        )


def load_baseline(args: argparse.Namespace) -> object | None:
    """Read `--baseline` before any source is opened, so a bad file fails fast (exit 2)."""
    if not getattr(args, "baseline", None):
        return None
    from ..baseline import load_baseline

    return load_baseline(args.baseline)


def apply_baselines(report: Report, baseline: object | None, create: str | None) -> Report:
    if baseline is None and not create:
        return report  # most checks: baseline.py stays unimported (start-up, issue 14)
    from ..baseline import apply_baseline, write_baseline

    if baseline is not None:
        report = apply_baseline(report, baseline)  # type: ignore[arg-type]
    if create:
        report, count = write_baseline(create, report)
        say(f"dupfix: wrote {count} finding(s) to baseline {create}")
    return report

