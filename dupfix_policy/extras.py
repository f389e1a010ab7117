"""Optional dependencies: the live sources' libraries are extras, not part of every install.

A pre-commit hook checking a plan against a snapshot or the state cache never talks to Graph or
LDAP, so msgraph-sdk (most of a full install's size) and ldap3 are the `graph` and `ldap` extras.
A live source asked for without its extra fails closed (exit 3) and says what to install.
"""

from __future__ import annotations

import importlib.util

from .errors import StateUnavailableError

EXTRAS: dict[str, tuple[str, ...]] = {
    "graph": ("msgraph", "azure.identity", "httpx"),
    "ldap": ("ldap3",),
}
DISTRIBUTIONS = {"graph": "msgraph-sdk and azure-identity", "ldap": "ldap3"}


def missing(extra: str) -> list[str]:
    """The modules of an extra that this environment cannot import (without importing them)."""
    out = []
    for module in EXTRAS[extra]:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(module)
    return out


def require(extra: str, source: str) -> None:
    """Fail closed when `source` needs an extra this install lacks: exit 3, never a silent pass."""
    lacking = missing(extra)
    if lacking:
        raise StateUnavailableError(
            f"the {source} source needs {DISTRIBUTIONS[extra]}, which this install lacks "
            f"(no module {', '.join(lacking)})",
            field="--source",
            hint=f"install dupfix-policy[{extra}] (pip install 'dupfix-policy[{extra}]'; for the "
            f"pre-commit hook: additional_dependencies: ['dupfix-policy[{extra}]'])",
        )
