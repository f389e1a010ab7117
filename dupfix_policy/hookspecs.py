"""The four hooks a dupfix-policy plugin can implement (project name `dupfix_policy`).

Each returns a list, and every registered plugin's list is used: built-ins are ordinary plugins.
"""

from __future__ import annotations

import pluggy

from .interfaces import PlanFormat, Reporter, Rule, SourceFactory

hookspec = pluggy.HookspecMarker("dupfix_policy")
hookimpl = pluggy.HookimplMarker("dupfix_policy")


@hookspec
def dupfix_plan_formats() -> list[PlanFormat]:  # type: ignore[empty-body]
    """Plan file formats this plugin can read."""


@hookspec
def dupfix_sources() -> list[SourceFactory]:  # type: ignore[empty-body]
    """State sources this plugin provides, by `--source` scheme."""


@hookspec
def dupfix_rules() -> list[Rule]:  # type: ignore[empty-body]
    """Rules this plugin adds; each judges the simulated plan and yields findings."""


@hookspec
def dupfix_reporters() -> list[Reporter]:  # type: ignore[empty-body]
    """Report formats this plugin can write, by `--format` name."""
