"""Cross-plan field visibility of a person (ALL, PLAN, PRIVATE), and what only the person
(or an administrator) may read or change about them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Set

from resolvers.policy.expr import And, Coalesce, Fact, Not, Or, Overlaps, Rule, case
from resolvers.policy.facts import (
    COORDINATING_UNIT,
    COORDINATOR,
    LOCAL_ADMIN,
    NONE,
    OWNER,
    SYSTEM_ADMIN,
    VISIBLE_IN_PLAN,
    VISIBLE_TO_ALL,
    ConsentFacts,
    F,
    Participation,
    PlanFacts,
    plan_env,
)
from resolvers.policy.reasons import Denial, Reason
from resolvers.policy.sections import GRANTED

PERSON_FIELD = Rule(
    "person_field",
    "ALL: anyone with an account; PLAN: people who currently share an active-consent plan"
    " with the person and may read its plan group (shares_for_visibility); PRIVATE: the"
    " person alone.",
    case(
        (Not(F.logged_in), Reason.FIELD_HIDDEN),
        (Or(F.is_self, F.visibility == VISIBLE_TO_ALL), None),
        (And(F.visibility == VISIBLE_IN_PLAN, F.shares_active_plan), None),
        otherwise=Reason.FIELD_HIDDEN,
    ),
)

READ_IS_LOGGED = Rule(
    "read_is_logged",
    "Reading someone else's contact field that is not visible to all, and has a value, is"
    " written to that person's access log (innsyn i logg).",
    And(Not(F.is_self), F.has_value, F.visibility != VISIBLE_TO_ALL),
    kind="bool",
)


def _in_time(role: Fact, own_expiry: Fact) -> Or:
    """Owner and coordinator have no consent expiry of their own; others' may have run out."""
    return Or(
        role.one_of(OWNER, COORDINATOR),
        Not(Coalesce(own_expiry, F.consent_expires_on) < F.today),
    )


SHARES_FOR_VISIBILITY = Rule(
    "shares_for_visibility",
    "Two people share an active-consent plan for PLAN visibility: the plan is active, its"
    " consent is neither revoked nor expired, neither person's own consent in it has run out,"
    " and the viewer may read the plan group there (PARTICIPANTS >= READ, as owner and"
    " coordinator always may): a plan that hides its members from the viewer shows them none"
    " of their contact fields either.",
    And(
        Not(F.plan_ended),
        F.consent_exists,
        Not(And(F.consent_revoked_on.is_not_null(), F.consent_revoked_on <= F.today)),
        Not(F.consent_expires_on < F.today),
        _in_time(F.mine_role, F.mine_expires_on),
        _in_time(F.other_role, F.other_expires_on),
        GRANTED["participants"].expr != NONE,
    ),
    kind="bool",
)

SEARCH_FINDS = Rule(
    "search_finds",
    "Whether searchPersons finds a person: everyone who has not restricted search («Begrens"
    " søk»); one who has, only for SYSTEM_ADMIN, the coordinating unit, a LOCAL_ADMIN of"
    " their service unit, and people who take part in a current plan with them.",
    Or(
        Not(F.search_restricted),
        F.is_self,
        Overlaps(F.global_roles, (SYSTEM_ADMIN, COORDINATING_UNIT)),
        And(
            Overlaps(F.global_roles, (LOCAL_ADMIN,)),
            F.viewer_unit.is_not_null(),
            F.viewer_unit == F.person_unit,
        ),
        F.shares_current_plan,
    ),
    kind="bool",
)

PERSON_EDIT = Rule(
    "person_edit",
    "Editing a person: the person, SYSTEM_ADMIN, or a co-participant with editPerson in an"
    " active shared plan.",
    case(
        (Or(F.is_self, Overlaps(F.global_roles, (SYSTEM_ADMIN,)), F.co_participant_may_edit), None),
        otherwise=Reason.ROLE_REQUIRED,
    ),
)

SELF_ONLY = Rule(
    "self_only",
    "A person's login channel and field visibility settings, and confirming a change of an"
    " account holder's e-mail or mobile: the person (the account holder, in a session of"
    " their own account) only.",
    case((F.viewer_key == F.subject_key, None), otherwise=Reason.ROLE_REQUIRED),
)

GLOBAL_ROLES_READ = Rule(
    "global_roles_read",
    "A person's global roles: the person themself and administrators.",
    case(
        (
            Or(
                F.viewer_key == F.subject_key, Overlaps(F.global_roles, (SYSTEM_ADMIN, LOCAL_ADMIN))
            ),
            None,
        ),
        otherwise=Reason.ROLE_REQUIRED,
    ),
)


def person_field_denial(
    *, is_self: bool, visibility: str, shares_active_plan: bool, logged_in: bool = True
) -> Denial:
    env = {
        "logged_in": logged_in,
        "is_self": is_self,
        "visibility": visibility,
        "shares_active_plan": shares_active_plan,
    }
    denial: Denial = PERSON_FIELD(env)
    return denial


def read_is_logged(*, is_self: bool, has_value: bool, visibility: str) -> bool:
    env = {"is_self": is_self, "has_value": has_value, "visibility": visibility}
    return bool(READ_IS_LOGGED(env))


def shares_for_visibility(
    *,
    ended: bool,
    consent: ConsentFacts | None,
    viewer: Participation,
    other: Participation,
    today: dt.date,
) -> bool:
    plan = PlanFacts(plan_id=viewer.participant_id, ended=ended, consent=consent, mine=viewer)
    env = plan_env(plan, today) | {
        "other_role": other.role,
        "other_expires_on": other.consent_expires_on,
    }
    return bool(SHARES_FOR_VISIBILITY(env))


def person_edit_denial(
    *, is_self: bool, global_roles: Set[str], co_participant_may_edit: bool
) -> Denial:
    env = {
        "is_self": is_self,
        "global_roles": global_roles,
        "co_participant_may_edit": co_participant_may_edit,
    }
    denial: Denial = PERSON_EDIT(env)
    return denial


def own_account_denial(viewer_id: object, person_id: object) -> Denial:
    """A person's login channel and field visibility settings: the person themself only."""
    denial: Denial = SELF_ONLY({"viewer_key": viewer_id, "subject_key": person_id})
    return denial


def contact_confirmation_denial(viewer_account_id: object, holder_account_id: object) -> Denial:
    """A change of an account holder's e-mail or mobile takes effect only when the holder
    confirms it, in a session of their own account: whoever else opens the link (such as the
    one who typed their own address into someone else's person) is refused."""
    denial: Denial = SELF_ONLY({"viewer_key": viewer_account_id, "subject_key": holder_account_id})
    return denial


def global_roles_read_denial(
    viewer_id: object, person_id: object, global_roles: Set[str]
) -> Denial:
    env = {"viewer_key": viewer_id, "subject_key": person_id, "global_roles": global_roles}
    denial: Denial = GLOBAL_ROLES_READ(env)
    return denial


def search_finds(
    *,
    search_restricted: bool,
    is_self: bool,
    global_roles: Set[str],
    viewer_unit: object,
    person_unit: object,
    shares_current_plan: bool,
) -> bool:
    env = {
        "search_restricted": search_restricted,
        "is_self": is_self,
        "global_roles": global_roles,
        "viewer_unit": viewer_unit,
        "person_unit": person_unit,
        "shares_current_plan": shares_current_plan,
    }
    return bool(SEARCH_FINDS(env))
