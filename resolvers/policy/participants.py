"""A plandeltaker reached through any field, their responsibility (ansvar), rights and
notification settings."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Set

from resolvers.policy.consent import is_lead
from resolvers.policy.facts import COORDINATOR, OWNER, PlanFacts
from resolvers.policy.plans import plan_visible
from resolvers.policy.reasons import Denial, Reason
from resolvers.policy.sections import section_denial


def participant_denial(
    plan: PlanFacts,
    global_roles: Set[str],
    *,
    participant_id: uuid.UUID,
    participant_role: str,
    named: bool,
    today: dt.date,
) -> Denial:
    """A plandeltaker (who they are in this plan), whatever field reached them: the owner and
    the coordinator are the plan header, seen by all who see the plan; a participant named
    as author, responsible, createdBy or uploadedBy of content the viewer may read is seen
    with it (``named``: the caller checked that content); the viewer themself; everyone else
    needs PARTICIPANTS >= READ."""
    if not plan_visible(plan, global_roles):
        return Reason.NOT_PARTICIPANT
    if participant_role in (OWNER, COORDINATOR) or named:
        return None
    if plan.mine is None:
        return Reason.NOT_PARTICIPANT
    if plan.mine.participant_id == participant_id:
        return None
    return section_denial(plan, "participants", today)


def participant_detail_denial(plan: PlanFacts, participant_id: uuid.UUID, today: dt.date) -> Denial:
    """Ansvar (responsibility) is plan-only: the participant, the owner and coordinator,
    and participants who may read the PARTICIPANTS section (else that section's reason)."""
    if plan.mine is None:
        return Reason.NOT_PARTICIPANT
    if plan.mine.participant_id == participant_id or is_lead(plan.mine):
        return None
    return section_denial(plan, "participants", today)


def participant_rights_denial(plan: PlanFacts, participant_id: uuid.UUID) -> Denial:
    """A participant's rights and consent expiry: that participant, the owner and coordinator."""
    if plan.mine is None:
        return Reason.NOT_PARTICIPANT
    if plan.mine.participant_id == participant_id or is_lead(plan.mine):
        return None
    return Reason.ROLE_REQUIRED


def own_participation_denial(plan: PlanFacts, participant_id: uuid.UUID) -> Denial:
    """Notification settings: the participant alone."""
    if plan.mine is not None and plan.mine.participant_id == participant_id:
        return None
    return Reason.ROLE_REQUIRED
