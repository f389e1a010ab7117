"""The plugin manager: built-ins by direct import, third-party plugins through the entry-point
group `dupfix_policy` (the way `llm` loads its default plugins and then setuptools plugins).

Each entry point is loaded in its own try/except (the sqlfluff way), so a broken plugin yields one
error that names it rather than a traceback from deep inside importlib; every provided item
records its plugin, so a rule that raises later is reported as that plugin's error (exit 4).
"""

from __future__ import annotations

import importlib
import os
import types
from dataclasses import dataclass, replace
from functools import cached_property

import pluggy

from . import hookspecs
from .entrypoints import EntryPoint, entry_points
from .errors import PluginError, PluginLoadError, UserInputError
from .interfaces import PlanFormat, Reporter, Rule, SourceFactory

GROUP = "dupfix_policy"

# The built-ins, registered by direct import: one source of truth, and no entry-point metadata scan
# needed to find them.
DEFAULT_PLUGINS: dict[str, str] = {
    "plans": "dupfix_policy.plans",
    "snapshot_source": "dupfix_policy.sources.snapshot",
    "none_source": "dupfix_policy.sources.none",
    "graph_source": "dupfix_policy.sources.graph",
    "ldap_source": "dupfix_policy.sources.ldap",
    "cache_source": "dupfix_policy.sources.cache",
    "reporters": "dupfix_policy.reporters",
    "audit_reporters": "dupfix_policy.audit",
}
# The built-in rule families: registered under these names, their modules imported only when the
# rules are first asked for (`_RuleFamily`), which `sync`, `snapshot`, `whois` and `doctor` never do.
RULE_PLUGINS: dict[str, str] = {
    "duplicate_rules": "dupfix_policy.rules.duplicates",
    "reference_rules": "dupfix_policy.rules.references",
    "policy_rules": "dupfix_policy.rules.exemptions",
    "format_rules": "dupfix_policy.rules.formats",
}

# Set to 1 to load only dupfix-policy's own plugins (tests use it so installed plugins never leak in).
DISABLE_AUTOLOAD = "DUPFIX_DISABLE_PLUGIN_AUTOLOAD"


def _entry_points() -> list[EntryPoint]:
    # Sorted by what the entry point itself says; read without importlib.metadata (entrypoints.py).
    return sorted(entry_points(GROUP), key=lambda ep: (ep.name, ep.value))


def _is_own(ep: EntryPoint) -> bool:
    return ep.value.startswith("dupfix_policy.")


class _PluginManager(pluggy.PluginManager):
    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        """pluggy looks every name of a plugin up statically (inspect.getattr_static), most of
        the cost of registering a rule module full of imports and constants (start-up, issue
        14). A module's attribute that is neither a function nor a bound method is never
        hookable in pluggy either, so it is skipped before that look-up."""
        if isinstance(plugin, types.ModuleType) and not isinstance(
            plugin.__dict__.get(name), (types.FunctionType, types.MethodType)
        ):
            return None
        return super().parse_hookimpl_opts(plugin, name)


class _RuleFamily:
    """A built-in rule module as a plugin that imports it when its rules are first asked for.

    Why: the rule modules bring the engine's facts and simulation with them (~10 ms), and a
    `dupfix sync` before every CI check never runs a rule (issue 16). The hook is the module's own
    `dupfix_rules`, so the rules, their order and the plugin's name are what they were."""

    def __init__(self, module: str):
        self.module = module

    @hookspecs.hookimpl
    def dupfix_rules(self) -> list[Rule]:
        rules: list[Rule] = importlib.import_module(self.module).dupfix_rules()
        return rules


def build_manager(extra: list[object] | None = None) -> pluggy.PluginManager:
    pm = _PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    for name, module in DEFAULT_PLUGINS.items():
        pm.register(importlib.import_module(module), name=name)
    for name, module in RULE_PLUGINS.items():
        pm.register(_RuleFamily(module), name=name)
    if os.environ.get(DISABLE_AUTOLOAD, "") not in ("1", "true", "yes"):
        for ep in _entry_points():
            if not _is_own(ep):  # an old install's metadata may still list the built-ins
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


def _register_entry_point(pm: pluggy.PluginManager, ep: EntryPoint) -> None:
    if pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
        return
    dist = f"{ep.dist_name} {ep.dist_version}"
    try:
        plugin = ep.load()
        pm.register(plugin, name=ep.name)
    except Exception as exc:  # a plugin's own bug must not look like ours
        raise PluginLoadError(
            f"plugin {ep.name!r} ({ep.value}, from {dist}) failed to load: {type(exc).__name__}: {exc}",
            hint=f"upgrade or uninstall {ep.dist_name}, "
            f"or set {DISABLE_AUTOLOAD}=1 to run without third-party plugins",
        ) from exc


@dataclass
class Registry:
    """What the registered plugins provide, collected once and looked up by name."""

    pm: pluggy.PluginManager

    @cached_property
    def plan_formats(self) -> dict[str, PlanFormat]:
        return _by_name((f.name, f) for f in self._provided("dupfix_plan_formats"))

    @cached_property
    def sources(self) -> dict[str, SourceFactory]:
        return _by_name((s.scheme, s) for s in self._provided("dupfix_sources"))

    @cached_property
    def rules(self) -> dict[str, Rule]:
        rules = _by_name((r.info.code, r) for r in self._provided("dupfix_rules"))
        return dict(sorted(rules.items()))

    @cached_property
    def reporters(self) -> dict[str, Reporter]:
        return _by_name((r.name, r) for r in self._provided("dupfix_reporters"))

    def plugin_label(self, name: str) -> str:
        """`name (distribution version)` for messages: who to ask about a failure."""
        for ep in _entry_points():  # only on a failure: the scan's cost does not matter here
            if ep.name == name:
                return f"{name} ({ep.dist_name} {ep.dist_version})"
        return name

    def _provided(self, hook: str) -> list:
        """Every item the plugins return from one hook, each stamped with its plugin's name.

        Hooks are called plugin by plugin (pluggy's order: last registered first, reversed here
        so built-ins come first), so a plugin whose hook raises is named, never "an internal error".
        """
        out = []
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
            try:
                batch = impl.function()
            except Exception as exc:
                raise PluginError(
                    f"plugin {self.plugin_label(impl.plugin_name)} failed in {hook}: {type(exc).__name__}: {exc}",
                    hint="upgrade or uninstall it, or set DUPFIX_DISABLE_PLUGIN_AUTOLOAD=1",
                ) from exc
            for item in batch or ():
                out.append(replace(item, plugin=impl.plugin_name) if hasattr(item, "plugin") else item)
        return out


def _by_name(items) -> dict:
    out: dict = {}
    for name, item in items:
        if name in out:
            raise UserInputError(f"two plugins provide {name!r}; uninstall one of them")
        out[name] = item
    return out


def load_registry(extra: list[object] | None = None) -> Registry:
    return Registry(build_manager(extra))
