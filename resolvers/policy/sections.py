"""Consent-specified access to a plan's sections: the effective grant (Plan.myAccess),
reading and writing a section, and the row filter on messages."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Set
from dataclasses import replace

from resolvers.policy.consent import consent_denial, granted, is_lead
from resolvers.policy.facts import NONE, NOTHING, READ, WRITE, Grant, PlanFacts
from resolvers.policy.reasons import Denial, Reason


def effective_grant(plan: PlanFacts, today: dt.date) -> Grant:
    """What the viewer may read and write here now (Plan.myAccess), with expiry and the
    ended state applied."""
    if plan.mine is None or consent_denial(plan, today):
        return NOTHING
    grant = granted(plan.consent, plan.mine)
    if plan.ended:
        grant = replace(grant.capped(READ), edit_person=False)
    return grant


def section_denial(plan: PlanFacts, section: str, today: dt.date) -> Denial:
    """Reading a section needs a current participation, a valid consent and READ or WRITE."""
    reason = consent_denial(plan, today)
    if reason:
        return reason
    if effective_grant(plan, today).section(section) == NONE:
        return Reason.NO_GRANT
    return None


def write_denial(plan: PlanFacts, section: str, today: dt.date) -> Denial:
    """Writing needs an active plan and WRITE on the section."""
    if plan.ended:
        return Reason.PLAN_ENDED
    reason = consent_denial(plan, today)
    if reason:
        return reason
    if effective_grant(plan, today).section(section) != WRITE:
        return Reason.NO_GRANT
    return None


def message_visible(
    *,
    plan: PlanFacts,
    author_id: uuid.UUID,
    recipient_ids: Set[uuid.UUID] | None,
) -> bool:
    """Row filter on messages: to the group, or to chosen recipients who alone see it with
    its author, the owner and the coordinator."""
    mine = plan.mine
    if mine is None:
        return False
    if recipient_ids is None or is_lead(mine) or mine.participant_id == author_id:
        return True
    return mine.participant_id in recipient_ids
