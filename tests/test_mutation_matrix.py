# ruff: noqa: E501  (the matrix below is a table, one line per row)
"""The mutation matrix: who may change what in a plan, for every role, consent state and plan
state, and what a refusal says; every refusal and every bad input changes nothing.

The expected outcomes are the table below, written from the documented rules, not from the
code: docs/api.md "Who may do what", the schema's descriptions, docs/access-model.md,
docs/access-rules.md (the rules' definitions, which also fix which reason wins when several
apply) and DESIGN.md "The access model". Each test builds one plan world
(tests/plan_world.py) for one (consent, plan) combination, gives every person in it a target
of their own for every mutation (made while the plan is active and the consent valid), then
brings the world into its state and has every person try every mutation once. After each
attempt it reads the target, the plan, its consents, proposals and revisions, the outbox and
the audit log straight from the database: a refusal must leave all of them as they were; a
success must have done what it was asked, with one audit row by the actor.

Adding a mutation: one ``Column`` in COLUMNS (the document, how a target is made, the
attempt's variables, what a success leaves behind) and its rows in MATRIX (and BAD_INPUT).

Render the table for a note:  .venv/bin/python -m tests.test_mutation_matrix  [--expanded]
"""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import Gateway
from tests.http.test_documents import upload
from tests.plan_world import (
    ADD_PARTICIPANT,
    ADDED_ROLES,
    CONSENT_STATES,
    COORDINATING_UNIT,
    COORDINATOR,
    CREATE_PLAN,
    GUARDIAN,
    OUTSIDER,
    OWNER,
    PARTICIPANT_ROLE,
    PLAN_STATES,
    RECORD_CONSENT,
    RELATIVE,
    REVOKE_CONSENT,
    ROLES,
    SERVICE_PROVIDER,
    PlanWorld,
    build_world,
    quick_user,
    today_of,
)

# --- the grants of every matrix world ---------------------------------------------------

# The consent's default grant, and each added participant's own rights while the world is
# in use. The three differ where it shows: the service provider may write every section, the
# relative the calendar only (documents READ, goals READ), the guardian activities only
# (goals NONE, calendar READ, documents NONE).
DEFAULT_GRANT: dict[str, object] = {
    "participants": "READ",
    "goals": "WRITE",
    "activities": "READ",
    "messages": "WRITE",
    "calendar": "READ",
    "documents": "NONE",
}
RIGHTS: dict[str, dict[str, object]] = {
    SERVICE_PROVIDER: {"activities": "WRITE", "calendar": "WRITE", "documents": "WRITE"},
    RELATIVE: {"goals": "READ", "calendar": "WRITE", "documents": "READ"},
    GUARDIAN: {"goals": "NONE", "activities": "WRITE", "calendar": "READ", "documents": "NONE"},
}
# While the targets are made every added participant may write the calendar and documents,
# so that each has an entry and a document of their own; the coordinator then sets RIGHTS
# (a maker whose grant was lowered afterwards: the relative's and guardian's own content).
MAKER_RIGHTS: dict[str, dict[str, object]] = {
    role: {**rights, "calendar": "WRITE", "documents": "WRITE"} for role, rights in RIGHTS.items()
}

# --- the table ----------------------------------------------------------------------------

# What each cell says: a success, a refusal (FORBIDDEN with extensions.reason, or NOT_FOUND),
# or "-": the role can have no such target (nobody outside the plan makes content in it, and
# without any consent only the owner and the coordinator do), so nothing is tried.
OK, NOT_APPLICABLE = "ok", "-"
CODES: dict[str, tuple[str, str | None]] = {
    "NOT_FOUND": ("NOT_FOUND", None),
    "NO_GRANT": ("FORBIDDEN", "NO_GRANT"),
    "EXPIRED": ("FORBIDDEN", "CONSENT_EXPIRED"),
    "ENDED": ("FORBIDDEN", "PLAN_ENDED"),
    "NOT_PART": ("FORBIDDEN", "NOT_PARTICIPANT"),
    "ROLE": ("FORBIDDEN", "ROLE_REQUIRED"),
    "WINDOW": ("FORBIDDEN", "EDIT_WINDOW_CLOSED"),
}

