"""dupfix-policy: stop duplicate UPNs and proxy addresses before they reach Microsoft Entra ID.

The public plugin API is re-exported here, the way `llm` exports `llm.hookimpl`: a third-party
plugin needs nothing but `import dupfix_policy` (docs/plugins.md). Names are resolved on first
use, so `import dupfix_policy` (and `dupfix --help`) stays as light as the package itself.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_API: dict[str, str] = {
    "hookimpl": "dupfix_policy.hookspecs",
    "hookspec": "dupfix_policy.hookspecs",
    # what a plugin provides (interfaces.py)
    "PlanFormat": "dupfix_policy.interfaces",
    "Reporter": "dupfix_policy.interfaces",
    "Rule": "dupfix_policy.interfaces",
    "SourceFactory": "dupfix_policy.interfaces",
    "StateSource": "dupfix_policy.interfaces",
    "ReportsNotes": "dupfix_policy.interfaces",
    "Diagnosable": "dupfix_policy.interfaces",
    "DeltaSource": "dupfix_policy.interfaces",
    "DeltaInParts": "dupfix_policy.interfaces",
    "DeltaNotes": "dupfix_policy.interfaces",
    "DoctorLine": "dupfix_policy.interfaces",
    # the data every stage passes along (model.py)
    "Change": "dupfix_policy.model",
    "ChangeRef": "dupfix_policy.model",
    "DirectoryObject": "dupfix_policy.model",
    "Finding": "dupfix_policy.model",
    "HolderView": "dupfix_policy.model",
    "Location": "dupfix_policy.model",
    "Plan": "dupfix_policy.model",
    "Quarantined": "dupfix_policy.model",
    "Report": "dupfix_policy.model",
    "RuleInfo": "dupfix_policy.model",
    "SourceInfo": "dupfix_policy.model",
    "Target": "dupfix_policy.model",
    "Tenant": "dupfix_policy.model",
    # what rules see (facts.py)
    "AddedClaim": "dupfix_policy.facts",
    "AuditContext": "dupfix_policy.facts",
    "CheckContext": "dupfix_policy.facts",
    "DerivedAddress": "dupfix_policy.facts",
    "RestoreOrder": "dupfix_policy.facts",
    "Rival": "dupfix_policy.facts",
    "TouchedConflict": "dupfix_policy.facts",
    "UnresolvedTarget": "dupfix_policy.facts",
    # errors with their exit codes (errors.py)
    "UserInputError": "dupfix_policy.errors",
    "StateUnavailableError": "dupfix_policy.errors",
    "PluginError": "dupfix_policy.errors",
}

__all__ = [
    "AddedClaim",
    "AuditContext",
    "Change",
    "ChangeRef",
    "CheckContext",
    "DeltaInParts",
    "DeltaNotes",
    "DeltaSource",
    "DerivedAddress",
    "Diagnosable",
    "DirectoryObject",
    "DoctorLine",
    "Finding",
    "HolderView",
    "Location",
    "Plan",
    "PlanFormat",
    "PluginError",
    "Quarantined",
    "Report",
    "Reporter",
    "ReportsNotes",
    "RestoreOrder",
    "Rival",
    "Rule",
    "RuleInfo",
    "SourceFactory",
    "SourceInfo",
    "StateSource",
    "StateUnavailableError",
    "Target",
    "Tenant",
    "TouchedConflict",
    "UnresolvedTarget",
    "UserInputError",
    "__version__",
    "hookimpl",
    "hookspec",
]  # literal, for tools; _API says where each lives


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'dupfix_policy' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # the names as type checkers and IDEs see them
    from .errors import PluginError, StateUnavailableError, UserInputError
    from .facts import (
        AddedClaim,
        AuditContext,
        CheckContext,
        DerivedAddress,
        RestoreOrder,
        Rival,
        TouchedConflict,
        UnresolvedTarget,
    )
    from .hookspecs import hookimpl, hookspec
    from .interfaces import (
        DeltaInParts,
        DeltaNotes,
        DeltaSource,
        Diagnosable,
        DoctorLine,
        PlanFormat,
        Reporter,
        ReportsNotes,
        Rule,
        SourceFactory,
        StateSource,
    )
    from .model import (
        Change,
        ChangeRef,
        DirectoryObject,
        Finding,
        HolderView,
        Location,
        Plan,
        Quarantined,
        Report,
        RuleInfo,
        SourceInfo,
        Target,
        Tenant,
    )
