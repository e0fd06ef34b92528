"""The facts every rule decides on, and the names they use: global roles, plan roles,
access levels, plan sections and person fields.

Plain frozen data; resolvers/policy/build.py makes them from loaded rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

SYSTEM_ADMIN = "SYSTEM_ADMIN"
LOCAL_ADMIN = "LOCAL_ADMIN"
COORDINATING_UNIT = "COORDINATING_UNIT"
REPORTER = "REPORTER"

OWNER = "OWNER"
COORDINATOR = "COORDINATOR"
GUARDIAN = "GUARDIAN"

# A parent represents the owner until the owner's 16th birthday (pasient- og
# brukerrettighetsloven §§ 4-3 and 4-4: parents consent for a child under 16; from 16 the
# person consents themself).
PARENT_REPRESENTS_UNTIL_AGE = 16

NONE, READ, WRITE = "NONE", "READ", "WRITE"
_LEVEL = {NONE: 0, READ: 1, WRITE: 2}

SECTIONS = ("participants", "goals", "activities", "messages", "calendar", "documents")
PERSON_FIELDS = ("BIRTH_DATE", "WORKPLACE", "EMAIL", "MOBILE", "PHONE", "FAX", "ADDRESS")
DEFAULT_VISIBILITY = "PLAN"


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


FULL = Grant(WRITE, WRITE, WRITE, WRITE, WRITE, WRITE, True, True)
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