# mutation (whose target) × role → the outcome in each world: first the four consent states
# (active, expired, revoked, none) of an active plan, then of an ended plan. One word for a
# plan state means the same for all four consent states. "(own)": a target the person made
# themself; "(other)": one the coordinator made (the coordinator's: one the owner made).
#
# Which reason wins when several apply is each rule's own order (docs/access-rules.md):
# a section write (write.*) says PLAN_ENDED first, then the consent (NOT_PARTICIPANT,
# CONSENT_EXPIRED, NO_GRANT without one), then NO_GRANT for a grant below WRITE; own_content
# (ROLE_REQUIRED: not the maker, not the coordinator) comes on top of that. coordinator_act
# (recordRevision, proposeConsent) says NOT_PARTICIPANT, then ROLE_REQUIRED, then PLAN_ENDED;
# give_proposed_consent NOT_PARTICIPANT, then PLAN_ENDED, then ROLE_REQUIRED. NOT_FOUND is for
# whoever may not know the plan (the outsider), and for a row of a plan's content (an entry, a
# document, a goal, an activity, a proposal) addressed by its id by anyone who takes no part:
# administrators (SYSTEM_ADMIN, COORDINATING_UNIT) know every plan but not its content. A
# write addressed by the plan's id (recordRevision, proposeConsent) refuses them FORBIDDEN.
MATRIX = """
mutation (target)           role                                     | plan active: active expired revoked none | plan ended: active expired revoked none
updateCalendarEntry(own)    owner,coordinator                        | ok                                       | ENDED
updateCalendarEntry(own)    service_provider,relative                | ok        EXPIRED   EXPIRED   -          | ENDED     ENDED     ENDED     -
updateCalendarEntry(own)    guardian                                 | NO_GRANT  EXPIRED   EXPIRED   -          | ENDED     ENDED     ENDED     -
updateCalendarEntry(own)    outsider,system_admin,coordinating_unit  | -                                        | -
updateCalendarEntry(other)  owner                                    | ROLE                                     | ENDED
updateCalendarEntry(other)  coordinator                              | ok                                       | ENDED
updateCalendarEntry(other)  service_provider,relative                | ROLE      EXPIRED   EXPIRED   NO_GRANT   | ENDED
updateCalendarEntry(other)  guardian                                 | NO_GRANT  EXPIRED   EXPIRED   NO_GRANT   | ENDED
updateCalendarEntry(other)  outsider                                 | NOT_FOUND                                | NOT_FOUND
updateCalendarEntry(other)  system_admin,coordinating_unit           | NOT_FOUND                                | NOT_FOUND
cancelCalendarEntry(own)    owner,coordinator                        | ok                                       | ENDED
cancelCalendarEntry(own)    service_provider,relative                | ok        EXPIRED   EXPIRED   -          | ENDED     ENDED     ENDED     -
cancelCalendarEntry(own)    guardian                                 | NO_GRANT  EXPIRED   EXPIRED   -          | ENDED     ENDED     ENDED     -
cancelCalendarEntry(own)    outsider,system_admin,coordinating_unit  | -                                        | -
cancelCalendarEntry(other)  owner                                    | ROLE                                     | ENDED
cancelCalendarEntry(other)  coordinator                              | ok                                       | ENDED
cancelCalendarEntry(other)  service_provider,relative                | ROLE      EXPIRED   EXPIRED   NO_GRANT   | ENDED
cancelCalendarEntry(other)  guardian                                 | NO_GRANT  EXPIRED   EXPIRED   NO_GRANT   | ENDED
cancelCalendarEntry(other)  outsider                                 | NOT_FOUND                                | NOT_FOUND
cancelCalendarEntry(other)  system_admin,coordinating_unit           | NOT_FOUND                                | NOT_FOUND
withdrawDocument(own)       owner,coordinator                        | ok                                       | ENDED
withdrawDocument(own)       service_provider                         | ok        EXPIRED   EXPIRED   -          | ENDED     ENDED     ENDED     -
withdrawDocument(own)       relative,guardian                        | NO_GRANT  EXPIRED   EXPIRED   -          | ENDED     ENDED     ENDED     -
withdrawDocument(own)       outsider,system_admin,coordinating_unit  | -                                        | -
withdrawDocument(other)     owner                                    | ROLE                                     | ENDED
withdrawDocument(other)     coordinator                              | ok                                       | ENDED
withdrawDocument(other)     service_provider                         | ROLE      EXPIRED   EXPIRED   NO_GRANT   | ENDED
withdrawDocument(other)     relative,guardian                        | NO_GRANT  EXPIRED   EXPIRED   NO_GRANT   | ENDED
withdrawDocument(other)     outsider                                 | NOT_FOUND                                | NOT_FOUND
withdrawDocument(other)     system_admin,coordinating_unit           | NOT_FOUND                                | NOT_FOUND
updateGoal                  owner,coordinator                        | ok                                       | ENDED
updateGoal                  service_provider                         | ok        EXPIRED   EXPIRED   NO_GRANT   | ENDED
updateGoal                  relative,guardian                        | NO_GRANT  EXPIRED   EXPIRED   NO_GRANT   | ENDED
updateGoal                  outsider                                 | NOT_FOUND                                | NOT_FOUND
updateGoal                  system_admin,coordinating_unit           | NOT_FOUND                                | NOT_FOUND
closeGoal                   owner,coordinator                        | ok                                       | ENDED
closeGoal                   service_provider                         | ok        EXPIRED   EXPIRED   NO_GRANT   | ENDED
closeGoal                   relative,guardian                        | NO_GRANT  EXPIRED   EXPIRED   NO_GRANT   | ENDED
closeGoal                   outsider                                 | NOT_FOUND                                | NOT_FOUND
closeGoal                   system_admin,coordinating_unit           | NOT_FOUND                                | NOT_FOUND
updateActivity              owner,coordinator                        | ok                                       | ENDED
updateActivity              service_provider,guardian                | ok        EXPIRED   EXPIRED   NO_GRANT   | ENDED
updateActivity              relative                                 | NO_GRANT  EXPIRED   EXPIRED   NO_GRANT   | ENDED
updateActivity              outsider                                 | NOT_FOUND                                | NOT_FOUND
updateActivity              system_admin,coordinating_unit           | NOT_FOUND                                | NOT_FOUND
recordRevision              coordinator                              | ok                                       | ENDED
recordRevision              owner,service_provider,relative,guardian | ROLE                                     | ROLE
recordRevision              outsider                                 | NOT_FOUND                                | NOT_FOUND
recordRevision              system_admin,coordinating_unit           | NOT_PART                                 | NOT_PART
giveConsent                 owner                                    | ok                                       | ENDED
giveConsent                 coordinator,service_provider,relative,guardian | ROLE                               | ENDED
giveConsent                 outsider                                 | NOT_FOUND                                | NOT_FOUND
giveConsent                 system_admin,coordinating_unit           | NOT_FOUND                                | NOT_FOUND
proposeConsent              coordinator                              | ok                                       | ENDED
proposeConsent              owner,service_provider,relative,guardian | ROLE                                     | ROLE
proposeConsent              outsider                                 | NOT_FOUND                                | NOT_FOUND
proposeConsent              system_admin,coordinating_unit           | NOT_PART                                 | NOT_PART
editMessage(own)            owner,coordinator                        | ok        WINDOW    ok        ok         | ENDED
editMessage(own)            service_provider,relative,guardian       | ok        EXPIRED   EXPIRED   -          | ENDED     ENDED     ENDED     -
editMessage(own)            outsider,system_admin,coordinating_unit  | -                                        | -
editMessage(other)          owner,coordinator                        | ROLE                                     | ENDED
editMessage(other)          service_provider,relative,guardian       | ROLE      EXPIRED   EXPIRED   NO_GRANT   | ENDED
editMessage(other)          outsider,system_admin,coordinating_unit  | NOT_FOUND                                | NOT_FOUND
withdrawMessage(own)        owner,coordinator                        | ok        WINDOW    ok        ok         | ENDED
withdrawMessage(own)        service_provider,relative,guardian       | ok        EXPIRED   EXPIRED   -          | ENDED     ENDED     ENDED     -
withdrawMessage(own)        outsider,system_admin,coordinating_unit  | -                                        | -
setGoalServes               owner,coordinator                        | ok                                       | ENDED
setGoalServes               service_provider                         | ok        EXPIRED   EXPIRED   NO_GRANT   | ENDED
setGoalServes               relative,guardian                        | NO_GRANT  EXPIRED   EXPIRED   NO_GRANT   | ENDED
setGoalServes               outsider,system_admin,coordinating_unit  | NOT_FOUND                                | NOT_FOUND
linkPlan                    owner,coordinator                        | ok                                       | ENDED
linkPlan                    service_provider,relative,guardian       | NO_GRANT  EXPIRED   EXPIRED   NO_GRANT   | ENDED
linkPlan                    outsider                                 | NOT_FOUND                                | NOT_FOUND
linkPlan                    system_admin,coordinating_unit           | NOT_PART                                 | ENDED
unlinkPlan                  owner,coordinator                        | ok                                       | ENDED
unlinkPlan                  service_provider,relative,guardian       | NO_GRANT  EXPIRED   EXPIRED   NO_GRANT   | ENDED
unlinkPlan                  outsider                                 | NOT_FOUND                                | NOT_FOUND
unlinkPlan                  system_admin,coordinating_unit           | NOT_PART                                 | ENDED
"""

WORLDS = tuple((consent, plan) for plan in PLAN_STATES for consent in CONSENT_STATES)


@dataclass(frozen=True)
class Row:
    column: str
    roles: tuple[str, ...]
    cells: dict[tuple[str, str], str]  # (consent, plan) -> "ok", "-" or a key of CODES
    text: str

    def matches(self, column: str, role: str) -> bool:
        return column == self.column and role in self.roles


