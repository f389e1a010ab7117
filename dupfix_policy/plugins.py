"""The plugin manager: built-ins and third-party plugins come in through one entry-point group.

Each entry point is loaded in its own try/except (the sqlfluff way), so a broken plugin yields one
error that names it rather than a traceback from deep inside importlib.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata

import pluggy

from . import hookspecs
from .errors import PluginLoadError, UserInputError
from .interfaces import PlanFormat, Reporter, Rule, SourceFactory

GROUP = "dupfix_policy"

# Used only when the package runs from a source tree without its metadata installed; an installed
# dupfix-policy registers exactly these through its own entry points.
DEFAULT_PLUGINS: dict[str, str] = {
    "native_plans": "dupfix_policy.plans.native",
    "entra_csv_plans": "dupfix_policy.plans.entra_csv",
    "onprem_csv_plans": "dupfix_policy.plans.onprem_csv",
    "ldif_plans": "dupfix_policy.plans.ldif",
    "terraform_plans": "dupfix_policy.plans.terraform",
    "snapshot_source": "dupfix_policy.sources.snapshot",
    "none_source": "dupfix_policy.sources.none",
    "graph_source": "dupfix_policy.sources.graph",
    "ldap_source": "dupfix_policy.sources.ldap",
    "cache_source": "dupfix_policy.sources.cache",
    "duplicate_rules": "dupfix_policy.rules.duplicates",
    "reference_rules": "dupfix_policy.rules.references",
    "policy_rules": "dupfix_policy.rules.exemptions",
    "text_reporter": "dupfix_policy.reporters.text_report",
    "json_reporter": "dupfix_policy.reporters.json_report",
    "sarif_reporter": "dupfix_policy.reporters.sarif_report",
    "junit_reporter": "dupfix_policy.reporters.junit_report",
    "github_reporter": "dupfix_policy.reporters.github_report",
    "format_rules": "dupfix_policy.rules.formats",
    "csv_reporter": "dupfix_policy.audit.csv_report",
    "html_reporter": "dupfix_policy.audit.html_report",
}

# Set to 1 to load only dupfix-policy's own plugins (tests use it so installed plugins never leak in).
DISABLE_AUTOLOAD = "DUPFIX_DISABLE_PLUGIN_AUTOLOAD"


def _entry_points() -> list[metadata.EntryPoint]:
    return sorted(
        metadata.entry_points(group=GROUP), key=lambda ep: (ep.dist.name if ep.dist else "", ep.name)
    )


def _is_own(ep: metadata.EntryPoint) -> bool:
    return ep.value.startswith("dupfix_policy.")


def build_manager(extra: list[object] | None = None) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    eps = _entry_points()
    own = [ep for ep in eps if _is_own(ep)]
    if own:
        for ep in own:
            _register_entry_point(pm, ep)
    else:
        for name, module in DEFAULT_PLUGINS.items():
            pm.register(importlib.import_module(module), name=name)
    if os.environ.get(DISABLE_AUTOLOAD, "") not in ("1", "true", "yes"):
        for ep in eps:
            if not _is_own(ep):
                _register_entry_point(pm, ep)
    for plugin in extra or ():
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(
            f"plugin {exc.plugin!r} implements a hook dupfix-policy does not have: {exc}"
        ) from exc
    return pm


def _register_entry_point(pm: pluggy.PluginManager, ep: metadata.EntryPoint) -> None:
    if pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
        return
    dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "an unknown distribution"
    try:
        plugin = ep.load()
        pm.register(plugin, name=ep.name)
    except Exception as exc:  # a plugin's own bug must not look like ours
        raise PluginLoadError(
            f"plugin {ep.name!r} ({ep.value}, from {dist}) failed to load: {type(exc).__name__}: {exc}",
            hint=f"upgrade or uninstall {ep.dist.name if ep.dist else 'it'}, "
            f"or set {DISABLE_AUTOLOAD}=1 to run without third-party plugins",
        ) from exc


@dataclass
class Registry:
    """What the registered plugins provide, collected once and looked up by name."""

    pm: pluggy.PluginManager

    @cached_property
    def plan_formats(self) -> dict[str, PlanFormat]:
        return _by_name((f.name, f) for batch in self.pm.hook.dupfix_plan_formats() for f in batch)

    @cached_property
    def sources(self) -> dict[str, SourceFactory]:
        return _by_name((s.scheme, s) for batch in self.pm.hook.dupfix_sources() for s in batch)

    @cached_property
    def rules(self) -> dict[str, Rule]:
        rules = _by_name((r.info.code, r) for batch in self.pm.hook.dupfix_rules() for r in batch)
        return dict(sorted(rules.items()))

    @cached_property
    def reporters(self) -> dict[str, Reporter]:
        return _by_name((r.name, r) for batch in self.pm.hook.dupfix_reporters() for r in batch)


def _by_name(items) -> dict:
    out: dict = {}
    for name, item in items:
        if name in out:
            raise UserInputError(f"two plugins provide {name!r}; uninstall one of them")
        out[name] = item
    return out


def load_registry(extra: list[object] | None = None) -> Registry:
    return Registry(build_manager(extra))
