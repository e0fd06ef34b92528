"""The plan itself: who may know it exists, and the coordinator's own acts on it."""

from __future__ import annotations

from collections.abc import Set

from resolvers.policy.expr import Or, Overlaps, Rule, case
from resolvers.policy.facts import (
    COORDINATING_UNIT,
    COORDINATOR,
    SYSTEM_ADMIN,
    F,
    PlanFacts,
)
from resolvers.policy.reasons import Denial, Reason

PLAN_VISIBLE = Rule(
    "plan_visible",
    "Whether the viewer may know the plan exists: current participants, and those who"
    " administer plans (SYSTEM_ADMIN, COORDINATING_UNIT). Everyone else gets NOT_FOUND.",
    Or(F.mine_id.is_not_null(), Overlaps(F.global_roles, (SYSTEM_ADMIN, COORDINATING_UNIT))),
    kind="bool",
)


PARTICIPATES = Rule(
    "participates",
    "What only a current participant does in a plan (marking it visited).",
    case((F.mine_id.is_null(), Reason.NOT_PARTICIPANT)),
)


def participation_denial(plan: PlanFacts) -> Denial:
    mine = plan.mine
    denial: Denial = PARTICIPATES({"mine_id": mine.participant_id if mine else None})
    return denial


def _coordinator(*, allow_ended: bool) -> Rule:
    return Rule(
        "coordinator_act" + ("" if not allow_ended else ".ended"),
        "Consent, participants, ending and the plan header: the plan's coordinator only"
        + (", also once the plan has ended (archiving)." if allow_ended else ", while active."),
        case(
            (F.mine_id.is_null(), Reason.NOT_PARTICIPANT),
            (F.mine_role != COORDINATOR, Reason.ROLE_REQUIRED),
            (F.plan_ended if not allow_ended else False, Reason.PLAN_ENDED),
        ),
    )


COORDINATOR_ACT = _coordinator(allow_ended=False)
COORDINATOR_ACT_ENDED = _coordinator(allow_ended=True)


def plan_visible(plan: PlanFacts | None, global_roles: Set[str]) -> bool:
    if plan is None:
        return False
    env = {"mine_id": plan.mine.participant_id if plan.mine else None, "global_roles": global_roles}
    return bool(PLAN_VISIBLE(env))


def coordinator_denial(plan: PlanFacts, *, allow_ended: bool = False) -> Denial:
    rule = COORDINATOR_ACT_ENDED if allow_ended else COORDINATOR_ACT
    mine = plan.mine
    env = {
        "mine_id": mine.participant_id if mine else None,
        "mine_role": mine.role if mine else None,
        "plan_ended": plan.ended,
    }
    denial: Denial = rule(env)
    return denial


def plan_edit_denial(plan: PlanFacts) -> Denial:
    """The plan header (kortnavn, type, revision date): the coordinator."""
    return coordinator_denial(plan)