def _cells(words: list[str], line: str) -> list[str]:
    assert len(words) in (1, len(CONSENT_STATES)), line
    assert all(w in CODES or w in (OK, NOT_APPLICABLE) for w in words), line
    return words * len(CONSENT_STATES) if len(words) == 1 else words


def parse_matrix(text: str = MATRIX) -> list[Row]:
    rows = []
    for line in text.strip().splitlines()[1:]:
        head, active, ended = line.split("|")
        column, roles = head.split()
        who = ROLES if roles == "any" else tuple(roles.split(","))
        assert set(who) <= set(ROLES), line
        words = {
            "active": _cells(active.split(), line),
            "ended": _cells(ended.split(), line),
        }
        cells = {
            (consent, plan): words[plan][i]
            for plan in PLAN_STATES
            for i, consent in enumerate(CONSENT_STATES)
        }
        rows.append(Row(column, who, cells, line))
    return rows


ROWS = parse_matrix()


def expected(column: str, role: str, consent: str, plan: str) -> str:
    (row,) = [r for r in ROWS if r.matches(column, role)]
    return row.cells[consent, plan]


def describe(word: str) -> str:
    if word in CODES:
        code, reason = CODES[word]
        return f"{code} {reason}" if reason else code
    return "—" if word == NOT_APPLICABLE else word


# --- the mutations --------------------------------------------------------------------------


@dataclass
class Setup:
    """A matrix world while its targets are made: the plan active, the consent valid (or none)."""

    world: PlanWorld
    shared: dict[str, str] = field(default_factory=dict)  # made once per world


@dataclass(frozen=True)
class Try:
    """One attempt: who, on what, with which variables, on which day."""

    world: PlanWorld
    role: str
    target: str
    today: dt.date
    n: int  # the role's number, for values unique to the attempt


@dataclass(frozen=True)
class Snapshot:
    """What a refusal must leave as it was (read from the database)."""

    row: dict[str, Any] | None  # the target's row
    plan: dict[str, Any]
    consents: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    revisions: list[dict[str, Any]]
    links: list[dict[str, Any]]  # the plans linked under the plan
    outbox: int
    audit: int  # the audit log's last id


Maker = Callable[[Setup, str], Awaitable[str | None]]


@dataclass(frozen=True)
class Column:
    key: str  # as in MATRIX
    field: str  # the mutation, the field of its answer
    document: str
    table: str | None  # where the target's row lives (None: the plan itself)
    action: str  # the audit log's action for a success
    make: Maker  # the role's target, made before the world changes; None: there can be none
    variables: Callable[[Try], dict[str, Any]]
    done: Callable[[Try, Snapshot, Snapshot], None]  # asserts what a success left behind
    audit_target: str = "target"  # what a success's audit row names: "target" or "plan"
    answer: str = (
        # a success answers: "target" ({id: the target}), "new" (a new id), "true", or
        # "plan" ({plan: {id: the target}})
        "target"
    )
    # The audit rows a success writes, when not the one row audit_target names.
    audits: Callable[[Try], list[tuple[str | None, str, str | None]]] | None = None


STARTS = dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC)
GRAPHQL_DATETIME = "%Y-%m-%dT%H:%M:%S%z"

ADD_CALENDAR = """mutation($p: ID!, $t: String!, $s: DateTime!, $e: DateTime) {
  addCalendarEntry(planId: $p, title: $t, startsAt: $s, endsAt: $e) { id } }"""
ADD_GOAL = """mutation($p: ID!, $t: String!) { addGoal(planId: $p, title: $t) { id } }"""
ADD_ACTIVITY = """mutation($g: ID!, $t: String!, $s: Date, $e: Date) {
  addActivity(goalId: $g, title: $t, startDate: $s, endDate: $e) { id } }"""
UPDATE_PARTICIPANT_RIGHTS = """mutation($id: ID!, $rights: AccessGrantInput) {
  updateParticipant(id: $id, rights: $rights) { id } }"""
REMOVE_PARTICIPANT = "mutation($id: ID!) { removeParticipant(id: $id) { id } }"

UPDATE_CALENDAR = """mutation($id: ID!, $t: String, $s: DateTime, $e: DateTime, $l: String) {
  updateCalendarEntry(id: $id, title: $t, startsAt: $s, endsAt: $e, location: $l) { id } }"""
CANCEL_CALENDAR = """mutation($id: ID!, $r: String) {
  cancelCalendarEntry(id: $id, reason: $r) { id } }"""
WITHDRAW_DOCUMENT = """mutation($id: ID!, $r: String!) { withdrawDocument(id: $id, reason: $r) }"""
UPDATE_GOAL = """mutation($id: ID!, $t: String, $r: ID) {
  updateGoal(id: $id, title: $t, responsibleId: $r) { id } }"""
CLOSE_GOAL = """mutation($id: ID!, $s: String!, $on: Date!, $ev: String!) {
  closeGoal(id: $id, status: $s, closedOn: $on, evaluation: $ev) { id } }"""
UPDATE_ACTIVITY = """mutation($id: ID!, $t: String, $r: ID, $s: Date, $e: Date) {
  updateActivity(id: $id, title: $t, responsibleId: $r, startDate: $s, endDate: $e) { id } }"""
RECORD_REVISION = """mutation($p: ID!, $on: Date!, $who: [ID!]!, $next: Date, $note: String) {
  recordRevision(planId: $p, revisedOn: $on, participantIds: $who, nextRevisionDate: $next,
    note: $note) { id } }"""
PROPOSE_CONSENT = """mutation($p: ID!, $in: ConsentProposalInput!) {
  proposeConsent(planId: $p, input: $in) { id } }"""
GIVE_CONSENT = """mutation($id: ID!) { giveConsent(proposalId: $id) { id } }"""
POST_MESSAGE = """mutation($p: ID!, $b: String!) { postMessage(planId: $p, body: $b) { id } }"""
EDIT_MESSAGE = """mutation($id: ID!, $b: String!) { editMessage(id: $id, body: $b) { id } }"""
WITHDRAW_MESSAGE = """mutation($id: ID!) { withdrawMessage(id: $id) { id } }"""
SET_GOAL_SERVES = """mutation($id: ID!, $s: ID) { setGoalServes(goalId: $id, servesGoalId: $s) {
  id } }"""
LINK_PLAN = """mutation($p: ID!, $l: ID!) { linkPlan(planId: $p, linkedPlanId: $l) {
  plan { id } } }"""
UNLINK_PLAN = """mutation($p: ID!, $l: ID!) { unlinkPlan(planId: $p, linkedPlanId: $l) }"""


def _made(body: dict[str, Any], name: str) -> str | None:
    """The id a setup mutation made, or None when the API refused it (and only a refusal)."""
    if body.get("errors"):
        codes = {(e.get("extensions") or {}).get("code") for e in body["errors"]}
        assert codes <= {"FORBIDDEN", "NOT_FOUND"}, (name, body)
        return None
    made: str = body["data"][name]["id"]
    return made


