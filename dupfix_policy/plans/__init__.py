"""The built-in plan formats, registered without importing them.

One table says what each format is called, which files it may read and what it is; a format's
module (`native`, `entra_csv`, `onprem_csv`, `ldif`, `terraform`) is imported only when a file
could be one of its files. Each module's own `detect` starts with the same file-name test as its
`NAMES` entry here (the modules read their extensions from this table), so a file no format can
claim never loads that format's module, and detection decides exactly as it would eagerly.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

from ..hookspecs import hookimpl
from ..interfaces import PlanFormat
from ..model import Plan

# name -> (module, file names it may claim, description, file patterns shown to people)
BUILTIN: dict[str, tuple[str, tuple[str, ...], str, tuple[str, ...]]] = {
    "native": (
        "native", (".yaml", ".yml", ".json"),
        "dupfix-policy's own plan format: YAML or JSON with `version: 1` and a list of `changes`",
        ("*.yaml", "*.yml", "*.json"),
    ),
    "entra-csv": (
        "entra_csv", (".csv", ".txt", ".tsv"),
        "Entra admin center bulk create / invite / delete / restore CSV templates (version:v1.0)",
        ("*.csv", "*.txt"),
    ),
    "csv": (
        "onprem_csv", (".csv", ".tsv", ".txt"),
        "on-prem AD import CSV: csvde (LDAP headers) or New-ADUser script columns (mapped in .dupfix.yaml)",
        ("*.csv", "*.tsv", "*.txt"),
    ),
    "ldif": (
        "ldif", (".ldif", ".ldf", ".txt", ".ldi"),
        "LDIF change records (RFC 2849) as ldifde writes them: add, modify, delete, moddn",
        ("*.ldf", "*.ldif"),
    ),
    "terraform": (
        "terraform", (".json",),
        "Terraform plan JSON (`terraform show -json plan.tfplan`): azuread users, groups, invitations",
        ("*.json",),
    ),
}  # fmt: skip


def extensions(name: str) -> tuple[str, ...]:
    """The file names a built-in format may claim (its module's detect starts with this test)."""
    return BUILTIN[name][1]


def _lazy(name: str) -> PlanFormat:
    module_name, may_claim, description, patterns = BUILTIN[name]

    def module() -> Any:
        return import_module(f"{__name__}.{module_name}")

    def detect(path: str, head: bytes) -> bool:
        return path.lower().endswith(may_claim) and bool(module().detect(path, head))

    def load(path: str, options: Mapping[str, Any]) -> Plan:
        return module().load(path, options)  # type: ignore[no-any-return]

    return PlanFormat(name, detect, load, description=description, file_patterns=patterns)


@hookimpl
def dupfix_plan_formats() -> list[PlanFormat]:
    return [_lazy(name) for name in BUILTIN]
