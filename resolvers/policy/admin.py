"""Who may do what outside the consent grants: administer persons and accounts (and in which
service unit), create plans, set global roles, manage service units and API keys, read
reports."""

from __future__ import annotations

import uuid
from collections.abc import Set

from resolvers.policy.facts import (
    COORDINATING_UNIT,
    LOCAL_ADMIN,
    REPORTER,
    SYSTEM_ADMIN,
)
from resolvers.policy.reasons import Denial, Reason


def account_admin_denial(global_roles: Set[str], *, is_coordinator: bool) -> Denial:
    """Creating persons and accounts: SYSTEM_ADMIN, LOCAL_ADMIN, COORDINATING_UNIT, or a
    coordinator (koordinator) of some plan."""
    if global_roles & {SYSTEM_ADMIN, LOCAL_ADMIN, COORDINATING_UNIT} or is_coordinator:
        return None
    return Reason.ROLE_REQUIRED


def unit_scope_denial(
    global_roles: Set[str],
    *,
    is_coordinator: bool,
    viewer_unit: uuid.UUID | None,
    person_unit: uuid.UUID | None,
) -> Denial:
    """A LOCAL_ADMIN manages persons and accounts of their own service unit only; the other
    roles that may create persons are not bound to a unit."""
    if global_roles & {SYSTEM_ADMIN, COORDINATING_UNIT} or is_coordinator:
        return None
    if LOCAL_ADMIN in global_roles:
        return (
            None if viewer_unit is not None and viewer_unit == person_unit else Reason.ROLE_REQUIRED
        )
    return Reason.ROLE_REQUIRED


def keeps_person_register(
    global_roles: Set[str], *, viewer_unit: uuid.UUID | None, person_unit: uuid.UUID | None
) -> bool:
    """Who keeps the person register for this person: SYSTEM_ADMIN, or a LOCAL_ADMIN of the
    person's service unit. They are told which person a new one duplicates (DUPLICATE_PERSON
    with existingId) even where the birth date is hidden from them."""
    if SYSTEM_ADMIN in global_roles:
        return True
    return LOCAL_ADMIN in global_roles and viewer_unit is not None and viewer_unit == person_unit


def plan_create_denial(global_roles: Set[str]) -> Denial:
    """Creating plans: SYSTEM_ADMIN and the coordinating unit (koordinerende enhet)."""
    return None if global_roles & {SYSTEM_ADMIN, COORDINATING_UNIT} else Reason.ROLE_REQUIRED


def global_roles_denial(global_roles: Set[str]) -> Denial:
    """Only a system administrator sets global roles."""
    return None if SYSTEM_ADMIN in global_roles else Reason.ROLE_REQUIRED


def service_unit_admin_denial(global_roles: Set[str]) -> Denial:
    """Service units (tjenesteenheter) are managed by SYSTEM_ADMIN."""
    return None if SYSTEM_ADMIN in global_roles else Reason.ROLE_REQUIRED


def api_key_admin_denial(global_roles: Set[str]) -> Denial:
    """Issuing and revoking API keys: SYSTEM_ADMIN."""
    return None if SYSTEM_ADMIN in global_roles else Reason.ROLE_REQUIRED


def reports_denial(global_roles: Set[str]) -> Denial:
    """Aggregate reports: REPORTER and SYSTEM_ADMIN (or a reporting tool's REPORTER key)."""
    return None if global_roles & {REPORTER, SYSTEM_ADMIN} else Reason.ROLE_REQUIRED
