"""An example dupfix-policy plugin: an HR feed plan format and a UPN naming-convention rule.

Everything a plugin needs comes from `import dupfix_policy`; the entry point in pyproject.toml
(group `dupfix_policy`) registers this module, and each `@dupfix_policy.hookimpl` function below
adds to what dupfix can read and judge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import dupfix_policy
from dupfix_policy import (
    AuditContext,
    Change,
    ChangeRef,
    CheckContext,
    DirectoryObject,
    Finding,
    HolderView,
    Location,
    Plan,
    PlanFormat,
    Rule,
    RuleInfo,
    UserInputError,
)

# --- the plan format: one new hire per JSON line ---------------------------------------------------

FIELDS = {"userPrincipalName": "userPrincipalName", "mail": "mail", "employeeId": "employeeId"}


def detect(path: str, head: bytes) -> bool:
    return path.endswith(".hrfeed.jsonl")


def load(path: str, options: Mapping[str, Any]) -> Plan:
    """Each line a `create user` in Entra ID, every value located at its line and column."""
    changes = []
    with open(path, encoding="utf-8") as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise UserInputError(
                    f"not a JSON object: {exc.msg}", location=Location(path, number, exc.colno),
                    hint="one new hire per line, as the HR export writes them",
                ) from None
            if not isinstance(row, dict) or not row.get("userPrincipalName"):
                raise UserInputError(
                    "a new hire needs userPrincipalName", location=Location(path, number, 1),
                    field="userPrincipalName",
                )
            values = {attr: str(row[key]) for key, attr in FIELDS.items() if row.get(key)}
            values["displayName"] = f"{row.get('givenName', '')} {row.get('surname', '')}".strip() or values[
                "userPrincipalName"
            ]
            locations = {
                (attr, value): Location(path, number, text.find(json.dumps(value)) + 1)
                for attr, value in values.items()
            }
            changes.append(
                Change(
                    op="create",
                    kind="user",
                    location=Location(path, number, 1),
                    index=len(changes),
                    directory="entra",
                    set=values,
                    value_locations=locations,
                )
            )
    return Plan(path, "hr-feed", tuple(changes))


@dupfix_policy.hookimpl
def dupfix_plan_formats() -> list[PlanFormat]:
    return [
        PlanFormat(
            "hr-feed",
            detect,
            load,
            description="HR system export: one new hire per JSON line (*.hrfeed.jsonl)",
            file_patterns=("*.hrfeed.jsonl",),
            priority=10,  # a more specific shape than a generic JSON plan
        )
    ]


# --- the rule: UPN = e<employeeId>@domain ----------------------------------------------------------

EMP001 = RuleInfo(
    "upn-employee-id-convention",
    "EMP001",
    "error",
    "a new user's UPN does not follow the employee-id convention e<employeeId>@<domain>",
    "Set userPrincipalName to e<employeeId>@<domain>: UPNs built from the employee id never change "
    "on a name change.",
)


def upn_convention(ctx: CheckContext) -> Iterator[Finding]:
    for change in ctx.changes:
        employee = change.set.get("employeeId")
        upn = str(change.set.get("userPrincipalName") or "")
        if change.op != "create" or change.kind != "user" or not employee or not upn:
            continue
        if re.fullmatch(rf"e{re.escape(str(employee))}@[^@]+", upn, re.IGNORECASE):
            continue
        domain = upn.rpartition("@")[2] or "<domain>"
        yield Finding(
            code="EMP001",
            attribute="userPrincipalName",
            value=upn,
            key=None,
            location=change.location_of("userPrincipalName", upn),
            change=ChangeRef.of(change),
            message=f"userPrincipalName {upn} should be e{employee}@{domain} (employee {employee})",
            fix=EMP001.fix,
        )


def upn_convention_today(obj: DirectoryObject, ctx: AuditContext) -> Iterator[Finding]:
    """`dupfix audit`: every existing user with an employeeId is held to the same convention."""
    employee, upn = obj.get("employeeId"), str(obj.get("userPrincipalName") or "")
    if obj.kind != "user" or obj.state != "active" or not employee or not upn:
        return
    if re.fullmatch(rf"e{re.escape(str(employee))}@[^@]+", upn, re.IGNORECASE):
        return
    yield Finding(
        code="EMP001",
        attribute="userPrincipalName",
        value=upn,
        key=None,
        location=None,
        change=None,
        message=f"{obj.display} has employeeId {employee} but userPrincipalName {upn}",
        fix=EMP001.fix,
        holders=(HolderView((obj.ref,), obj.kind, obj.state, "userPrincipalName", "attribute", obj.display),),
    )


@dupfix_policy.hookimpl
def dupfix_rules() -> list[Rule]:
    return [Rule(EMP001, upn_convention, audit=upn_convention_today)]
