# ruff: noqa: E501  (the matrix below is a table, one line per row)
"""The access matrix: who gets what of a plan, for every role, consent state and plan state.

The expected access is the table below, written from DESIGN.md "The access model" and the
decisions of issue 3, not from the code. Each test builds one plan world (tests/plan_world.py)
for one (consent, plan) combination through the API and asks, as every person in it:
``plan(id)`` (NOT_FOUND or not), the header (shortName, status, owner, coordinator),
``myAccess``, ``myParticipation``, ``participants`` (a list, or null + FORBIDDEN with the
reason the table names), ``consent`` and ``consentExpiresOn``, and the ``plans`` list.

Render the table for a note:  .venv/bin/python -m tests.test_access_matrix  [--expanded]
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Gateway
from tests.plan_world import (
    CONSENT_STATES,
    GRANT_FIELDS,
    GUARDIAN,
    PARTICIPANT_ROLE,
    PLAN_STATES,
    RELATIVE,
    ROLES,
    SECTIONS,
    PlanWorld,
    api_name,
    build_world,
    errors_by_path,
)

# Every gateway test here runs with compiled reads forced on and forced off (tests/conftest.py).
pytestmark = pytest.mark.both_read_paths

# The consent of every matrix world: what all participants get (editPerson and print
# omitted = false), and the per-participant overrides (one that adds, one that takes away).
DEFAULT_GRANT: dict[str, object] = {
    "participants": "READ",
    "goals": "WRITE",
    "activities": "READ",
    "messages": "WRITE",
    "calendar": "READ",
    "documents": "NONE",
}
OVERRIDES: dict[str, dict[str, object]] = {
    RELATIVE: {"documents": "READ", "print": True},
    GUARDIAN: {"messages": "NONE"},
}

# role × consent × plan → myAccess per section (linked: linkedPlans, not in the consent's
# default grant, so NONE), editPerson, print, and the FORBIDDEN reason a
# section the viewer may not read answers with (a NONE section; "-" when there is none).
# "any" matches every state; "expired,revoked" both. Exactly one row matches each cell.
MATRIX = """
role               consent          plan   | partic. goals  activ. msgs   cal.   docs   linked | edit print | NONE says
owner              any              active | WRITE   WRITE  WRITE  WRITE  WRITE  WRITE  WRITE  | yes  yes   | -
owner              any              ended  | READ    READ   READ   READ   READ   READ  READ   | no   yes   | -
coordinator        any              active | WRITE   WRITE  WRITE  WRITE  WRITE  WRITE  WRITE  | yes  yes   | -
coordinator        any              ended  | READ    READ   READ   READ   READ   READ  READ   | no   yes   | -
service_provider   active           active | READ    WRITE  READ   WRITE  READ   NONE  NONE   | no   no    | NO_GRANT
service_provider   active           ended  | READ    READ   READ   READ   READ   NONE  NONE   | no   no    | NO_GRANT
service_provider   expired,revoked  any    | NONE    NONE   NONE   NONE   NONE   NONE  NONE   | no   no    | CONSENT_EXPIRED
service_provider   none             any    | NONE    NONE   NONE   NONE   NONE   NONE  NONE   | no   no    | NO_GRANT
relative           active           active | READ    WRITE  READ   WRITE  READ   READ  NONE   | no   yes   | -
relative           active           ended  | READ    READ   READ   READ   READ   READ  NONE   | no   yes   | -
relative           expired,revoked  any    | NONE    NONE   NONE   NONE   NONE   NONE  NONE   | no   no    | CONSENT_EXPIRED
relative           none             any    | NONE    NONE   NONE   NONE   NONE   NONE  NONE   | no   no    | NO_GRANT
guardian           active           active | READ    WRITE  READ   NONE   READ   NONE  NONE   | no   no    | NO_GRANT
guardian           active           ended  | READ    READ   READ   NONE   READ   NONE  NONE   | no   no    | NO_GRANT
guardian           expired,revoked  any    | NONE    NONE   NONE   NONE   NONE   NONE  NONE   | no   no    | CONSENT_EXPIRED
guardian           none             any    | NONE    NONE   NONE   NONE   NONE   NONE  NONE   | no   no    | NO_GRANT
outsider           any              any    | NOT_FOUND (the plan is unknown to them)
system_admin       any              any    | NONE    NONE   NONE   NONE   NONE   NONE  NONE   | no   no    | NOT_PARTICIPANT
coordinating_unit  any              any    | NONE    NONE   NONE   NONE   NONE   NONE  NONE   | no   no    | NOT_PARTICIPANT
"""

# Who takes part (myParticipation, the plans list), and whether Plan.consent is readable
# (else its FORBIDDEN reason). Independent of consent and plan state.
PEOPLE = """
role               takes part as      Plan.consent
owner              OWNER              readable
coordinator        COORDINATOR        readable
service_provider   SERVICE_PROVIDER   ROLE_REQUIRED
relative           RELATIVE           ROLE_REQUIRED
guardian           GUARDIAN           readable
outsider           -                  -
system_admin       -                  NOT_PARTICIPANT
coordinating_unit  -                  NOT_PARTICIPANT
"""


# --- the table, parsed ----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    role: str
    consents: tuple[str, ...]
    plans: tuple[str, ...]
    access: dict[str, str] | None  # None: plan(id) is NOT_FOUND
    edit_person: bool
    print: bool
    reason: str | None
    text: str

    def matches(self, role: str, consent: str, plan: str) -> bool:
        return role == self.role and consent in self.consents and plan in self.plans


def _states(word: str, every: tuple[str, ...]) -> tuple[str, ...]:
    if word == "any":
        return every
    states = tuple(word.split(","))
    assert set(states) <= set(every), word
    return states


def _yes(word: str) -> bool:
    assert word in ("yes", "no"), word
    return word == "yes"


def parse_matrix(text: str = MATRIX) -> list[Row]:
    rows = []
    for line in text.strip().splitlines()[1:]:
        groups = [g.split() for g in line.split("|")]
        role, consent, plan = groups[0]
        consents, plans = _states(consent, CONSENT_STATES), _states(plan, PLAN_STATES)
        if groups[1][0] == "NOT_FOUND":
            rows.append(Row(role, consents, plans, None, False, False, None, line))
            continue
        levels = groups[1]
        assert len(levels) == len(SECTIONS) and set(levels) <= {"NONE", "READ", "WRITE"}, line
        edit, prints = groups[2]
        (reason,) = groups[3]
        access = dict(zip(SECTIONS, levels, strict=True))
        rows.append(
            Row(
                role,
                consents,
                plans,
                access,
                _yes(edit),
                _yes(prints),
                None if reason == "-" else reason,
                line,
            )
        )
    return rows


@dataclass(frozen=True)
class Person:
    role: str
    takes_part_as: str | None
    consent_denial: str | None  # None: Plan.consent is readable


def parse_people(text: str = PEOPLE) -> dict[str, Person]:
    people = {}
    for line in text.strip().splitlines()[1:]:
        role, part, consent = line.split()
        people[role] = Person(
            role,
            None if part == "-" else part,
            None if consent in ("readable", "-") else consent,
        )
    return people


ROWS = parse_matrix()
PEOPLE_BY_ROLE = parse_people()


def expected(role: str, consent: str, plan: str) -> Row:
    (row,) = [r for r in ROWS if r.matches(role, consent, plan)]
    return row


def render_matrix(*, expanded: bool = False) -> str:
    """The matrix as a markdown table; ``expanded`` gives one line per (role, consent, plan)."""
    head = ["role", "consent", "plan", *SECTIONS, "editPerson", "print", "NONE section says"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def line(role: str, consent: str, plan: str, row: Row) -> str:
        if row.access is None:
            cells = ["NOT_FOUND", *[""] * (len(SECTIONS) - 1), "", "", ""]
        else:
            cells = [
                *[row.access[s] for s in SECTIONS],
                "yes" if row.edit_person else "no",
                "yes" if row.print else "no",
                row.reason or "-",
            ]
        return "| " + " | ".join([role, consent, plan, *cells]) + " |"

    def label(states: tuple[str, ...], every: tuple[str, ...]) -> str:
        return "any" if states == every else " / ".join(states)

    if expanded:
        for role in ROLES:
            for consent in CONSENT_STATES:
                for plan in PLAN_STATES:
                    lines.append(line(role, consent, plan, expected(role, consent, plan)))
    else:
        for row in ROWS:
            lines.append(
                line(
                    row.role,
                    label(row.consents, CONSENT_STATES),
                    label(row.plans, PLAN_STATES),
                    row,
                )
            )
    grant = ", ".join(f"{k} {v}" for k, v in DEFAULT_GRANT.items())
    overrides = "; ".join(
        f"{role}: " + ", ".join(f"{k} {v}" for k, v in o.items()) for role, o in OVERRIDES.items()
    )
    notes = [
        "",
        f"Consent defaultGrant: {grant} (editPerson, print false). Overrides: {overrides}.",
        "Every participant (all rows but outsider, system_admin, coordinating_unit) also sees",
        "the plan header and myParticipation; Plan.consent: owner, coordinator, guardian.",
    ]
    return "\n".join(lines + notes)


# --- the table itself ---------------------------------------------------------------------


def test_the_table_names_every_cell_exactly_once() -> None:
    assert set(PEOPLE_BY_ROLE) == set(ROLES)
    assert {r.role for r in ROWS} == set(ROLES)
    for role in ROLES:
        for consent in CONSENT_STATES:
            for plan in PLAN_STATES:
                found = [r.text for r in ROWS if r.matches(role, consent, plan)]
                assert len(found) == 1, (role, consent, plan, found)
    rendered = render_matrix(expanded=True)
    body_lines = [x for x in rendered.splitlines()[2:] if x.startswith("| ")]
    assert len(body_lines) == len(ROLES) * len(CONSENT_STATES) * len(PLAN_STATES)


def test_the_table_follows_the_participant_roles_of_the_world() -> None:
    for role, person in PEOPLE_BY_ROLE.items():
        assert person.takes_part_as == PARTICIPANT_ROLE.get(role), role


# --- the API against the table ------------------------------------------------------------

QUERY = f"""query($id: ID!) {{
  plan(id: $id) {{
    id shortName status consentExpiresOn
    owner {{ id role person {{ id firstName }} }}
    coordinator {{ id role person {{ id }} }}
    myParticipation {{ id role responsibility rights {{ {GRANT_FIELDS} }} }}
    myAccess {{ {GRANT_FIELDS} }}
    participants {{ id role person {{ id }} }}
    consent {{ id revokedOn }}
  }}
  plans(filter: {{includeEnded: true}}) {{ edges {{ node {{ id }} }} }}
}}"""


def grant_of(row: Row) -> dict[str, Any]:
    assert row.access is not None
    return {
        **{api_name(s): level for s, level in row.access.items()},
        "editPerson": row.edit_person,
        "print": row.print,
    }


def check_cell(world: PlanWorld, role: str, body: dict[str, Any]) -> None:
    row = expected(role, world.consent_state, world.plan_state)
    person = PEOPLE_BY_ROLE[role]
    errors = errors_by_path(body)
    listed = [e["node"]["id"] for e in body["data"]["plans"]["edges"]]
    assert listed == ([world.plan_id] if person.takes_part_as else []), listed

    if row.access is None:
        assert body["data"]["plan"] is None
        assert errors == {("plan",): ("NOT_FOUND", None)}
        return

    plan = body["data"]["plan"]
    assert plan is not None, errors
    want_errors: dict[tuple[Any, ...], tuple[str, str | None]] = {}

    # The header: every participant (and the administrators) sees it, whatever the consent.
    assert plan["id"] == world.plan_id
    assert plan["shortName"] == world.short_name
    assert plan["status"] == world.plan_state.upper()
    assert plan["owner"]["role"] == "OWNER"
    assert plan["owner"]["person"]["id"] == world.person_id("owner")
    assert plan["owner"]["person"]["firstName"] == "Owner"
    assert plan["coordinator"]["person"]["id"] == world.person_id("coordinator")

    # What I may do here.
    assert plan["myAccess"] == grant_of(row)

    # The plan group: a list when the PARTICIPANTS section is readable, else FORBIDDEN.
    if row.access["participants"] != "NONE":
        assert plan["participants"] is not None
        got = {p["id"]: (p["role"], p["person"]["id"]) for p in plan["participants"]}
        assert got == {
            world.participant_ids[k]: (PARTICIPANT_ROLE[k], world.person_id(k))
            for k in PARTICIPANT_ROLE
        }
    else:
        assert plan["participants"] is None
        assert row.reason is not None
        want_errors[("plan", "participants")] = ("FORBIDDEN", row.reason)

    # My own participation: every participant sees it, expired or revoked consent or not.
    mine = plan["myParticipation"]
    if person.takes_part_as:
        assert mine is not None
        assert mine["id"] == world.participant_ids[role]
        assert mine["role"] == person.takes_part_as
        assert mine["responsibility"] == world.responsibilities.get(role)
        assert mine["rights"] == grant_of(row)
        expiry = world.participant_expiry.get(role) or world.consent_expires_on
        assert plan["consentExpiresOn"] == (expiry.isoformat() if expiry else None)
    else:
        assert mine is None
        assert plan["consentExpiresOn"] is None

    # The consent document.
    if person.consent_denial is None:
        if world.consent_id is None:
            assert plan["consent"] is None
        else:
            assert plan["consent"]["id"] == world.consent_id
            assert (plan["consent"]["revokedOn"] is not None) == (world.consent_state == "revoked")
    else:
        assert plan["consent"] is None
        want_errors[("plan", "consent")] = ("FORBIDDEN", person.consent_denial)

    assert errors == want_errors


@pytest.mark.parametrize("plan_state", PLAN_STATES)
@pytest.mark.parametrize("consent_state", CONSENT_STATES)
async def test_every_role_gets_what_the_matrix_says(
    gateway: Gateway, consent_state: str, plan_state: str
) -> None:
    world = await build_world(
        gateway,
        consent=consent_state,
        plan=plan_state,
        default_grant=DEFAULT_GRANT,
        rights=OVERRIDES,
    )
    failures = []
    for role in ROLES:
        body = await world.post(role, QUERY, {"id": world.plan_id})
        try:
            check_cell(world, role, body)
        except AssertionError as exc:
            failures.append(
                f"{role} / consent {consent_state} / plan {plan_state}: {exc!r}\n"
                f"  expected: {expected(role, consent_state, plan_state).text}\n"
                f"  got: {body}"
            )
    assert not failures, "\n".join(failures)


if __name__ == "__main__":
    print(render_matrix(expanded="--expanded" in sys.argv))
