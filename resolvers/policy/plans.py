"""The plan itself: who may know it exists, and the coordinator's own acts on it."""

from __future__ import annotations

import uuid
from collections.abc import Set

from resolvers.policy.expr import And, Or, Overlaps, Rule, case
from resolvers.policy.facts import (
    COORDINATING_UNIT,
    COORDINATOR,
    LOCAL_ADMIN,
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


_UNIT_ADMIN = And(
    Overlaps(F.global_roles, (LOCAL_ADMIN,)),
    F.viewer_unit.is_not_null(),
    F.viewer_unit == F.plan_unit,
)

PLAN_HEADER_VISIBLE = Rule(
    "plan_header_visible",
    "Who sees a plan's header in planOverview (owner's name, short name, type, status,"
    " coordinator, consent expiry, revision date, last activity; never a section): SYSTEM_ADMIN"
    " and the coordinating unit every plan, a LOCAL_ADMIN the plans of their service unit.",
    Or(Overlaps(F.global_roles, (SYSTEM_ADMIN, COORDINATING_UNIT)), _UNIT_ADMIN),
    kind="bool",
)

COORDINATOR_CHANGE = Rule(
    "coordinator_change",
    "Handing a plan to a new coordinator (changeCoordinator): the coordinating unit,"
    " SYSTEM_ADMIN, a LOCAL_ADMIN of the plan's service unit, or the current coordinator.",
    case(
        (Overlaps(F.global_roles, (SYSTEM_ADMIN, COORDINATING_UNIT)), None),
        (_UNIT_ADMIN, None),
        (F.mine_role == COORDINATOR, None),
        otherwise=Reason.ROLE_REQUIRED,
    ),
)


def plan_header_visible(
    global_roles: Set[str], *, viewer_unit: uuid.UUID | None, plan_unit: uuid.UUID | None
) -> bool:
    env = {"global_roles": global_roles, "viewer_unit": viewer_unit, "plan_unit": plan_unit}
    return bool(PLAN_HEADER_VISIBLE(env))


def plan_overview_denial(global_roles: Set[str], *, viewer_unit: uuid.UUID | None) -> Denial:
    """planOverview at all: for those who see every plan's header, or their own unit's."""
    every = plan_header_visible(global_roles, viewer_unit=None, plan_unit=None)
    own_unit = plan_header_visible(global_roles, viewer_unit=viewer_unit, plan_unit=viewer_unit)
    return None if every or own_unit else Reason.ROLE_REQUIRED


def coordinator_change_denial(
    global_roles: Set[str],
    *,
    viewer_unit: uuid.UUID | None,
    plan_unit: uuid.UUID | None,
    mine_role: str | None,
) -> Denial:
    env = {
        "global_roles": global_roles,
        "viewer_unit": viewer_unit,
        "plan_unit": plan_unit,
        "mine_role": mine_role,
    }
    denial: Denial = COORDINATOR_CHANGE(env)
    return denial