def _other_maker(role: str) -> str:
    """Who makes the "(other)" target of a role: the coordinator; for the coordinator, the owner."""
    return OWNER if role == COORDINATOR else COORDINATOR


async def _calendar_entry(setup: Setup, maker: str, title: str) -> str | None:
    world = setup.world
    variables = {
        "p": world.plan_id,
        "t": title,
        "s": STARTS.isoformat(),
        "e": (STARTS + dt.timedelta(hours=1)).isoformat(),
    }
    return _made(await world.post(maker, ADD_CALENDAR, variables), "addCalendarEntry")


async def _document(setup: Setup, maker: str, name: str) -> str | None:
    world = setup.world
    response = await upload(
        world.gateway, world.token(maker), world.plan_id, name, f"%PDF-1.4 {name}".encode()
    )
    assert response.status_code == 200, response.text
    return _made(response.json(), "uploadDocument")


def own_entry(setup: Setup, role: str) -> Awaitable[str | None]:
    return _calendar_entry(setup, role, f"Avtale laget av {role}")


def others_entry(setup: Setup, role: str) -> Awaitable[str | None]:
    return _calendar_entry(setup, _other_maker(role), f"Avtale til {role}")


def own_document(setup: Setup, role: str) -> Awaitable[str | None]:
    return _document(setup, role, f"eget-{role}.pdf")


def others_document(setup: Setup, role: str) -> Awaitable[str | None]:
    return _document(setup, _other_maker(role), f"til-{role}.pdf")


async def a_goal(setup: Setup, role: str) -> str | None:
    world = setup.world
    body = await world.post(COORDINATOR, ADD_GOAL, {"p": world.plan_id, "t": f"Mål til {role}"})
    return _made(body, "addGoal")


async def an_activity(setup: Setup, role: str) -> str | None:
    world = setup.world
    if "goal" not in setup.shared:
        goal = _made(
            await world.post(COORDINATOR, ADD_GOAL, {"p": world.plan_id, "t": "Tiltakenes mål"}),
            "addGoal",
        )
        assert goal is not None
        setup.shared["goal"] = goal
    today = today_of(world.gateway)
    variables = {
        "g": setup.shared["goal"],
        "t": f"Tiltak til {role}",
        "s": (today + dt.timedelta(days=1)).isoformat(),
        "e": (today + dt.timedelta(days=20)).isoformat(),
    }
    return _made(await world.post(COORDINATOR, ADD_ACTIVITY, variables), "addActivity")


async def the_plan(setup: Setup, role: str) -> str | None:
    return setup.world.plan_id


def proposal_input(world: PlanWorld, today: dt.date, scope: str) -> dict[str, Any]:
    return {
        "givenById": world.person_id(OWNER),
        "givenByRelation": "SELF",
        "expiresOn": (today + dt.timedelta(days=365)).isoformat(),
        "defaultGrant": DEFAULT_GRANT,
        "scope": scope,
    }


async def the_proposal(setup: Setup, role: str) -> str | None:
    """One open proposal naming the owner (SELF) as giver; every role tries to give it."""
    world = setup.world
    if "proposal" not in setup.shared:
        today = today_of(world.gateway)
        variables = {"p": world.plan_id, "in": proposal_input(world, today, "Til planeieren")}
        proposal = _made(
            await world.post(COORDINATOR, PROPOSE_CONSENT, variables), "proposeConsent"
        )
        assert proposal is not None
        setup.shared["proposal"] = proposal
    return setup.shared["proposal"]


async def _message(setup: Setup, author: str, body: str) -> str | None:
    world = setup.world
    return _made(
        await world.post(author, POST_MESSAGE, {"p": world.plan_id, "b": body}), "postMessage"
    )


def own_message(setup: Setup, role: str) -> Awaitable[str | None]:
    return _message(setup, role, f"Melding fra {role}")


def others_message(setup: Setup, role: str) -> Awaitable[str | None]:
    return _message(setup, _other_maker(role), f"Melding til {role}")


async def _lower_plan(setup: Setup, role: str, *, linked: bool) -> str:
    """An IOP for the owner, coordinated by the coordinator, with ``role`` in it (an added
    role, with linkedPlans WRITE) and a consent giving everyone linkedPlans WRITE; linked
    under the world's IP by the owner when ``linked``."""
    world = setup.world
    today = today_of(world.gateway)
    made = await world.post(
        COORDINATING_UNIT,
        CREATE_PLAN,
        {
            "in": {
                "ownerId": world.person_id(OWNER),
                "coordinatorId": world.person_id(COORDINATOR),
                "shortName": f"IOP for {role}",
                "type": "IOP",
                "startDate": (today - dt.timedelta(days=10)).isoformat(),
            }
        },
    )
    assert "errors" not in made, made
    lower: str = made["data"]["createPlan"]["id"]
    if role in ADDED_ROLES:
        added = await world.post(
            COORDINATOR,
            ADD_PARTICIPANT,
            {
                "p": lower,
                "who": world.person_id(role),
                "role": PARTICIPANT_ROLE[role],
                "rights": {"linkedPlans": "WRITE"},
            },
        )
        assert "errors" not in added, added
    consent = {
        "givenById": world.person_id(OWNER),
        "givenByRelation": "SELF",
        "givenOn": (today - dt.timedelta(days=5)).isoformat(),
        "expiresOn": (today + dt.timedelta(days=365)).isoformat(),
        "defaultGrant": {"linkedPlans": "WRITE"},
    }
    recorded = await world.post(COORDINATOR, RECORD_CONSENT, {"p": lower, "in": consent})
    assert "errors" not in recorded, recorded
    if linked:
        done = await world.post(OWNER, LINK_PLAN, {"p": world.plan_id, "l": lower})
        assert "errors" not in done, done
    return lower


async def an_unlinked_plan(setup: Setup, role: str) -> str | None:
    return await _lower_plan(setup, role, linked=False)


async def a_linked_plan(setup: Setup, role: str) -> str | None:
    return await _lower_plan(setup, role, linked=True)


def _when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)


def _participant(t: Try, role: str) -> uuid.UUID:
    return uuid.UUID(t.world.participant_ids[role])


# What each attempt asks for (unique to the role, so that a success is seen to be its own).


def calendar_update(t: Try) -> dict[str, Any]:
    return {
        "id": t.target,
        "t": f"Flyttet av {t.role}",
        "l": f"Møterom {t.n}",
        "s": (STARTS + dt.timedelta(days=1, minutes=t.n)).isoformat(),
        "e": (STARTS + dt.timedelta(days=1, hours=2)).isoformat(),
    }


def calendar_updated(t: Try, before: Snapshot, after: Snapshot) -> None:
    asked, row = calendar_update(t), after.row
    assert row is not None and before.row is not None
    assert row["title"] == asked["t"] and row["location"] == asked["l"], row
    assert row["starts_at"] == _when(asked["s"]) and row["ends_at"] == _when(asked["e"]), row
    assert row["updated_at"] is not None and row["cancelled_at"] is None, row
    assert row["created_by"] == before.row["created_by"], row


