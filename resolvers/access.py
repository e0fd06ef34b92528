"""The access rules, as pure functions over plain data. Every resolver asks here.

Two independent rules decide every field (DESIGN.md, "The access model"):

1. Consent-specified access inside a plan (samtykke): ``section_denial``, ``write_denial``,
   ``effective_grant``, ``message_visible``, and ``participant_denial`` for a plandeltaker
   reached through any field.
2. Cross-plan field visibility of a person: ``person_field_denial``.

The plan's record (the consent document and the archives) belongs to the coordinator, the
owner and whoever ``represents_owner`` (a verge; a parent while the owner is under 16).

A rule returns ``None`` when the viewer may go ahead, or the reason it may not: one of
``NOT_PARTICIPANT``, ``NO_GRANT``, ``CONSENT_EXPIRED``, ``PLAN_ENDED``, ``FIELD_HIDDEN``,
``ROLE_REQUIRED``. Rules take today's date as an argument; nothing here reads a clock or
a database.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Set
from dataclasses import dataclass, field, replace

Denial = str | None

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


# --- 1. consent-specified access inside a plan -----------------------------------------


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
        return "NOT_PARTICIPANT"
    if is_lead(plan.mine):
        return None
    consent = plan.consent
    if consent is None:
        return "NO_GRANT"
    if consent.revoked_on is not None and consent.revoked_on <= today:
        return "CONSENT_EXPIRED"
    expiry = consent_expiry(plan)
    if expiry is not None and expiry < today:
        return "CONSENT_EXPIRED"
    return None


def granted(consent: ConsentFacts | None, mine: Participation) -> Grant:
    """The grant the consent gives a participant: everything for owner and coordinator, else
    the consent's default grant with the participant's own overrides (no dates applied)."""
    if is_lead(mine):
        return FULL
    return consent.default_grant.overridden(mine.rights) if consent else NOTHING


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
        return "NO_GRANT"
    return None


def write_denial(plan: PlanFacts, section: str, today: dt.date) -> Denial:
    """Writing needs an active plan and WRITE on the section."""
    if plan.ended:
        return "PLAN_ENDED"
    reason = consent_denial(plan, today)
    if reason:
        return reason
    if effective_grant(plan, today).section(section) != WRITE:
        return "NO_GRANT"
    return None


def plan_visible(plan: PlanFacts | None, global_roles: Set[str]) -> bool:
    """Whether the viewer may know the plan exists: current participants, and those who
    administer plans (SYSTEM_ADMIN, COORDINATING_UNIT). Everyone else gets NOT_FOUND."""
    if plan is None:
        return False
    return plan.mine is not None or bool(global_roles & {SYSTEM_ADMIN, COORDINATING_UNIT})


def coordinator_denial(plan: PlanFacts, *, allow_ended: bool = False) -> Denial:
    """Consent, participants, ending and archiving: the plan's coordinator only."""
    if plan.mine is None:
        return "NOT_PARTICIPANT"
    if plan.mine.role != COORDINATOR:
        return "ROLE_REQUIRED"
    if plan.ended and not allow_ended:
        return "PLAN_ENDED"
    return None


def plan_edit_denial(plan: PlanFacts) -> Denial:
    """The plan header (kortnavn, type, revision date): the coordinator."""
    return coordinator_denial(plan)


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


def _owner_side_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    if plan.mine is None:
        return "NOT_PARTICIPANT"
    if is_lead(plan.mine) or represents_owner(plan.mine, owner, today):
        return None
    return "ROLE_REQUIRED"


def revoke_consent_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    """Revoking consent: the coordinator, the owner or whoever represents the owner."""
    if plan.mine is not None and plan.ended:
        return "PLAN_ENDED"
    return _owner_side_denial(plan, owner, today)


def consent_read_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    """The consent document: the coordinator, the owner and whoever represents the owner."""
    return _owner_side_denial(plan, owner, today)


def participant_detail_denial(plan: PlanFacts, participant_id: uuid.UUID, today: dt.date) -> Denial:
    """Ansvar (responsibility) is plan-only: the participant, the owner and coordinator,
    and participants who may read the PARTICIPANTS section (else that section's reason)."""
    if plan.mine is None:
        return "NOT_PARTICIPANT"
    if plan.mine.participant_id == participant_id or is_lead(plan.mine):
        return None
    return section_denial(plan, "participants", today)


def participant_rights_denial(plan: PlanFacts, participant_id: uuid.UUID) -> Denial:
    """A participant's rights and consent expiry: that participant, the owner and coordinator."""
    if plan.mine is None:
        return "NOT_PARTICIPANT"
    if plan.mine.participant_id == participant_id or is_lead(plan.mine):
        return None
    return "ROLE_REQUIRED"


def participant_denial(
    plan: PlanFacts,
    global_roles: Set[str],
    *,
    participant_id: uuid.UUID,
    participant_role: str,
    named: bool,
    today: dt.date,
) -> Denial:
    """A plandeltaker (who they are in this plan), whatever field reached them: the owner and
    the coordinator are the plan header, seen by all who see the plan; a participant named
    as author, responsible, createdBy or uploadedBy of content the viewer may read is seen
    with it (``named``: the caller checked that content); the viewer themself; everyone else
    needs PARTICIPANTS >= READ."""
    if not plan_visible(plan, global_roles):
        return "NOT_PARTICIPANT"
    if participant_role in (OWNER, COORDINATOR) or named:
        return None
    if plan.mine is None:
        return "NOT_PARTICIPANT"
    if plan.mine.participant_id == participant_id:
        return None
    return section_denial(plan, "participants", today)


