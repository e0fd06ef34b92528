"""Cross-plan field visibility of a person (ALL, PLAN, PRIVATE), and what only the person
(or an administrator) may read or change about them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Set

from resolvers.policy.consent import granted
from resolvers.policy.facts import (
    COORDINATOR,
    LOCAL_ADMIN,
    NONE,
    OWNER,
    SYSTEM_ADMIN,
    ConsentFacts,
    Participation,
)
from resolvers.policy.reasons import Denial, Reason


def person_field_denial(*, is_self: bool, visibility: str, shares_active_plan: bool) -> Denial:
    """ALL: anyone with an account; PLAN: people who currently share an active-consent plan
    with the person and may read its plan group (``shares_for_visibility``); PRIVATE: the
    person alone."""
    if is_self or visibility == "ALL":
        return None
    if visibility == "PLAN" and shares_active_plan:
        return None
    return Reason.FIELD_HIDDEN


def shares_for_visibility(
    *,
    ended: bool,
    consent: ConsentFacts | None,
    viewer: Participation,
    other: Participation,
    today: dt.date,
) -> bool:
    """Two people share an active-consent plan for PLAN visibility: the plan is active, its
    consent is neither revoked nor expired, neither person's own consent in it has run out,
    and the viewer may read the plan group there (PARTICIPANTS >= READ, as owner and
    coordinator always may): a plan that hides its members from the viewer shows them none
    of their contact fields either."""
    if ended or consent is None:
        return False
    if consent.revoked_on is not None and consent.revoked_on <= today:
        return False
    if consent.expires_on < today:
        return False
    for p in (viewer, other):
        if (
            p.role not in (OWNER, COORDINATOR)
            and (p.consent_expires_on or consent.expires_on) < today
        ):
            return False
    return granted(consent, viewer).participants != NONE


def person_edit_denial(
    *, is_self: bool, global_roles: Set[str], co_participant_may_edit: bool
) -> Denial:
    """Editing a person: the person, SYSTEM_ADMIN, or a co-participant with editPerson in an
    active shared plan."""
    if is_self or SYSTEM_ADMIN in global_roles or co_participant_may_edit:
        return None
    return Reason.ROLE_REQUIRED


def own_account_denial(viewer_id: object, person_id: object) -> Denial:
    """A person's login channel and field visibility settings: the person themself only."""
    return None if viewer_id == person_id else Reason.ROLE_REQUIRED


def contact_confirmation_denial(viewer_account_id: object, holder_account_id: object) -> Denial:
    """A change of an account holder's e-mail or mobile takes effect only when the holder
    confirms it, in a session of their own account: whoever else opens the link (such as the
    one who typed their own address into someone else's person) is refused."""
    return None if viewer_account_id == holder_account_id else Reason.ROLE_REQUIRED


def global_roles_read_denial(
    viewer_id: object, person_id: object, global_roles: Set[str]
) -> Denial:
    """A person's global roles: the person themself and administrators."""
    if viewer_id == person_id or global_roles & {SYSTEM_ADMIN, LOCAL_ADMIN}:
        return None
    return Reason.ROLE_REQUIRED