def calendar_cancel(t: Try) -> dict[str, Any]:
    return {"id": t.target, "r": f"Avlyst av {t.role}"}


def calendar_cancelled(t: Try, before: Snapshot, after: Snapshot) -> None:
    row = after.row
    assert row is not None and before.row is not None
    assert row["cancelled_at"] is not None and row["cancel_reason"] == calendar_cancel(t)["r"], row
    assert row["title"] == before.row["title"], row  # it stays, marked


def document_withdrawal(t: Try) -> dict[str, Any]:
    return {"id": t.target, "r": f"Trukket av {t.role}"}


def document_withdrawn(t: Try, before: Snapshot, after: Snapshot) -> None:
    row = after.row
    assert row is not None
    assert row["withdrawn_at"] is not None, row
    assert row["withdrawn_by"] == _participant(t, t.role), row
    assert row["withdraw_reason"] == document_withdrawal(t)["r"], row


def goal_update(t: Try) -> dict[str, Any]:
    return {
        "id": t.target,
        "t": f"Mål endret av {t.role}",
        "r": t.world.participant_ids[SERVICE_PROVIDER],
    }


def goal_updated(t: Try, before: Snapshot, after: Snapshot) -> None:
    row = after.row
    assert row is not None
    assert row["title"] == goal_update(t)["t"], row
    assert row["responsible_id"] == _participant(t, SERVICE_PROVIDER), row
    assert row["closed_on"] is None, row


def goal_closing(t: Try) -> dict[str, Any]:
    return {"id": t.target, "s": "ACHIEVED", "on": t.today.isoformat(), "ev": f"Nådd ({t.role})"}


def goal_closed(t: Try, before: Snapshot, after: Snapshot) -> None:
    row = after.row
    assert row is not None
    assert (row["status"], row["closed_on"], row["evaluation"]) == (
        "ACHIEVED",
        t.today,
        goal_closing(t)["ev"],
    ), row


def activity_update(t: Try) -> dict[str, Any]:
    return {
        "id": t.target,
        "t": f"Tiltak endret av {t.role}",
        "r": t.world.participant_ids[RELATIVE],
        "s": (t.today + dt.timedelta(days=10)).isoformat(),
        "e": (t.today + dt.timedelta(days=40 + t.n)).isoformat(),
    }


def activity_updated(t: Try, before: Snapshot, after: Snapshot) -> None:
    asked, row = activity_update(t), after.row
    assert row is not None
    assert row["title"] == asked["t"] and row["responsible_id"] == _participant(t, RELATIVE), row
    assert row["start_date"] == dt.date.fromisoformat(asked["s"]), row
    assert row["end_date"] == dt.date.fromisoformat(asked["e"]), row


def revision(t: Try) -> dict[str, Any]:
    return {
        "p": t.target,
        "on": t.today.isoformat(),
        "who": [t.world.participant_ids[OWNER], t.world.participant_ids[COORDINATOR]],
        "next": (t.today + dt.timedelta(days=180 + t.n)).isoformat(),
        "note": f"Revidert av {t.role}",
    }


def revision_recorded(t: Try, before: Snapshot, after: Snapshot) -> None:
    asked = revision(t)
    new = [r for r in after.revisions if r not in before.revisions]
    assert [(r["note"], r["revised_on"]) for r in new] == [(asked["note"], t.today)], new
    assert sorted(new[0]["participant_ids"]) == sorted(_uuid(p) for p in asked["who"]), new
    assert after.plan["revision_date"] == dt.date.fromisoformat(asked["next"]), after.plan


def proposal(t: Try) -> dict[str, Any]:
    return {"p": t.target, "in": proposal_input(t.world, t.today, f"Forslag fra {t.role}")}


def proposal_made(t: Try, before: Snapshot, after: Snapshot) -> None:
    open_now = [p for p in after.proposals if p["closed_at"] is None]
    assert [p["scope"] for p in open_now] == [proposal(t)["in"]["scope"]], after.proposals
    assert open_now[0]["given_by"] == _uuid(t.world.person_id(OWNER)), open_now
    assert len(after.proposals) == len(before.proposals) + 1, after.proposals


def giving(t: Try) -> dict[str, Any]:
    return {"id": t.target}


def consent_given(t: Try, before: Snapshot, after: Snapshot) -> None:
    new = [c for c in after.consents if c not in before.consents]
    assert len(new) == 1, after.consents
    assert after.plan["consent_id"] == new[0]["id"], after.plan
    assert (new[0]["given_through"], new[0]["given_on"]) == ("APP", t.today), new
    assert new[0]["given_by"] == _uuid(t.world.person_id(OWNER)), new
    (given,) = [p for p in after.proposals if p["id"] == _uuid(t.target)]
    assert given["closed_at"] is not None and given["consent_id"] == new[0]["id"], given


def message_edit(t: Try) -> dict[str, Any]:
    return {"id": t.target, "b": f"Rettet av {t.role}"}


def message_edited(t: Try, before: Snapshot, after: Snapshot) -> None:
    row = after.row
    assert row is not None and before.row is not None
    assert row["body"] == message_edit(t)["b"] and row["edited_at"] is not None, row
    assert row["withdrawn_at"] is None and row["author_id"] == before.row["author_id"], row


def message_withdrawal(t: Try) -> dict[str, Any]:
    return {"id": t.target}


def message_withdrawn(t: Try, before: Snapshot, after: Snapshot) -> None:
    row = after.row
    assert row is not None and before.row is not None
    assert (row["body"], before.row["body"]) == ("", f"Melding fra {t.role}"), row
    assert row["withdrawn_at"] is not None, row


def serving_nothing(t: Try) -> dict[str, Any]:
    return {"id": t.target, "s": None}


def serves_nothing(t: Try, before: Snapshot, after: Snapshot) -> None:
    assert after.row is not None and before.row is not None
    # Cleared (the link itself is tried in tests/http/test_linked_plans.py); the rest kept.
    assert after.row["serves_goal_id"] is None, after.row
    assert {k: v for k, v in after.row.items() if k != "updated_at"} == {
        k: v for k, v in before.row.items() if k != "updated_at"
    }, after.row


def linking(t: Try) -> dict[str, Any]:
    return {"p": t.world.plan_id, "l": t.target}


def linked(t: Try, before: Snapshot, after: Snapshot) -> None:
    added = [x for x in after.links if x not in before.links]
    assert [(str(x["lower_plan_id"]), str(x["linked_by"])) for x in added] == [
        (t.target, t.world.person_id(t.role))
    ], after.links


def unlinked(t: Try, before: Snapshot, after: Snapshot) -> None:
    gone = [str(x["lower_plan_id"]) for x in before.links if x not in after.links]
    assert gone == [t.target] and len(after.links) == len(before.links) - 1, after.links


def link_audits(action: str) -> Callable[[Try], list[tuple[str | None, str, str | None]]]:
    """Both plans' histories hear of it, each naming itself only."""

    def audits(t: Try) -> list[tuple[str | None, str, str | None]]:
        actor = t.world.person_id(t.role)
        return [(actor, action, t.world.plan_id), (actor, action, t.target)]

    return audits


