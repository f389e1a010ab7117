"""The application layer every command uses through these public names: settings, registry,
policy, sources, plans, outputs and the verdict's exit code. Commands (`commands/`) sit above it,
the core (engine, rules, plans, sources, reporters) below; `cli.py` only parses and dispatches."""

from __future__ import annotations

from ..plugins import Registry, load_registry
from .outputs import outputs, write_reports
from .plans import collect_plans, detect
from .policies import apply_baselines, check_policy_rules, load_baseline, load_checked_policy
from .settings import Settings, resolve, today
from .sources import open_sources, opened, scheme_of
from .suggest import suggest_for
from .verdict import FAIL_RANK, exit_code, strict_inputs_failure

__all__ = [
    "FAIL_RANK",
    "Registry",
    "Settings",
    "apply_baselines",
    "check_policy_rules",
    "collect_plans",
    "detect",
    "exit_code",
    "load_baseline",
    "load_checked_policy",
    "load_registry",
    "open_sources",
    "opened",
    "outputs",
    "resolve",
    "scheme_of",
    "strict_inputs_failure",
    "suggest_for",
    "today",
    "write_reports",
]