def own_participation_denial(plan: PlanFacts, participant_id: uuid.UUID) -> Denial:
    """Notification settings: the participant alone."""
    if plan.mine is not None and plan.mine.participant_id == participant_id:
        return None
    return "ROLE_REQUIRED"


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


# --- 2. cross-plan field visibility of a person ----------------------------------------


def person_field_denial(*, is_self: bool, visibility: str, shares_active_plan: bool) -> Denial:
    """ALL: anyone with an account; PLAN: people who currently share an active-consent plan
    with the person and may read its plan group (``shares_for_visibility``); PRIVATE: the
    person alone."""
    if is_self or visibility == "ALL":
        return None
    if visibility == "PLAN" and shares_active_plan:
        return None
    return "FIELD_HIDDEN"


# --- who may do what, outside the consent grants ----------------------------------------


def keeps_person_register(
    global_roles: Set[str], *, viewer_unit: uuid.UUID | None, person_unit: uuid.UUID | None
) -> bool:
    """Who keeps the person register for this person: SYSTEM_ADMIN, or a LOCAL_ADMIN of the
    person's service unit. They are told which person a new one duplicates (DUPLICATE_PERSON
    with existingId) even where the birth date is hidden from them."""
    if SYSTEM_ADMIN in global_roles:
        return True
    return LOCAL_ADMIN in global_roles and viewer_unit is not None and viewer_unit == person_unit


def account_admin_denial(global_roles: Set[str], *, is_coordinator: bool) -> Denial:
    """Creating persons and accounts: SYSTEM_ADMIN, LOCAL_ADMIN, COORDINATING_UNIT, or a
    coordinator (koordinator) of some plan."""
    if global_roles & {SYSTEM_ADMIN, LOCAL_ADMIN, COORDINATING_UNIT} or is_coordinator:
        return None
    return "ROLE_REQUIRED"


def plan_create_denial(global_roles: Set[str]) -> Denial:
    """Creating plans: SYSTEM_ADMIN and the coordinating unit (koordinerende enhet)."""
    return None if global_roles & {SYSTEM_ADMIN, COORDINATING_UNIT} else "ROLE_REQUIRED"


def person_edit_denial(
    *, is_self: bool, global_roles: Set[str], co_participant_may_edit: bool
) -> Denial:
    """Editing a person: the person, SYSTEM_ADMIN, or a co-participant with editPerson in an
    active shared plan."""
    if is_self or SYSTEM_ADMIN in global_roles or co_participant_may_edit:
        return None
    return "ROLE_REQUIRED"


def global_roles_denial(global_roles: Set[str]) -> Denial:
    """Only a system administrator sets global roles."""
    return None if SYSTEM_ADMIN in global_roles else "ROLE_REQUIRED"


def own_account_denial(viewer_id: object, person_id: object) -> Denial:
    """A person's login channel and field visibility settings: the person themself only."""
    return None if viewer_id == person_id else "ROLE_REQUIRED"


def contact_confirmation_denial(viewer_account_id: object, holder_account_id: object) -> Denial:
    """A change of an account holder's e-mail or mobile takes effect only when the holder
    confirms it, in a session of their own account: whoever else opens the link (such as the
    one who typed their own address into someone else's person) is refused."""
    return None if viewer_account_id == holder_account_id else "ROLE_REQUIRED"


def global_roles_read_denial(
    viewer_id: object, person_id: object, global_roles: Set[str]
) -> Denial:
    """A person's global roles: the person themself and administrators."""
    if viewer_id == person_id or global_roles & {SYSTEM_ADMIN, LOCAL_ADMIN}:
        return None
    return "ROLE_REQUIRED"


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


# --- ending, archives, print, reports ---------------------------------------------------


def archives_read_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    """The list of archives (arkiv): the coordinator, the owner and whoever represents the
    owner."""
    return _owner_side_denial(plan, owner, today)


def archive_download_denial(plan: PlanFacts, owner: OwnerFacts, today: dt.date) -> Denial:
    """An archived copy is the plan's whole record: the coordinator, the owner and whoever
    represents the owner. Everyone else, the print right or not, prints what they may read
    now (print.pdf); the resolver answers them NOT_FOUND."""
    return _owner_side_denial(plan, owner, today)


def print_denial(plan: PlanFacts, today: dt.date) -> Denial:
    """Utskrift: participants whose grant has the print right (with a valid consent)."""
    reason = consent_denial(plan, today)
    if reason:
        return reason
    return None if effective_grant(plan, today).print else "NO_GRANT"


def reports_denial(global_roles: Set[str]) -> Denial:
    """Aggregate reports: REPORTER and SYSTEM_ADMIN (or a reporting tool's REPORTER key)."""
    return None if global_roles & {REPORTER, SYSTEM_ADMIN} else "ROLE_REQUIRED"


def api_key_admin_denial(global_roles: Set[str]) -> Denial:
    """Issuing and revoking API keys: SYSTEM_ADMIN."""
    return None if SYSTEM_ADMIN in global_roles else "ROLE_REQUIRED"


def service_unit_admin_denial(global_roles: Set[str]) -> Denial:
    """Service units (tjenesteenheter) are managed by SYSTEM_ADMIN."""
    return None if SYSTEM_ADMIN in global_roles else "ROLE_REQUIRED"


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
        return None if viewer_unit is not None and viewer_unit == person_unit else "ROLE_REQUIRED"
    return "ROLE_REQUIRED"
