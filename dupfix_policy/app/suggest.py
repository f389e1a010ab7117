"""`check --suggest` and `dupfix fix`: the check, keeping its state, then suggestions over it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ..interfaces import StateSource
from ..model import Plan
from ..plugins import Registry
from ..policy import Policy
from .settings import Settings


def suggest_for(
    plans: Sequence[Plan], sources: Sequence[StateSource], registry: Registry, policy: Policy, settings: Settings,
    today: dt.date,
) -> Any:
    """Run the check keeping its state, then suggest (suggestions.suggest)."""
    from ..engine import evaluate
    from ..naming import convention_from_config
    from ..suggestions import suggest

    convention = convention_from_config(settings.naming, settings.naming_location)
    evaluation = evaluate(plans, sources, registry.rules, policy, today)
    return suggest(evaluation, sources, registry.rules, policy, convention, plans, today)
