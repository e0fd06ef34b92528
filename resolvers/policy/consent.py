"""Consent (samtykke): its state and expiry for a participant, the grant it gives, and who
represents the plan's owner (a verge; a parent while the owner is under 16) and so may read
and revoke the consent document."""

from __future__ import annotations

import datetime as dt

from resolvers.policy.facts import (
    COORDINATOR,
    FULL,
    GUARDIAN,
    NOTHING,
    OWNER,
    PARENT_REPRESENTS_UNTIL_AGE,
    ConsentFacts,
    Grant,
    OwnerFacts,
    Participation,
    PlanFacts,
)
from resolvers.policy.reasons import Denial, Reason


def is_lead(mine: Participation | None) -> bool:
    """Planeier and koordinator always see their plan."""
    return mine is not None and mine.role in (OWNER, COORDINATOR)


def consent_expiry(plan: PlanFacts) -> dt.date | None:
    """The viewer's consent expiry in this plan: the plan consent's date, or the viewer's own
    date when that is earlier (a participant's own date can shorten, never extend, it)."""
    if plan.mine is None:
        return None
    own = plan.mine.consent_expires_on
    common = plan.consent.expires_on if plan.consent else None
    if own is None or common is None:
        return own or common
    return min(own, common)


def consent_denial(plan: PlanFacts, today: dt.date) -> Denial:
    """A participant without a valid consent reads nothing but the header and themself.
    Owner and coordinator are never cut off by consent."""
    if plan.mine is None:
        return Reason.NOT_PARTICIPANT
    if is_lead(plan.mine):
        return None
    consent = plan.consent
    if consent is None:
        return Reason.NO_GRANT
    if consent.revoked_on is not None and consent.revoked_on <= today:
        return Reason.CONSENT_EXPIRED
    expiry = consent_expiry(plan)
    if expiry is not None and expiry < today:
        return Reason.CONSENT_EXPIRED
    return None


def granted(consent: ConsentFacts | None, mine: Participation) -> Grant:
    """The grant the consent gives a participant: everything for owner and coordinator, else
    the consent's default grant with the participant's own overrides (no dates applied)."""
    if is_lead(mine):
        return FULL
    return consent.default_grant.overridden(mine.rights) if consent else NOTHING


def age_on(born: dt.date, today: dt.date) -> int:
    """Whole years lived by ``today`` (born 29 February: a year older on 1 March)."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def represents_owner(mine: Participation | None, owner: OwnerFacts, today: dt.date) -> bool:
    """Someone who represents the owner (foresatt/verge): a verge (role GUARDIAN) at any age,
    or a parent (the giver of the plan's consent as PARENT) while the owner is under 16 on
    ``today``. An owner without a birth date is not known to be a minor."""
    if mine is None:
        return False
    if mine.role == GUARDIAN:
        return True
    return (
        mine.person_id is not None
        and mine.person_id in owner.parent_person_ids
        and owner.birth_date is not None
        and age_on(owner.birth_date, today) < PARENT_REPRESENTS_UNTIL_AGE
    )


def owner_side_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    if plan.mine is None:
        return Reason.NOT_PARTICIPANT
    if is_lead(plan.mine) or represents_owner(plan.mine, owner, today):
        return None
    return Reason.ROLE_REQUIRED


def consent_read_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    """The consent document: the coordinator, the owner and whoever represents the owner."""
    return owner_side_denial(plan, owner, today)


def revoke_consent_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    """Revoking consent: the coordinator, the owner or whoever represents the owner."""
    if plan.mine is not None and plan.ended:
        return Reason.PLAN_ENDED
    return owner_side_denial(plan, owner, today)
