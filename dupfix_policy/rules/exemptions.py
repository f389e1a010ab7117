"""POL001: an exemption in the policy has expired, so the finding it covered counts again."""

from __future__ import annotations

from collections.abc import Iterator

from ..facts import CheckContext
from ..hookspecs import hookimpl
from ..interfaces import Rule
from ..model import Finding, RuleInfo

INFO = RuleInfo(
    "expired-exemption",
    "POL001",
    "note",
    "a policy exemption has expired and no longer applies",
    "Renew the exemption with a new expiry date and reason, or delete it from the policy.",
)


def check(ctx: CheckContext) -> Iterator[Finding]:
    for ex in ctx.policy.expired_exemptions(ctx.today):
        yield Finding(
            code="POL001",
            attribute=None,
            value=ex.value,
            key=ex.key,
            location=ex.location,
            change=None,
            message=f"exemption for {ex.rule} {ex.value} expired on {ex.expires.isoformat() if ex.expires else '?'} ({ex.reason})",
            fix=INFO.fix,
        )


@hookimpl
def dupfix_rules() -> list[Rule]:
    return [Rule(INFO, check)]
