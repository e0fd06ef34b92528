"""Who may do what outside the consent grants: administer persons and accounts (and in which
service unit), create plans, set global roles, manage service units and API keys, read
reports."""

from __future__ import annotations

import uuid
from collections.abc import Set

from resolvers.policy.expr import And, Or, Overlaps, Rule, Within, case
from resolvers.policy.facts import (
    COORDINATING_UNIT,
    LOCAL_ADMIN,
    REPORTER,
    SYSTEM_ADMIN,
    F,
)
from resolvers.policy.reasons import Denial, Reason


def _roles(*roles: str, doc: str, name: str) -> Rule:
    return Rule(
        name, doc, case((Overlaps(F.global_roles, roles), None), otherwise=Reason.ROLE_REQUIRED)
    )


ACCOUNT_ADMIN = Rule(
    "account_admin",
    "Creating persons and accounts: SYSTEM_ADMIN, LOCAL_ADMIN, COORDINATING_UNIT, or a"
    " coordinator (koordinator) of some plan.",
    case(
        (
            Or(
                Overlaps(F.global_roles, (SYSTEM_ADMIN, LOCAL_ADMIN, COORDINATING_UNIT)),
                F.is_coordinator,
            ),
            None,
        ),
        otherwise=Reason.ROLE_REQUIRED,
    ),
)

_SAME_UNIT = And(F.viewer_unit.is_not_null(), F.viewer_unit == F.person_unit)

UNIT_SCOPE = Rule(
    "unit_scope",
    "A LOCAL_ADMIN manages persons and accounts of their own service unit only; the other"
    " roles that may create persons are not bound to a unit.",
    case(
        (Or(Overlaps(F.global_roles, (SYSTEM_ADMIN, COORDINATING_UNIT)), F.is_coordinator), None),
        (And(Overlaps(F.global_roles, (LOCAL_ADMIN,)), _SAME_UNIT), None),
        otherwise=Reason.ROLE_REQUIRED,
    ),
)

ACCOUNT_MANAGE = Rule(
    "account_manage",
    "Managing someone's account (deactivate, reactivate, resend the invitation, start a"
    " password reset, see the username, link a login identity, which then logs in as the"
    " person): SYSTEM_ADMIN; a LOCAL_ADMIN for a person of their"
    " own service unit without a global role; a coordinator for a person without a global"
    " role who takes part only in plans that coordinator leads.",
    case(
        (Overlaps(F.global_roles, (SYSTEM_ADMIN,)), None),
        (F.person_has_global_role, Reason.ROLE_REQUIRED),
        (And(Overlaps(F.global_roles, (LOCAL_ADMIN,)), _SAME_UNIT), None),
        (F.coordinates_all_plans_of_person, None),
        otherwise=Reason.ROLE_REQUIRED,
    ),
)

PERSON_EXPORT = Rule(
    "person_export",
    "Innsyn (GDPR Art. 15): everything held about a person, as JSON, for the person"
    " themself, SYSTEM_ADMIN, or a LOCAL_ADMIN of the person's service unit.",
    case(
        (F.is_self, None),
        (Overlaps(F.global_roles, (SYSTEM_ADMIN,)), None),
        (And(Overlaps(F.global_roles, (LOCAL_ADMIN,)), _SAME_UNIT), None),
        otherwise=Reason.ROLE_REQUIRED,
    ),
)

KEEPS_PERSON_REGISTER = Rule(
    "keeps_person_register",
    "Who keeps the person register for this person: SYSTEM_ADMIN, or a LOCAL_ADMIN of the"
    " person's service unit. They are told which person a new one duplicates"
    " (DUPLICATE_PERSON with existingId) even where the birth date is hidden from them.",
    Or(
        Overlaps(F.global_roles, (SYSTEM_ADMIN,)),
        And(Overlaps(F.global_roles, (LOCAL_ADMIN,)), _SAME_UNIT),
    ),
    kind="bool",
)

PLAN_CREATE = _roles(
    SYSTEM_ADMIN,
    COORDINATING_UNIT,
    name="plan_create",
    doc="Creating plans: SYSTEM_ADMIN and the coordinating unit (koordinerende enhet).",
)
GLOBAL_ROLES = _roles(
    SYSTEM_ADMIN, name="global_roles", doc="Only a system administrator sets global roles."
)
SERVICE_UNIT_ADMIN = _roles(
    SYSTEM_ADMIN,
    name="service_unit_admin",
    doc="Service units (tjenesteenheter) are managed by SYSTEM_ADMIN.",
)
PERSON_ERASURE = _roles(
    SYSTEM_ADMIN,
    name="person_erasure",
    doc="Erasing a person (GDPR Art. 17) who takes part in no plan: SYSTEM_ADMIN.",
)
API_KEY_ADMIN = _roles(
    SYSTEM_ADMIN, name="api_key_admin", doc="Issuing and revoking API keys: SYSTEM_ADMIN."
)
REPORTS = _roles(
    REPORTER,
    SYSTEM_ADMIN,
    name="reports",
    doc="Aggregate reports: REPORTER and SYSTEM_ADMIN (or a reporting tool's REPORTER key).",
)


