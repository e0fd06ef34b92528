"""The facts every rule decides on, and the names they use: global roles, plan roles,
access levels, plan sections and person fields.

Plain frozen data; resolvers/policy/build.py makes them from loaded rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from resolvers.policy.expr import BOOL, DATE, TEXT, TEXTS, UUID, UUIDS, Fact

SYSTEM_ADMIN = "SYSTEM_ADMIN"
LOCAL_ADMIN = "LOCAL_ADMIN"
COORDINATING_UNIT = "COORDINATING_UNIT"
REPORTER = "REPORTER"

OWNER = "OWNER"
COORDINATOR = "COORDINATOR"
GUARDIAN = "GUARDIAN"
RELATIVE = "RELATIVE"
SERVICE_PROVIDER = "SERVICE_PROVIDER"

# A parent represents the owner until the owner's 16th birthday (pasient- og
# brukerrettighetsloven §§ 4-3 and 4-4: parents consent for a child under 16; from 16 the
# person consents themself).
PARENT_REPRESENTS_UNTIL_AGE = 16

NONE, READ, WRITE = "NONE", "READ", "WRITE"
_LEVEL = {NONE: 0, READ: 1, WRITE: 2}

# linked_plans: «fagplaner», the plans linked above or below this one (IP ↔ IOP, IUP …);
# a consent or override without the key gives NONE.
SECTIONS = (
    "participants",
    "goals",
    "activities",
    "messages",
    "calendar",
    "documents",
    "linked_plans",
)
PERSON_FIELDS = ("BIRTH_DATE", "WORKPLACE", "EMAIL", "MOBILE", "PHONE", "FAX", "ADDRESS")
DEFAULT_VISIBILITY = "PLAN"  # VISIBLE_IN_PLAN


# --- data the rules work on -------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """Access per plan section plus the two rights (AccessGrant)."""

    participants: str = NONE
    goals: str = NONE
    activities: str = NONE
    messages: str = NONE
    calendar: str = NONE
    documents: str = NONE
    linked_plans: str = NONE
    edit_person: bool = False
    print: bool = False

    def section(self, name: str) -> str:
        value: str = getattr(self, name)
        return value

    def overridden(self, overrides: Mapping[str, object]) -> Grant:
        """This grant with a participant's overrides applied (unknown keys ignored)."""
        known = {
            k: v for k, v in overrides.items() if k in Grant.__dataclass_fields__ and v is not None
        }
        return replace(self, **known)  # type: ignore[arg-type]

    def capped(self, level: str) -> Grant:
        """No section above ``level`` (an ended plan is capped at READ)."""
        cap = _LEVEL[level]
        lowered = {
            s: (self.section(s) if _LEVEL[self.section(s)] <= cap else level) for s in SECTIONS
        }
        return replace(self, **lowered)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        return {s: self.section(s) for s in SECTIONS} | {
            "edit_person": self.edit_person,
            "print": self.print,
        }


FULL = Grant(**dict.fromkeys(SECTIONS, WRITE), edit_person=True, print=True)
NOTHING = Grant()


@dataclass(frozen=True)
class ConsentFacts:
    expires_on: dt.date
    revoked_on: dt.date | None
    default_grant: Grant


@dataclass(frozen=True)
class Participation:
    """The viewer's current membership of one plan (plandeltaker)."""

    participant_id: uuid.UUID
    role: str
    rights: Mapping[str, object] = field(default_factory=dict)
    consent_expires_on: dt.date | None = None
    person_id: uuid.UUID | None = None


@dataclass(frozen=True)
class OwnerFacts:
    """What decides who represents the plan's owner (planeier): the owner's birth date, and
    the persons the plan's consent names as given by the owner's parent (givenByRelation
    PARENT; the model knows a parent only that way)."""

    birth_date: dt.date | None
    parent_person_ids: frozenset[uuid.UUID] = frozenset()


@dataclass(frozen=True)
class PlanFacts:
    plan_id: uuid.UUID
    ended: bool
    consent: ConsentFacts | None
    mine: Participation | None


# --- the facts as the rules name them (resolvers/policy/expr.py) ------------------------

# Plan roles, in the order a plan group is listed.
ROLES = (OWNER, COORDINATOR, GUARDIAN, RELATIVE, SERVICE_PROVIDER)
GLOBAL_ROLES = (SYSTEM_ADMIN, LOCAL_ADMIN, COORDINATING_UNIT, REPORTER)
LEVELS = (NONE, READ, WRITE)
# Who may see a person's contact field (PersonField): anyone with an account, those who share
# an active plan with the person, or the person alone.
VISIBLE_TO_ALL, VISIBLE_IN_PLAN, PRIVATE = "ALL", "PLAN", "PRIVATE"
VISIBILITIES = (VISIBLE_TO_ALL, VISIBLE_IN_PLAN, PRIVATE)
# How a consent was given (ConsentGiver): by the owner, a parent or a guardian (verge).
CONSENT_RELATIONS = ("SELF", "PARENT", GUARDIAN)


