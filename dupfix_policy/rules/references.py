"""REF001: a change names an object that is not there (or not in the state it needs)."""

from __future__ import annotations

from collections.abc import Iterator

from ..facts import CheckContext
from ..hookspecs import hookimpl
from ..interfaces import Rule
from ..model import ChangeRef, Finding, RuleInfo

INFO = RuleInfo(
    "unknown-target",
    "REF001",
    "error",
    "an update/delete names an object that does not exist",
    "Check the target's spelling, or create the object first.",
    "Also reported when the target is soft-deleted (restore it first), already deleted, ambiguous, "
    "or lives in the other directory. A note, not an error, when no source covers the directory.",
    commands=(
        "dupfix whois <value>  # does it exist, under which name, in which directory",
        "Restore-MgDirectoryDeletedItem -DirectoryObjectId <id>  # a soft-deleted target: restore it first",
    ),
)


def check(ctx: CheckContext) -> Iterator[Finding]:
    for u in ctx.unresolved:
        target = u.change.target
        yield Finding(
            code="REF001",
            attribute=target.attribute if target else None,
            value=target.value if target else None,
            key=None,
            location=u.change.location_of("target", target.value if target else None),
            change=ChangeRef.of(u.change),
            message=u.problem.reason,
            fix=u.problem.fix,
            demote=u.problem.demote,
        )


@hookimpl
def dupfix_rules() -> list[Rule]:
    return [Rule(INFO, check)]
