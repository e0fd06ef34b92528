"""Consent (samtykke): its state and expiry for a participant, the grant it gives, and who
represents the plan's owner (a verge; a parent while the owner is under 16) and so may read
and revoke the consent document."""

from __future__ import annotations

import datetime as dt

from resolvers.policy.expr import AgeOn, And, Least, Member, Not, Or, Rule, case
from resolvers.policy.facts import (
    COORDINATOR,
    GUARDIAN,
    OWNER,
    PARENT_REPRESENTS_UNTIL_AGE,
    RELATIVE,
    F,
    OwnerFacts,
    Participation,
    PlanFacts,
    plan_env,
)
from resolvers.policy.reasons import Denial, Reason

IS_LEAD = Rule(
    "is_lead",
    "Planeier and koordinator always see their plan.",
    F.mine_role.one_of(OWNER, COORDINATOR),
    kind="bool",
)

CONSENT_EXPIRY = Rule(
    "consent_expiry",
    "The viewer's consent expiry in this plan: the plan consent's date, or the viewer's own"
    " date when that is earlier (a participant's own date can shorten, never extend, it).",
    case(
        (F.mine_id.is_null(), None),
        otherwise=Least(F.mine_expires_on, F.consent_expires_on),
    ),
    kind="value",
)

CUT_OFF = Rule(
    "cut_off",
    "The last day the consent lets this participant in (consent_expiry), or none for owner"
    " and coordinator, whom consent never cuts off: what expiry reports and warnings count.",
    case((IS_LEAD.expr, None), otherwise=CONSENT_EXPIRY.expr),
    kind="value",
)

CONSENT_STATE = Rule(
    "consent_state",
    "A participant without a valid consent reads nothing but the header and themself."
    " Owner and coordinator are never cut off by consent.",
    case(
        (F.mine_id.is_null(), Reason.NOT_PARTICIPANT),
        (IS_LEAD.expr, None),
        (Not(F.consent_exists), Reason.NO_GRANT),
        (
            And(F.consent_revoked_on.is_not_null(), F.consent_revoked_on <= F.today),
            Reason.CONSENT_EXPIRED,
        ),
        (CONSENT_EXPIRY.expr < F.today, Reason.CONSENT_EXPIRED),
    ),
)

REPRESENTS_OWNER = Rule(
    "represents_owner",
    "Someone who represents the owner (foresatt/verge): a verge (role GUARDIAN) at any age,"
    " or a parent (the giver of the plan's consent as PARENT) while the owner is under 16 on"
    " today. An owner without a birth date is not known to be a minor.",
    And(
        F.mine_id.is_not_null(),
        Or(
            F.mine_role == GUARDIAN,
            And(
                Member(F.mine_person_id, F.parent_person_ids),
                AgeOn(F.owner_birth_date, F.today) < PARENT_REPRESENTS_UNTIL_AGE,
            ),
        ),
    ),
    kind="bool",
)

OWNER_SIDE = Rule(
    "owner_side",
    "The consent document and the archives: the coordinator, the owner and whoever"
    " represents the owner.",
    case(
        (F.mine_id.is_null(), Reason.NOT_PARTICIPANT),
        (Or(IS_LEAD.expr, REPRESENTS_OWNER.expr), None),
        otherwise=Reason.ROLE_REQUIRED,
    ),
)

REVOKE_CONSENT = Rule(
    "revoke_consent",
    "Revoking consent: the coordinator, the owner or whoever represents the owner, while the"
    " plan is active.",
    case(
        (And(F.mine_id.is_not_null(), F.plan_ended), Reason.PLAN_ENDED),
        otherwise=OWNER_SIDE.expr,
    ),
)


GIVE_PROPOSED_CONSENT = Rule(
    "give_proposed_consent",
    "Giving a consent the coordinator proposed (giveConsent): only the person it names as"
    " its giver (the owner as SELF, a parent or verge as PARENT or GUARDIAN), taking part in"
    " the plan, while the plan is active.",
    case(
        (F.mine_id.is_null(), Reason.NOT_PARTICIPANT),
        (F.plan_ended, Reason.PLAN_ENDED),
        (F.mine_person_id == F.giver_person_id, None),
        otherwise=Reason.ROLE_REQUIRED,
    ),
)

CONSENT_GIVER = Rule(
    "consent_giver",
    "Who gives the consent in which relation: SELF is the owner; PARENT and GUARDIAN are a"
    " guardian (verge) or a relative in the plan.",
    Or(
        And(F.consent_relation == "SELF", F.giver_role == OWNER),
        And(F.consent_relation.one_of("PARENT", GUARDIAN), F.giver_role.one_of(GUARDIAN, RELATIVE)),
    ),
    kind="bool",
)


def may_give_consent(relation: str, giver_role: str) -> bool:
    return bool(CONSENT_GIVER({"consent_relation": relation, "giver_role": giver_role}))


def is_lead(mine: Participation | None) -> bool:
    """Planeier and koordinator always see their plan."""
    return mine is not None and bool(IS_LEAD({"mine_role": mine.role}))


def consent_expiry(plan: PlanFacts) -> dt.date | None:
    expiry: dt.date | None = CONSENT_EXPIRY(plan_env(plan, dt.date.min))
    return expiry


def consent_denial(plan: PlanFacts, today: dt.date) -> Denial:
    denial: Denial = CONSENT_STATE(plan_env(plan, today))
    return denial


def age_on(born: dt.date, today: dt.date) -> int:
    """Whole years lived by ``today`` (born 29 February: a year older on 1 March)."""
    age: int = AgeOn(F.owner_birth_date, F.today).compile()(
        {"owner_birth_date": born, "today": today}
    )
    return age


def _owner_env(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> dict[str, object]:
    return plan_env(plan, today) | {
        "owner_birth_date": owner.birth_date,
        "parent_person_ids": owner.parent_person_ids,
    }


def represents_owner(mine: Participation | None, owner: OwnerFacts, today: dt.date) -> bool:
    env = {
        "today": today,
        "mine_id": mine.participant_id if mine else None,
        "mine_role": mine.role if mine else None,
        "mine_person_id": mine.person_id if mine else None,
        "owner_birth_date": owner.birth_date,
        "parent_person_ids": owner.parent_person_ids,
    }
    return bool(REPRESENTS_OWNER(env))


def owner_side_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    denial: Denial = OWNER_SIDE(_owner_env(plan, owner, today))
    return denial


def consent_read_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    """The consent document: the coordinator, the owner and whoever represents the owner."""
    return owner_side_denial(plan, owner, today)


def revoke_consent_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    denial: Denial = REVOKE_CONSENT(_owner_env(plan, owner, today))
    return denial


def give_proposed_consent_denial(plan: PlanFacts, giver_person_id: object) -> Denial:
    mine = plan.mine
    env = {
        "mine_id": mine.participant_id if mine else None,
        "mine_person_id": mine.person_id if mine else None,
        "plan_ended": plan.ended,
        "giver_person_id": giver_person_id,
    }
    denial: Denial = GIVE_PROPOSED_CONSENT(env)
    return denial