class F:
    """Every fact a rule may read. A SQL rendering binds each to a column or parameter."""

    today = Fact("today", DATE)
    # the plan and its consent (samtykke)
    plan_ended = Fact("plan_ended", BOOL)
    consent_exists = Fact("consent_exists", BOOL)
    consent_expires_on = Fact("consent_expires_on", DATE)
    consent_revoked_on = Fact("consent_revoked_on", DATE)
    # the persons the consent names as the owner's parent, and the owner's birth date
    parent_person_ids = Fact("parent_person_ids", UUIDS)
    owner_birth_date = Fact("owner_birth_date", DATE)
    # the viewer's participation (all NULL when the viewer takes no part)
    mine_id = Fact("mine_id", UUID)
    mine_role = Fact("mine_role", TEXT, ROLES)
    mine_expires_on = Fact("mine_expires_on", DATE)
    mine_person_id = Fact("mine_person_id", UUID)
    # the viewer outside plans
    global_roles = Fact("global_roles", TEXTS, GLOBAL_ROLES)
    is_coordinator = Fact("is_coordinator", BOOL)
    viewer_unit = Fact("viewer_unit", UUID)
    # a row the viewer reaches: a message, a participant, a person
    author_id = Fact("author_id", UUID)
    # changing a message: posted within PLANGRUPPE_MESSAGE_EDIT_MINUTES, read by someone else
    message_recent = Fact("message_recent", BOOL)
    message_read_by_others = Fact("message_read_by_others", BOOL)
    to_all = Fact("to_all", BOOL)
    recipient_ids = Fact("recipient_ids", UUIDS)
    participant_id = Fact("participant_id", UUID)
    participant_role = Fact("participant_role", TEXT, ROLES)
    named = Fact("named", BOOL)
    other_role = Fact("other_role", TEXT, ROLES)
    other_expires_on = Fact("other_expires_on", DATE)
    is_self = Fact("is_self", BOOL)
    visibility = Fact("visibility", TEXT, VISIBILITIES)
    logged_in = Fact("logged_in", BOOL)
    has_value = Fact("has_value", BOOL)
    consent_relation = Fact("consent_relation", TEXT, CONSENT_RELATIONS)
    giver_role = Fact("giver_role", TEXT, ROLES)
    shares_active_plan = Fact("shares_active_plan", BOOL)
    co_participant_may_edit = Fact("co_participant_may_edit", BOOL)
    person_unit = Fact("person_unit", UUID)
    # managing an account: whether the person holds a global role
    person_has_global_role = Fact("person_has_global_role", BOOL)
    # the plan's service unit (planOverview, changeCoordinator)
    plan_unit = Fact("plan_unit", UUID)
    # the person takes part in current plans, and the viewer coordinates every one of them
    coordinates_all_plans_of_person = Fact("coordinates_all_plans_of_person", BOOL)
    # «Begrens søk»: the person restricted search; whether the viewer takes part in a
    # current plan with them
    search_restricted = Fact("search_restricted", BOOL)
    # a consent the coordinator proposed: the person named to give it
    giver_person_id = Fact("giver_person_id", UUID)
    shares_current_plan = Fact("shares_current_plan", BOOL)
    viewer_key = Fact("viewer_key", UUID)
    # a reporting tool's API key: the roles asked for it, and what a request with it does
    key_roles = Fact("key_roles", TEXTS, GLOBAL_ROLES)
    reads_reports_only = Fact("reads_reports_only", BOOL)
    # logging in: whether a channel the municipality permits is set up for the account
    channel_usable = Fact("channel_usable", BOOL)
    subject_key = Fact("subject_key", UUID)


def default_level(section: str) -> Fact:
    """The consent's default grant for a section (NULL: not set, so NONE)."""
    return Fact(f"grant_{section}", TEXT, LEVELS)


def own_level(section: str) -> Fact:
    """The participant's own override for a section (NULL: the consent's default)."""
    return Fact(f"rights_{section}", TEXT, LEVELS)


def default_right(name: str) -> Fact:
    return Fact(f"grant_{name}", BOOL)


def own_right(name: str) -> Fact:
    return Fact(f"rights_{name}", BOOL)


RIGHTS = ("edit_person", "print")


def plan_env(plan: PlanFacts, today: dt.date) -> dict[str, object]:
    """The facts of one plan for the Python rendering, with the viewer's participation."""
    consent, mine = plan.consent, plan.mine
    env: dict[str, object] = {
        "today": today,
        "plan_ended": plan.ended,
        "consent_exists": consent is not None,
        "consent_expires_on": consent.expires_on if consent else None,
        "consent_revoked_on": consent.revoked_on if consent else None,
        "mine_id": mine.participant_id if mine else None,
        "mine_role": mine.role if mine else None,
        "mine_expires_on": mine.consent_expires_on if mine else None,
        "mine_person_id": mine.person_id if mine else None,
    }
    default = consent.default_grant if consent else NOTHING
    rights = mine.rights if mine else {}
    for name in SECTIONS + RIGHTS:
        env[f"grant_{name}"] = getattr(default, name) if consent else None
        env[f"rights_{name}"] = rights.get(name)
    return env
