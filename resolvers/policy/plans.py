"""The plan itself: who may know it exists, and the coordinator's own acts on it."""

from __future__ import annotations

from collections.abc import Set

from resolvers.policy.facts import COORDINATING_UNIT, COORDINATOR, SYSTEM_ADMIN, PlanFacts
from resolvers.policy.reasons import Denial, Reason


def plan_visible(plan: PlanFacts | None, global_roles: Set[str]) -> bool:
    """Whether the viewer may know the plan exists: current participants, and those who
    administer plans (SYSTEM_ADMIN, COORDINATING_UNIT). Everyone else gets NOT_FOUND."""
    if plan is None:
        return False
    return plan.mine is not None or bool(global_roles & {SYSTEM_ADMIN, COORDINATING_UNIT})


def coordinator_denial(plan: PlanFacts, *, allow_ended: bool = False) -> Denial:
    """Consent, participants, ending and archiving: the plan's coordinator only."""
    if plan.mine is None:
        return Reason.NOT_PARTICIPANT
    if plan.mine.role != COORDINATOR:
        return Reason.ROLE_REQUIRED
    if plan.ended and not allow_ended:
        return Reason.PLAN_ENDED
    return None


def plan_edit_denial(plan: PlanFacts) -> Denial:
    """The plan header (kortnavn, type, revision date): the coordinator."""
    return coordinator_denial(plan)