# In the order the attempts run: giveConsent gives the plan a consent, so it comes after every
# mutation whose answer depends on the consent; proposeConsent replaces the proposal that
# giveConsent gives, so it comes after that. Within a column the refusals run first.
COLUMNS: tuple[Column, ...] = (
    Column(
        "updateCalendarEntry(own)",
        "updateCalendarEntry",
        UPDATE_CALENDAR,
        "calendar_entries",
        "calendar.updated",
        own_entry,
        calendar_update,
        calendar_updated,
    ),
    Column(
        "updateCalendarEntry(other)",
        "updateCalendarEntry",
        UPDATE_CALENDAR,
        "calendar_entries",
        "calendar.updated",
        others_entry,
        calendar_update,
        calendar_updated,
    ),
    Column(
        "cancelCalendarEntry(own)",
        "cancelCalendarEntry",
        CANCEL_CALENDAR,
        "calendar_entries",
        "calendar.cancelled",
        own_entry,
        calendar_cancel,
        calendar_cancelled,
    ),
    Column(
        "cancelCalendarEntry(other)",
        "cancelCalendarEntry",
        CANCEL_CALENDAR,
        "calendar_entries",
        "calendar.cancelled",
        others_entry,
        calendar_cancel,
        calendar_cancelled,
    ),
    Column(
        "withdrawDocument(own)",
        "withdrawDocument",
        WITHDRAW_DOCUMENT,
        "documents",
        "document.withdrawn",
        own_document,
        document_withdrawal,
        document_withdrawn,
        answer="true",
    ),
    Column(
        "withdrawDocument(other)",
        "withdrawDocument",
        WITHDRAW_DOCUMENT,
        "documents",
        "document.withdrawn",
        others_document,
        document_withdrawal,
        document_withdrawn,
        answer="true",
    ),
    Column(
        "updateGoal",
        "updateGoal",
        UPDATE_GOAL,
        "goals",
        "goal.updated",
        a_goal,
        goal_update,
        goal_updated,
    ),
    Column(
        "closeGoal",
        "closeGoal",
        CLOSE_GOAL,
        "goals",
        "goal.closed",
        a_goal,
        goal_closing,
        goal_closed,
    ),
    Column(
        "updateActivity",
        "updateActivity",
        UPDATE_ACTIVITY,
        "activities",
        "activity.updated",
        an_activity,
        activity_update,
        activity_updated,
    ),
    Column(
        "editMessage(own)",
        "editMessage",
        EDIT_MESSAGE,
        "messages",
        "message.edited",
        own_message,
        message_edit,
        message_edited,
    ),
    Column(
        "editMessage(other)",
        "editMessage",
        EDIT_MESSAGE,
        "messages",
        "message.edited",
        others_message,
        message_edit,
        message_edited,
    ),
    Column(
        "withdrawMessage(own)",
        "withdrawMessage",
        WITHDRAW_MESSAGE,
        "messages",
        "message.withdrawn",
        own_message,
        message_withdrawal,
        message_withdrawn,
    ),
    Column(
        "setGoalServes",
        "setGoalServes",
        SET_GOAL_SERVES,
        "goals",
        "goal.updated",
        a_goal,
        serving_nothing,
        serves_nothing,
    ),
    Column(
        "linkPlan",
        "linkPlan",
        LINK_PLAN,
        None,
        "plan.linked",
        an_unlinked_plan,
        linking,
        linked,
        answer="plan",
        audits=link_audits("plan.linked"),
    ),
    Column(
        "unlinkPlan",
        "unlinkPlan",
        UNLINK_PLAN,
        None,
        "plan.unlinked",
        a_linked_plan,
        linking,
        unlinked,
        answer="true",
        audits=link_audits("plan.unlinked"),
    ),
    Column(
        "recordRevision",
        "recordRevision",
        RECORD_REVISION,
        None,
        "plan.revised",
        the_plan,
        revision,
        revision_recorded,
        audit_target="plan",
        answer="new",
    ),
    Column(
        "giveConsent",
        "giveConsent",
        GIVE_CONSENT,
        "consent_proposals",
        "consent.given",
        the_proposal,
        giving,
        consent_given,
        audit_target="plan",
        answer="new",
    ),
    Column(
        "proposeConsent",
        "proposeConsent",
        PROPOSE_CONSENT,
        None,
        "consent.proposed",
        the_plan,
        proposal,
        proposal_made,
        audit_target="plan",
        answer="new",
    ),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}


# --- a matrix world --------------------------------------------------------------------------


@dataclass
class MatrixWorld:
    world: PlanWorld
    targets: dict[tuple[str, str], str | None]  # (column, role) -> target id
    setup: Setup


async def _set_rights(world: PlanWorld, rights: dict[str, dict[str, object]]) -> None:
    for role, grant in rights.items():
        body = await world.post(
            COORDINATOR,
            UPDATE_PARTICIPANT_RIGHTS,
            {"id": world.participant_ids[role], "rights": grant},
        )
        assert "errors" not in body, (role, body)


async def prepare(gateway: Gateway, consent: str, plan: str) -> MatrixWorld:
    """A world in the given state whose every person has a target for every mutation.

    The targets are made while the plan is active and the consent valid (an "expired" world
    starts with one that runs out in three days; a "revoked" one with an active one; "none"
    has none throughout); then the coordinator lowers the added participants' rights to
    RIGHTS, and the world moves on: the clock past the consent's end, revokeConsent, the
    plan ended."""
    today = today_of(gateway)
    world = await build_world(
        gateway,
        consent="none" if consent == "none" else "active",
        plan="active",
        default_grant=DEFAULT_GRANT,
        rights=MAKER_RIGHTS,
        expires_on=today + dt.timedelta(days=3) if consent == "expired" else None,
    )
    setup = Setup(world)
    targets: dict[tuple[str, str], str | None] = {}
    for column in COLUMNS:
        for role in ROLES:
            targets[column.key, role] = await column.make(setup, role)
    await _set_rights(world, RIGHTS)

    if consent == "expired":
        gateway.clock.advance(days=4)
        await world.renew_sessions()
    elif consent == "revoked":
        body = await world.post(COORDINATOR, REVOKE_CONSENT, {"p": world.plan_id})
        assert "errors" not in body, body
    world.consent_state = consent
    if plan == "ended":
        await world.end_plan()
    return MatrixWorld(world, targets, setup)