API_KEY_ROLES = (REPORTER,)

API_KEY_ROLES_GRANTABLE = Rule(
    "api_key_roles",
    "An API key (a reporting tool's) may carry only the REPORTER role.",
    case((Within(F.key_roles, API_KEY_ROLES), None), otherwise=Reason.ROLE_REQUIRED),
)

API_KEY_REQUEST = Rule(
    "api_key_request",
    "A request made with an API key may only read reports (a query of `reports` alone).",
    case((F.reads_reports_only, None), otherwise=Reason.ROLE_REQUIRED),
)


def _verdict(rule: Rule, env: dict[str, object]) -> Denial:
    denial: Denial = rule(env)
    return denial


def account_admin_denial(global_roles: Set[str], *, is_coordinator: bool) -> Denial:
    return _verdict(ACCOUNT_ADMIN, {"global_roles": global_roles, "is_coordinator": is_coordinator})


def unit_scope_denial(
    global_roles: Set[str],
    *,
    is_coordinator: bool,
    viewer_unit: uuid.UUID | None,
    person_unit: uuid.UUID | None,
) -> Denial:
    env = {
        "global_roles": global_roles,
        "is_coordinator": is_coordinator,
        "viewer_unit": viewer_unit,
        "person_unit": person_unit,
    }
    return _verdict(UNIT_SCOPE, env)


def keeps_person_register(
    global_roles: Set[str], *, viewer_unit: uuid.UUID | None, person_unit: uuid.UUID | None
) -> bool:
    env = {"global_roles": global_roles, "viewer_unit": viewer_unit, "person_unit": person_unit}
    return bool(KEEPS_PERSON_REGISTER(env))


def account_manage_denial(
    global_roles: Set[str],
    *,
    viewer_unit: uuid.UUID | None,
    person_unit: uuid.UUID | None,
    person_has_global_role: bool,
    coordinates_all_plans_of_person: bool,
) -> Denial:
    env: dict[str, object] = {
        "global_roles": global_roles,
        "viewer_unit": viewer_unit,
        "person_unit": person_unit,
        "person_has_global_role": person_has_global_role,
        "coordinates_all_plans_of_person": coordinates_all_plans_of_person,
    }
    return _verdict(ACCOUNT_MANAGE, env)


def person_export_denial(
    global_roles: Set[str],
    *,
    is_self: bool,
    viewer_unit: uuid.UUID | None,
    person_unit: uuid.UUID | None,
) -> Denial:
    env: dict[str, object] = {
        "global_roles": global_roles,
        "is_self": is_self,
        "viewer_unit": viewer_unit,
        "person_unit": person_unit,
    }
    return _verdict(PERSON_EXPORT, env)


def person_erasure_denial(global_roles: Set[str]) -> Denial:
    return _verdict(PERSON_ERASURE, {"global_roles": global_roles})


def plan_create_denial(global_roles: Set[str]) -> Denial:
    return _verdict(PLAN_CREATE, {"global_roles": global_roles})


def global_roles_denial(global_roles: Set[str]) -> Denial:
    return _verdict(GLOBAL_ROLES, {"global_roles": global_roles})


def service_unit_admin_denial(global_roles: Set[str]) -> Denial:
    return _verdict(SERVICE_UNIT_ADMIN, {"global_roles": global_roles})


def api_key_admin_denial(global_roles: Set[str]) -> Denial:
    return _verdict(API_KEY_ADMIN, {"global_roles": global_roles})


def reports_denial(global_roles: Set[str]) -> Denial:
    return _verdict(REPORTS, {"global_roles": global_roles})


def api_key_roles_denial(roles: Set[str]) -> Denial:
    return _verdict(API_KEY_ROLES_GRANTABLE, {"key_roles": frozenset(roles)})


def api_key_request_denial(*, reads_reports_only: bool) -> Denial:
    return _verdict(API_KEY_REQUEST, {"reads_reports_only": reads_reports_only})
