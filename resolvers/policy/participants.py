"""A plandeltaker reached through any field, their responsibility (ansvar), rights and
notification settings."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Set

from resolvers.policy.consent import IS_LEAD
from resolvers.policy.expr import Not, Or, Rule, case
from resolvers.policy.facts import COORDINATOR, OWNER, F, PlanFacts, plan_env
from resolvers.policy.plans import PLAN_VISIBLE
from resolvers.policy.reasons import Denial, Reason
from resolvers.policy.sections import SECTION_READ

_SEES_GROUP = SECTION_READ["participants"].expr

PARTICIPANT = Rule(
    "participant",
    "A plandeltaker, whatever field reached them: the owner and the coordinator are the plan"
    " header, seen by all who see the plan; a participant named as author, responsible,"
    " createdBy or uploadedBy of content the viewer may read is seen with it (named: the"
    " caller checked that content); the viewer themself; everyone else needs PARTICIPANTS >="
    " READ.",
    case(
        (Not(PLAN_VISIBLE.expr), Reason.NOT_PARTICIPANT),
        (Or(F.participant_role.one_of(OWNER, COORDINATOR), F.named), None),
        (F.mine_id.is_null(), Reason.NOT_PARTICIPANT),
        (F.mine_id == F.participant_id, None),
        otherwise=_SEES_GROUP,
    ),
)

PARTICIPANT_DETAIL = Rule(
    "participant_detail",
    "Ansvar (responsibility) is plan-only: the participant, the owner and coordinator, and"
    " participants who may read the PARTICIPANTS section (else that section's reason).",
    case(
        (F.mine_id.is_null(), Reason.NOT_PARTICIPANT),
        (Or(F.mine_id == F.participant_id, IS_LEAD.expr), None),
        otherwise=_SEES_GROUP,
    ),
)

PARTICIPANT_RIGHTS = Rule(
    "participant_rights",
    "A participant's rights and consent expiry: that participant, the owner and coordinator.",
    case(
        (F.mine_id.is_null(), Reason.NOT_PARTICIPANT),
        (Or(F.mine_id == F.participant_id, IS_LEAD.expr), None),
        otherwise=Reason.ROLE_REQUIRED,
    ),
)

OWN_PARTICIPATION = Rule(
    "own_participation",
    "Notification settings: the participant alone.",
    case((F.mine_id == F.participant_id, None), otherwise=Reason.ROLE_REQUIRED),
)


OWN_RESPONSIBILITY = Rule(
    "own_responsibility",
    "Writing a participant's responsibility («ansvar»): the participant themself or the"
    " coordinator, while the plan is active.",
    case(
        (F.plan_ended, Reason.PLAN_ENDED),
        (F.mine_id.is_null(), Reason.NOT_PARTICIPANT),
        (Or(F.mine_id == F.participant_id, F.mine_role == COORDINATOR), None),
        otherwise=Reason.ROLE_REQUIRED,
    ),
)


def own_responsibility_denial(plan: PlanFacts, participant_id: uuid.UUID) -> Denial:
    env = {
        "plan_ended": plan.ended,
        "mine_id": plan.mine.participant_id if plan.mine else None,
        "mine_role": plan.mine.role if plan.mine else None,
        "participant_id": participant_id,
    }
    denial: Denial = OWN_RESPONSIBILITY(env)
    return denial


def participant_denial(
    plan: PlanFacts,
    global_roles: Set[str],
    *,
    participant_id: uuid.UUID,
    participant_role: str,
    named: bool,
    today: dt.date,
) -> Denial:
    env = plan_env(plan, today) | {
        "global_roles": global_roles,
        "participant_id": participant_id,
        "participant_role": participant_role,
        "named": named,
    }
    denial: Denial = PARTICIPANT(env)
    return denial


def participant_detail_denial(plan: PlanFacts, participant_id: uuid.UUID, today: dt.date) -> Denial:
    denial: Denial = PARTICIPANT_DETAIL(plan_env(plan, today) | {"participant_id": participant_id})
    return denial


def participant_rights_denial(plan: PlanFacts, participant_id: uuid.UUID) -> Denial:
    env = {
        "mine_id": plan.mine.participant_id if plan.mine else None,
        "mine_role": plan.mine.role if plan.mine else None,
        "participant_id": participant_id,
    }
    denial: Denial = PARTICIPANT_RIGHTS(env)
    return denial


def own_participation_denial(plan: PlanFacts, participant_id: uuid.UUID) -> Denial:
    env = {
        "mine_id": plan.mine.participant_id if plan.mine else None,
        "participant_id": participant_id,
    }
    denial: Denial = OWN_PARTICIPATION(env)
    return denial
