"""The access rules, as pure functions over plain data. Every resolver asks here.

A rule returns ``None`` when the viewer may go ahead, or the reason it may not
(one of ``NOT_PARTICIPANT``, ``NO_GRANT``, ``CONSENT_EXPIRED``, ``PLAN_ENDED``,
``FIELD_HIDDEN``, ``ROLE_REQUIRED``).
"""

from __future__ import annotations

from collections.abc import Set

Denial = str | None

SYSTEM_ADMIN = "SYSTEM_ADMIN"
LOCAL_ADMIN = "LOCAL_ADMIN"
COORDINATING_UNIT = "COORDINATING_UNIT"
REPORTER = "REPORTER"


def account_admin_denial(global_roles: Set[str], *, is_coordinator: bool) -> Denial:
    """Who may create persons and accounts: SYSTEM_ADMIN, LOCAL_ADMIN, COORDINATING_UNIT,
    or a coordinator (koordinator) of some plan."""
    if global_roles & {SYSTEM_ADMIN, LOCAL_ADMIN, COORDINATING_UNIT} or is_coordinator:
        return None
    return "ROLE_REQUIRED"


def global_roles_denial(global_roles: Set[str]) -> Denial:
    """Only a system administrator sets global roles."""
    return None if SYSTEM_ADMIN in global_roles else "ROLE_REQUIRED"


def own_account_denial(viewer_id: object, person_id: object) -> Denial:
    """A person's login channel and field visibility settings: the person themself only."""
    return None if viewer_id == person_id else "ROLE_REQUIRED"


def global_roles_read_denial(
    viewer_id: object, person_id: object, global_roles: Set[str]
) -> Denial:
    """A person's global roles: the person themself and administrators."""
    if viewer_id == person_id or global_roles & {SYSTEM_ADMIN, LOCAL_ADMIN}:
        return None
    return "ROLE_REQUIRED"


PERSON_FIELDS = ("BIRTH_DATE", "WORKPLACE", "EMAIL", "MOBILE", "PHONE", "FAX", "ADDRESS")
DEFAULT_VISIBILITY = "PLAN"


def person_field_denial(*, is_self: bool, visibility: str, shares_active_plan: bool) -> Denial:
    """Cross-plan field visibility: ALL for anyone with an account, PLAN for people who
    share an active-consent plan with the person, PRIVATE for the person alone."""
    if is_self or visibility == "ALL":
        return None
    if visibility == "PLAN" and shares_active_plan:
        return None
    return "FIELD_HIDDEN"