async def snapshot(gateway: Gateway, world: PlanWorld, column: Column, target: str) -> Snapshot:
    plan_id = uuid.UUID(world.plan_id)
    async with gateway.pool.acquire() as conn:
        row = None
        if column.table is not None:
            found = await conn.fetchrow(
                f"SELECT * FROM {column.table} WHERE id = $1",
                uuid.UUID(target),
            )
            assert found is not None, (column.key, target)
            row = dict(found)
        plan = await conn.fetchrow("SELECT * FROM plans WHERE id = $1", plan_id)
        assert plan is not None

        async def rows(sql: str) -> list[dict[str, Any]]:
            return [dict(r) for r in await conn.fetch(sql, plan_id)]

        return Snapshot(
            row=row,
            plan=dict(plan),
            consents=await rows("SELECT * FROM consents WHERE plan_id = $1 ORDER BY id"),
            proposals=await rows("SELECT * FROM consent_proposals WHERE plan_id = $1 ORDER BY id"),
            revisions=await rows("SELECT * FROM revisions WHERE plan_id = $1 ORDER BY id"),
            links=await rows(
                "SELECT * FROM plan_links WHERE upper_plan_id = $1 ORDER BY lower_plan_id"
            ),
            outbox=await conn.fetchval("SELECT count(*) FROM outbox"),
            audit=await conn.fetchval("SELECT coalesce(max(id), 0) FROM audit_log"),
        )


async def audit_since(gateway: Gateway, last: int) -> list[tuple[str | None, str, str | None]]:
    async with gateway.pool.acquire() as conn:
        found = await conn.fetch(
            "SELECT actor_id, action, target FROM audit_log WHERE id > $1 ORDER BY id", last
        )
    return [
        (str(r["actor_id"]) if r["actor_id"] else None, r["action"], r["target"]) for r in found
    ]


def refusal(body: dict[str, Any], column: Column) -> tuple[str, str | None]:
    """(code, reason) of a refused mutation: no data, one error at the mutation."""
    assert body.get("data") is None, body
    errors = body.get("errors") or []
    assert len(errors) == 1, body
    assert errors[0].get("path") == [column.field], body
    ext = errors[0].get("extensions") or {}
    return str(ext.get("code")), ext.get("reason")


async def attempt(mw: MatrixWorld, column: Column, role: str, word: str) -> None:
    """One cell: the role tries the mutation on its target; the outcome is ``word``."""
    world, gateway = mw.world, mw.world.gateway
    target = mw.targets[column.key, role]
    assert target is not None
    t = Try(world, role, target, today_of(gateway), ROLES.index(role))
    before = await snapshot(gateway, world, column, target)
    body = await world.post(role, column.document, column.variables(t))
    after = await snapshot(gateway, world, column, target)
    if word == OK:
        assert "errors" not in body, body
        answer = body["data"][column.field]
        if column.answer == "target":
            assert answer == {"id": target}, body
        elif column.answer == "true":
            assert answer is True, body
        elif column.answer == "plan":
            assert answer == {"plan": {"id": target}}, body
        else:
            assert column.answer == "new" and answer["id"] not in (None, target), body
        column.done(t, before, after)
        audited = target if column.audit_target == "target" else world.plan_id
        want = (
            column.audits(t)
            if column.audits is not None
            else [(world.person_id(role), column.action, audited)]
        )
        assert await audit_since(gateway, before.audit) == want
    else:
        assert refusal(body, column) == CODES[word], body
        assert after == before, "a refusal changed something"


def run_order(column: Column, consent: str, plan: str) -> list[tuple[str, str]]:
    """The (role, expected) pairs of a column in a world: refusals first, successes last."""
    cells = [(role, expected(column.key, role, consent, plan)) for role in ROLES]
    return sorted(cells, key=lambda cell: cell[1] == OK)


# --- the table itself -------------------------------------------------------------------------


def test_the_table_names_every_cell_exactly_once() -> None:
    assert {r.column for r in ROWS} == set(COLUMN_BY_KEY)
    for column in COLUMNS:
        for role in ROLES:
            found = [r.text for r in ROWS if r.matches(column.key, role)]
            assert len(found) == 1, (column.key, role, found)
    rendered = render_matrix(expanded=True)
    body_lines = [x for x in rendered.splitlines()[2:] if x.startswith("| ")]
    assert len(body_lines) == len(COLUMNS) * len(ROLES)


def test_every_column_is_tried_somewhere_and_succeeds_somewhere() -> None:
    """A column whose every cell refuses would test the refusals only."""
    for column in COLUMNS:
        words = {expected(column.key, r, c, p) for r in ROLES for c, p in WORLDS}
        assert words - {OK, NOT_APPLICABLE}, column.key
        # Someone else's message is changed by nobody: that column is refusals by design.
        assert (OK in words) == (column.key != "editMessage(other)"), column.key


# --- the API against the table ------------------------------------------------------------


@pytest.mark.parametrize("plan_state", PLAN_STATES)
@pytest.mark.parametrize("consent_state", CONSENT_STATES)
async def test_every_role_may_change_what_the_matrix_says(
    gateway: Gateway, consent_state: str, plan_state: str
) -> None:
    mw = await prepare(gateway, consent_state, plan_state)
    failures = []
    for column in COLUMNS:
        for role, word in run_order(column, consent_state, plan_state):
            cell = f"{column.key} / {role} / consent {consent_state} / plan {plan_state}"
            target = mw.targets[column.key, role]
            if (word == NOT_APPLICABLE) != (target is None):
                failures.append(f"{cell}: the table says {word!r}, the target is {target!r}")
                continue
            if word == NOT_APPLICABLE:
                continue
            try:
                await attempt(mw, column, role, word)
            except AssertionError as exc:
                failures.append(f"{cell}: expected {describe(word)}\n  {exc!r}")
    assert not failures, f"{len(failures)} cells differ:\n" + "\n".join(failures)


# --- bad input: refused, nothing changed ---------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    column: str
    what: str
    change: Callable[[Try, dict[str, str]], dict[str, Any]]  # variables that replace the good ones
    field: str  # extensions.field of the BAD_USER_INPUT


def _tomorrow(t: Try) -> str:
    return (t.today + dt.timedelta(days=1)).isoformat()


# Each by a person the matrix lets do it (in an active plan with a valid consent), on their
# own target. ``extra`` holds a participant who has left the plan ("removed"), a goal that is
# closed already ("closed") and a proposal that was given ("given").
BAD_INPUT: tuple[Bad, ...] = (
    Bad("updateCalendarEntry(own)", "a blank title", lambda t, x: {"t": "   "}, "title"),
    Bad(
        "updateCalendarEntry(own)",
        "an end before its start",
        lambda t, x: {"e": (STARTS - dt.timedelta(hours=1)).isoformat()},
        "endsAt",
    ),
    Bad("cancelCalendarEntry(own)", "an id that is no id", lambda t, x: {"id": "kalender"}, "id"),
    Bad("withdrawDocument(own)", "no reason", lambda t, x: {"r": "  "}, "reason"),
    Bad("updateGoal", "a blank title", lambda t, x: {"t": ""}, "title"),
    Bad(
        "updateGoal",
        "a responsible who has left the plan",
        lambda t, x: {"r": x["removed"]},
        "responsibleId",
    ),
    Bad(
        "updateGoal",
        "a responsible who never took part",
        lambda t, x: {"r": str(uuid.uuid4())},
        "responsibleId",
    ),
    Bad("closeGoal", "a status that does not close", lambda t, x: {"s": "IN_PROGRESS"}, "status"),
    Bad("closeGoal", "a day still to come", lambda t, x: {"on": _tomorrow(t)}, "closedOn"),
    Bad("closeGoal", "no evaluation", lambda t, x: {"ev": " "}, "evaluation"),
    Bad("closeGoal", "a goal closed already", lambda t, x: {"id": x["closed"]}, "id"),
    Bad(
        "updateActivity",
        "an end before its start",
        lambda t, x: {
            "s": (t.today + dt.timedelta(days=50)).isoformat(),
            "e": (t.today + dt.timedelta(days=45)).isoformat(),
        },
        "endDate",
    ),
    Bad(
        "updateActivity",
        "a responsible who has left the plan",
        lambda t, x: {"r": x["removed"]},
        "responsibleId",
    ),
    Bad("recordRevision", "a day still to come", lambda t, x: {"on": _tomorrow(t)}, "revisedOn"),
    Bad(
        "recordRevision",
        "the next revision on the same day",
        lambda t, x: {"next": t.today.isoformat()},
        "nextRevisionDate",
    ),
    Bad(
        "recordRevision",
        "someone who has left the plan",
        lambda t, x: {"who": [t.world.participant_ids[OWNER], x["removed"]]},
        "participantIds",
    ),
    Bad(
        "proposeConsent",
        "a giver outside the plan",
        lambda t, x: {
            "in": {**proposal(t)["in"], "givenById": t.world.person_id(OUTSIDER)},
        },
        "givenById",
    ),
    Bad(
        "proposeConsent",
        "the relative as SELF",
        lambda t, x: {
            "in": {**proposal(t)["in"], "givenById": t.world.person_id(RELATIVE)},
        },
        "givenByRelation",
    ),
    Bad("giveConsent", "a proposal given already", lambda t, x: {"id": x["given"]}, "proposalId"),
    Bad("giveConsent", "an id that is no id", lambda t, x: {"id": "forslag"}, "proposalId"),
    Bad("editMessage(own)", "a blank text", lambda t, x: {"b": " \n "}, "body"),
    Bad("withdrawMessage(own)", "an id that is no id", lambda t, x: {"id": "melding"}, "id"),
    Bad(
        "setGoalServes",
        "a goal of a plan with no IP above it",
        lambda t, x: {"s": x["closed"]},
        "servesGoalId",
    ),
    Bad("linkPlan", "the IP under itself", lambda t, x: {"l": t.world.plan_id}, "linkedPlanId"),
    Bad(
        "linkPlan",
        "an IP under an IOP",
        lambda t, x: {"p": t.target, "l": t.world.plan_id},
        "planId",
    ),
    Bad("unlinkPlan", "an id that is no id", lambda t, x: {"l": "plan"}, "linkedPlanId"),
)


def _is_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def _extras(mw: MatrixWorld) -> dict[str, str]:
    """A participant who has left the plan, a closed goal and a given proposal."""
    world, gateway = mw.world, mw.world.gateway
    left = await quick_user(
        gateway.pool,
        f"sluttet-{uuid.uuid4().hex[:8]}",
        first_name="Sluttet",
        last_name="Deltaker",
        now=gateway.clock(),
    )
    added = await world.post(
        COORDINATOR,
        ADD_PARTICIPANT,
        {"p": world.plan_id, "who": str(left.person_id), "role": "SERVICE_PROVIDER"},
    )
    removed = _made(added, "addParticipant")
    assert removed is not None
    assert "errors" not in await world.post(COORDINATOR, REMOVE_PARTICIPANT, {"id": removed})

    closed = await a_goal(mw.setup, "lukket")
    assert closed is not None
    t = Try(world, COORDINATOR, closed, today_of(gateway), 0)
    assert "errors" not in await world.post(COORDINATOR, CLOSE_GOAL, goal_closing(t))

    given = await the_proposal(mw.setup, OWNER)
    assert given is not None
    assert "errors" not in await world.post(OWNER, GIVE_CONSENT, {"id": given})
    return {"removed": removed, "closed": closed, "given": given}


async def test_bad_input_is_refused_and_changes_nothing(gateway: Gateway) -> None:
    mw = await prepare(gateway, "active", "active")
    extra = await _extras(mw)
    world = mw.world
    failures = []
    for bad in BAD_INPUT:
        column = COLUMN_BY_KEY[bad.column]
        role = next(r for r in ROLES if expected(bad.column, r, "active", "active") == OK)
        target = mw.targets[bad.column, role]
        assert target is not None
        t = Try(world, role, target, today_of(gateway), ROLES.index(role))
        variables = {**column.variables(t), **bad.change(t, extra)}
        # The row the bad input names, when it names another one (a closed goal).
        named = variables.get("id", target) if column.table else target
        if not _is_id(named):
            named = target
        before = await snapshot(gateway, world, column, named)
        body = await world.post(role, column.document, variables)
        after = await snapshot(gateway, world, column, named)
        try:
            assert body.get("data") is None, body
            got = [
                ((e.get("extensions") or {}).get("code"), (e.get("extensions") or {}).get("field"))
                for e in body.get("errors") or []
            ]
            assert got == [("BAD_USER_INPUT", bad.field)], body
            assert after == before, "bad input changed something"
        except AssertionError as exc:
            failures.append(f"{bad.column} by {role}, {bad.what}: {exc!r}")
    assert not failures, "\n".join(failures)


# --- rendering ---------------------------------------------------------------------------------


def render_matrix(*, expanded: bool = False) -> str:
    """The matrix as a markdown table; ``expanded`` gives one line per (mutation, role)."""
    head = ["mutation (target)", "role"] + [f"{c} / plan {p}" for c, p in WORLDS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def line(column: str, roles: str, cells: dict[tuple[str, str], str]) -> str:
        words = [describe(cells[w]) for w in WORLDS]
        return "| " + " | ".join([column, roles, *words]) + " |"

    if expanded:
        for column in COLUMNS:
            for role in ROLES:
                (row,) = [r for r in ROWS if r.matches(column.key, role)]
                lines.append(line(column.key, role, row.cells))
    else:
        for row in ROWS:
            lines.append(line(row.column, ", ".join(row.roles), row.cells))
    rights = "; ".join(
        f"{role}: " + ", ".join(f"{k} {v}" for k, v in grant.items())
        for role, grant in RIGHTS.items()
    )
    notes = [
        "",
        "Consent defaultGrant: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_GRANT.items()) + ".",
        f"Participants' own rights: {rights}.",
        "(own): a target the person made (before their rights were lowered, the consent ran out"
        " or was revoked, or the plan ended); (other): one the coordinator made (for the"
        " coordinator, one the owner made). — : nobody in that role can have made one.",
        "A reason means FORBIDDEN with that extensions.reason. giveConsent: a proposal naming"
        " the owner (SELF).",
    ]
    return "\n".join(lines + notes)


if __name__ == "__main__":
    print(render_matrix(expanded="--expanded" in sys.argv))
