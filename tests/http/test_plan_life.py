"""The plan as living work (issue 17, first part), over HTTP with the real SMTP sink:
calendar entries edited and cancelled, documents withdrawn, revisions recorded, the plans
due for revision, the revision reminders over moved time (each once, two processes at once)
and the overdue count in the reports. Every refusal changes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest

from resolvers import jobs
from tests.conftest import Gateway, Mailbox
from tests.http.test_documents import upload, uploaded
from tests.plan_world import (
    COORDINATOR,
    GUARDIAN,
    OUTSIDER,
    OWNER,
    RELATIVE,
    SERVICE_PROVIDER,
    PlanWorld,
    build_world,
    today_of,
)
from tests.support import error_codes, make_user, session_for

WRITERS = {
    SERVICE_PROVIDER: {"calendar": "WRITE", "documents": "WRITE"},
    RELATIVE: {"calendar": "WRITE", "documents": "WRITE"},
}
ADD = """mutation($p: ID!, $t: String!, $s: DateTime!) {
  addCalendarEntry(planId: $p, title: $t, startsAt: $s) { id } }"""
UPDATE = """mutation($id: ID!, $t: String, $s: DateTime, $e: DateTime) {
  updateCalendarEntry(id: $id, title: $t, startsAt: $s, endsAt: $e) {
    id title startsAt endsAt updatedAt cancelledAt } }"""
CANCEL = """mutation($id: ID!, $r: String) { cancelCalendarEntry(id: $id, reason: $r) {
  id cancelledAt cancelReason } }"""
CALENDAR = """query($p: ID!) { plan(id: $p) { calendar { id title cancelledAt } } }"""


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def reason(body: dict[str, Any]) -> Any:
    return body["errors"][0]["extensions"].get("reason")


async def test_calendar_entries_are_edited_and_cancelled_by_their_maker_or_coordinator(
    gateway: Gateway, smtp: Mailbox
) -> None:
    world = await build_world(gateway, rights=WRITERS)
    starts = dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC)
    entry = ok(
        await world.post(
            SERVICE_PROVIDER,
            ADD,
            {"p": world.plan_id, "t": "Ansvarsgruppemøte", "s": starts.isoformat()},
        )
    )["addCalendarEntry"]["id"]
    await gateway.deliver()
    before = len(smtp.messages)
    moved = {"id": entry, "t": "Møte flyttet", "s": (starts + dt.timedelta(days=1)).isoformat()}
    for key, code, why in (
        (RELATIVE, "FORBIDDEN", "ROLE_REQUIRED"),  # may write the calendar, did not make it
        (GUARDIAN, "FORBIDDEN", "NO_GRANT"),  # may only read the calendar
        (OUTSIDER, "NOT_FOUND", None),
    ):
        answer = await world.post(key, UPDATE, moved)
        assert error_codes(answer) == [code], (key, answer)
        assert reason(answer) == why, key
    backwards = {"id": entry, "e": (starts - dt.timedelta(hours=1)).isoformat()}
    assert error_codes(await world.post(SERVICE_PROVIDER, UPDATE, backwards)) == ["BAD_USER_INPUT"]
    listed = ok(await world.post(COORDINATOR, CALENDAR, {"p": world.plan_id}))
    assert listed["plan"]["calendar"] == [
        {"id": entry, "title": "Ansvarsgruppemøte", "cancelledAt": None}
    ]
    changed = ok(await world.post(SERVICE_PROVIDER, UPDATE, moved))["updateCalendarEntry"]
    assert changed["title"] == "Møte flyttet" and changed["updatedAt"] is not None
    cancelled = ok(await world.post(COORDINATOR, CANCEL, {"id": entry, "r": "Syk"}))
    assert cancelled["cancelCalendarEntry"]["cancelReason"] == "Syk"
    listed = ok(await world.post(GUARDIAN, CALENDAR, {"p": world.plan_id}))["plan"]["calendar"]
    assert listed[0]["id"] == entry and listed[0]["cancelledAt"] is not None  # still there
    again = await world.post(COORDINATOR, UPDATE, moved)
    assert error_codes(again) == ["BAD_USER_INPUT"]
    await gateway.deliver()
    notices = smtp.messages[before:]
    assert notices and all(m["Subject"] == "Endring i kalenderen" for m in notices)
    assert all("Møte" not in m.get_content() and "Syk" not in m.get_content() for m in notices)


async def test_a_withdrawn_document_is_gone_from_the_plan_and_its_download(
    gateway: Gateway,
) -> None:
    world = await build_world(gateway, rights=WRITERS)
    document = uploaded(
        await upload(
            gateway, world.token(SERVICE_PROVIDER), world.plan_id, "vedtak.pdf", b"%PDF-1.4 x"
        )
    )
    withdraw = "mutation($id: ID!, $r: String!) { withdrawDocument(id: $id, reason: $r) }"
    docs = "query($p: ID!) { plan(id: $p) { documents { id } } }"
    for key, code in ((RELATIVE, "FORBIDDEN"), (GUARDIAN, "FORBIDDEN"), (OUTSIDER, "NOT_FOUND")):
        answer = await world.post(key, withdraw, {"id": document["id"], "r": "Feil plan"})
        assert error_codes(answer) == [code], (key, answer)
    blank = await world.post(COORDINATOR, withdraw, {"id": document["id"], "r": " "})
    assert error_codes(blank) == ["BAD_USER_INPUT"]
    listed = ok(await world.post(COORDINATOR, docs, {"p": world.plan_id}))["plan"]["documents"]
    assert [d["id"] for d in listed] == [document["id"]]

    done = await world.post(COORDINATOR, withdraw, {"id": document["id"], "r": "Feil plan"})
    assert ok(done) == {"withdrawDocument": True}
    assert ok(await world.post(COORDINATOR, docs, {"p": world.plan_id}))["plan"]["documents"] == []
    url = f"/plans/{world.plan_id}/documents/{document['id']}"
    got = await gateway.client.http.get(
        url, headers={"Authorization": f"Bearer {world.token(COORDINATOR)}"}
    )
    assert got.status_code == 404
    async with gateway.pool.acquire() as conn:
        kept = await conn.fetchval(
            "SELECT count(*) FROM document_contents WHERE document_id = $1",
            uuid.UUID(document["id"]),
        )
        audit = await conn.fetchval(
            "SELECT detail->>'reason' FROM audit_log WHERE action = 'document.withdrawn'"
        )
    assert kept == 1 and audit == "Feil plan"
    twice = await world.post(COORDINATOR, withdraw, {"id": document["id"], "r": "Igjen"})
    assert error_codes(twice) == ["NOT_FOUND"]


RECORD = """mutation($p: ID!, $on: Date!, $next: Date, $who: [ID!]!, $note: String) {
  recordRevision(planId: $p, revisedOn: $on, nextRevisionDate: $next, participantIds: $who,
    note: $note) { id revisedOn nextRevisionDate participantIds note } }"""


@pytest.mark.both_read_paths  # plans(filter: {revisionDue}) is compiled too
async def test_revisions_are_recorded_and_the_plans_due_are_listed(gateway: Gateway) -> None:
    world = await build_world(gateway, rights={SERVICE_PROVIDER: {"participants": "NONE"}})
    today = today_of(gateway)
    who = [world.participant_ids[OWNER], world.participant_ids[COORDINATOR]]
    base = {"p": world.plan_id, "on": today.isoformat(), "who": who, "note": "Gjennomgått"}
    for key, variables, code in (
        (RELATIVE, base, "FORBIDDEN"),
        (COORDINATOR, {**base, "on": (today + dt.timedelta(days=1)).isoformat()}, "BAD_USER_INPUT"),
        (COORDINATOR, {**base, "next": today.isoformat()}, "BAD_USER_INPUT"),
        (COORDINATOR, {**base, "who": [str(uuid.uuid4())]}, "BAD_USER_INPUT"),
    ):
        answer = await world.post(key, RECORD, variables)
        assert error_codes(answer) == [code], (key, variables, answer)
    async with gateway.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM revisions") == 0
    next_date = today + dt.timedelta(days=180)
    recorded = ok(await world.post(COORDINATOR, RECORD, {**base, "next": next_date.isoformat()}))[
        "recordRevision"
    ]
    assert sorted(recorded["participantIds"]) == sorted(who)
    plan = "query($p: ID!) { plan(id: $p) { revisionDate revisions { id note } } }"
    seen = ok(await world.post(RELATIVE, plan, {"p": world.plan_id}))["plan"]
    assert seen["revisionDate"] == next_date.isoformat()
    assert seen["revisions"] == [{"id": recorded["id"], "note": "Gjennomgått"}]
    hidden = await world.post(SERVICE_PROVIDER, plan, {"p": world.plan_id})
    assert hidden["data"]["plan"]["revisions"] is None and reason(hidden) == "NO_GRANT"

    due = "query { plans(filter: { revisionDue: true }) { edges { node { id } } } }"
    assert ok(await world.post(COORDINATOR, due))["plans"]["edges"] == []
    async with gateway.pool.acquire() as conn:
        await conn.execute(
            "UPDATE plans SET revision_date = $1 WHERE id = $2", today, uuid.UUID(world.plan_id)
        )
    found = ok(await world.post(COORDINATOR, due))["plans"]["edges"]
    assert [e["node"]["id"] for e in found] == [world.plan_id]


async def set_revision(world: PlanWorld, on: dt.date) -> None:
    async with world.gateway.pool.acquire() as conn:
        await conn.execute(
            "UPDATE plans SET revision_date = $1 WHERE id = $2", on, uuid.UUID(world.plan_id)
        )


async def test_coordinators_are_reminded_30_and_7_days_before_and_on_the_day(
    gateway: Gateway, smtp: Mailbox
) -> None:
    world = await build_world(gateway)
    pool, clock = gateway.pool, gateway.clock
    await set_revision(world, today_of(gateway) + dt.timedelta(days=30))
    await gateway.deliver()
    before = len(smtp.messages)
    assert await jobs.remind_revisions(pool, clock) == 1
    assert await jobs.remind_revisions(pool, clock) == 0  # each reminder once
    clock.advance(days=22)
    assert await jobs.remind_revisions(pool, clock) == 0
    clock.advance(days=1)  # seven days before
    assert await jobs.remind_revisions(pool, clock) == 1
    clock.advance(days=7)  # the day
    assert await jobs.remind_revisions(pool, clock) == 1
    clock.advance(days=1)
    assert await jobs.remind_revisions(pool, clock) == 0
    await gateway.deliver()
    mails = smtp.messages[before:]
    coordinator = world.actors[COORDINATOR].user.email
    assert [str(m["To"]) for m in mails] == [coordinator] * 3
    assert "om 30 dager" in mails[0].get_content() and "i dag" in mails[2].get_content()
    assert all(world.short_name not in m.get_content() for m in mails)

    # Two processes at once: one reminder.
    other = await build_world(gateway)
    await set_revision(other, today_of(gateway) + dt.timedelta(days=7))
    first, second = await asyncio.gather(
        jobs.remind_revisions(pool, clock), jobs.remind_revisions(pool, clock)
    )
    assert first + second == 1


async def test_the_reports_count_overdue_revisions_suppressed_below_five(
    gateway: Gateway,
) -> None:
    worlds = [await build_world(gateway) for _ in range(5)]
    reporter = await make_user(gateway.pool, f"rapport-{uuid.uuid4().hex[:6]}", roles=("REPORTER",))
    token = await session_for(gateway.pool, reporter, gateway.clock())
    query = "{ reports { revisionsOverdue } }"
    past = today_of(gateway) - dt.timedelta(days=1)
    for world in worlds[:4]:
        await set_revision(world, past)
    answer = await gateway.client.post(query, token=token)
    assert answer["data"]["reports"]["revisionsOverdue"] is None  # 4: below the smallest cell
    await set_revision(worlds[4], past)
    answer = await gateway.client.post(query, token=token)
    assert answer["data"]["reports"]["revisionsOverdue"] == 5
    refused = await worlds[0].post(COORDINATOR, query)
    assert error_codes(refused) == ["FORBIDDEN"]


HISTORY = """query($p: ID!, $first: Int, $after: String) { plan(id: $p) {
  history(first: $first, after: $after) {
    edges { at action object objectId fields actor } pageInfo { hasNextPage endCursor } } } }"""


async def test_the_history_names_changes_and_actors_but_no_values(gateway: Gateway) -> None:
    world = await build_world(gateway)
    renamed = await world.post(
        COORDINATOR,
        'mutation($p: ID!) { updatePlan(id: $p, shortName: "Hemmelig nytt navn") { id } }',
        {"p": world.plan_id},
    )
    assert "errors" not in renamed, renamed
    goal = ok(
        await world.post(
            COORDINATOR,
            'mutation($p: ID!) { addGoal(planId: $p, title: "Hemmelig mål") { id } }',
            {"p": world.plan_id},
        )
    )["addGoal"]["id"]
    mine = await world.post(
        RELATIVE,
        "mutation($id: ID!, $r: String) { updateParticipant(id: $id, responsibility: $r) { id } }",
        {"id": world.participant_ids[RELATIVE], "r": "Kjører"},
    )
    assert "errors" not in mine, mine
    visit = "mutation($p: ID!) { markPlanVisited(id: $p) { id } }"
    visited = await world.post(COORDINATOR, visit, {"p": world.plan_id})
    assert "errors" not in visited

    page = ok(await world.post(OWNER, HISTORY, {"p": world.plan_id, "first": 50}))
    edges = page["plan"]["history"]["edges"]
    actions = [e["action"] for e in edges]
    assert actions[:3] == ["participant.updated", "goal.added", "plan.updated"], actions
    assert "participant.added" in actions and "plan.visited" not in actions
    assert edges[1]["object"] == "goal" and edges[1]["objectId"] == goal
    assert edges[2]["fields"] == ["short_name"] and edges[0]["fields"] == ["responsibility"]
    coordinator_name = await _name(gateway, world.person_id(COORDINATOR))
    assert edges[1]["actor"] == coordinator_name
    text = str(page)
    assert "Hemmelig" not in text and "Kjører" not in text  # names what changed, never values

    first = ok(await world.post(COORDINATOR, HISTORY, {"p": world.plan_id, "first": 2}))
    history = first["plan"]["history"]
    assert len(history["edges"]) == 2 and history["pageInfo"]["hasNextPage"]
    rest = ok(
        await world.post(
            COORDINATOR,
            HISTORY,
            {"p": world.plan_id, "first": 50, "after": history["pageInfo"]["endCursor"]},
        )
    )["plan"]["history"]["edges"]
    assert [e["action"] for e in history["edges"] + rest] == actions
    for key in (RELATIVE, SERVICE_PROVIDER):
        refused = await world.post(key, HISTORY, {"p": world.plan_id})
        assert refused["data"]["plan"]["history"] is None
        assert error_codes(refused) == ["FORBIDDEN"], key
    bad = await world.post(OWNER, HISTORY, {"p": world.plan_id, "after": "x"})
    assert error_codes(bad) == ["BAD_USER_INPUT"]


async def _name(gateway: Gateway, person_id: str) -> str:
    async with gateway.pool.acquire() as conn:
        name: str = await conn.fetchval(
            "SELECT first_name || ' ' || last_name FROM persons WHERE id = $1",
            uuid.UUID(person_id),
        )
    return name


async def test_goals_and_activities_change_responsible_dates_and_close_with_an_evaluation(
    gateway: Gateway,
) -> None:
    rights = {SERVICE_PROVIDER: {"activities": "WRITE"}, RELATIVE: {"goals": "READ"}}
    world = await build_world(gateway, rights=rights)
    p = {"p": world.plan_id}
    goal = ok(
        await world.post(
            COORDINATOR, 'mutation($p: ID!) { addGoal(planId: $p, title: "Bo hjemme") { id } }', p
        )
    )["addGoal"]["id"]
    activity = ok(
        await world.post(
            COORDINATOR,
            'mutation($g: ID!) { addActivity(goalId: $g, title: "Hjemmehjelp",'
            ' startDate: "2026-12-01", endDate: "2027-01-31") { id } }',
            {"g": goal},
        )
    )["addActivity"]["id"]
    update_activity = """mutation($id: ID!, $r: ID, $s: Date, $e: Date) {
      updateActivity(id: $id, responsibleId: $r, startDate: $s, endDate: $e) {
        startDate endDate responsible { id } } }"""
    bad = await world.post(SERVICE_PROVIDER, update_activity, {"id": activity, "s": "2027-02-15"})
    assert error_codes(bad) == ["BAD_USER_INPUT"]  # after the end it already has
    stranger = await world.post(
        SERVICE_PROVIDER, update_activity, {"id": activity, "r": str(uuid.uuid4())}
    )
    assert error_codes(stranger) == ["BAD_USER_INPUT"]
    moved = ok(
        await world.post(
            SERVICE_PROVIDER,
            update_activity,
            {
                "id": activity,
                "r": world.participant_ids[SERVICE_PROVIDER],
                "e": "2027-03-31",
            },
        )
    )["updateActivity"]
    assert moved["endDate"] == "2027-03-31" and moved["startDate"] == "2026-12-01"
    assert moved["responsible"]["id"] == world.participant_ids[SERVICE_PROVIDER]

    close = """mutation($id: ID!, $s: String!, $on: Date!, $ev: String!) {
      closeGoal(id: $id, status: $s, closedOn: $on, evaluation: $ev) {
        status closedOn evaluation } }"""
    today = today_of(gateway).isoformat()
    for variables in (
        {"id": goal, "s": "IN_PROGRESS", "on": today, "ev": "Nei"},
        {"id": goal, "s": "ACHIEVED", "on": "2099-01-01", "ev": "Framtid"},
        {"id": goal, "s": "ACHIEVED", "on": today, "ev": "  "},
    ):
        assert error_codes(await world.post(COORDINATOR, close, variables)) == ["BAD_USER_INPUT"], (
            variables
        )
    refused = await world.post(
        RELATIVE, close, {"id": goal, "s": "ACHIEVED", "on": today, "ev": "Bra"}
    )
    assert error_codes(refused) == ["FORBIDDEN"]  # GOALS is READ for relatives here
    closed = ok(
        await world.post(
            COORDINATOR, close, {"id": goal, "s": "ACHIEVED", "on": today, "ev": "Målet er nådd"}
        )
    )["closeGoal"]
    assert closed == {"status": "ACHIEVED", "closedOn": today, "evaluation": "Målet er nådd"}
    again = await world.post(
        COORDINATOR, close, {"id": goal, "s": "CANCELLED", "on": today, "ev": "Igjen"}
    )
    assert error_codes(again) == ["BAD_USER_INPUT"]


async def test_whoever_represents_the_owner_reads_the_owners_access_log(gateway: Gateway) -> None:
    """A verge (GUARDIAN) represents the owner: the reads of the owner's plan are in the
    verge's myAccessLog as in the owner's; a relative who does not represent sees none."""
    world = await build_world(gateway)
    read = await world.post(
        SERVICE_PROVIDER, "query($p: ID!) { plan(id: $p) { goals { id } } }", {"p": world.plan_id}
    )
    assert "errors" not in read, read
    log = "{ myAccessLog(first: 100) { edges { what viewer { id } plan { id } } } }"

    def reads(body: dict[str, Any]) -> set[tuple[str, str, str | None]]:
        return {
            (e["what"], e["viewer"]["id"], (e["plan"] or {}).get("id"))
            for e in ok(body)["myAccessLog"]["edges"]
        }

    provider_read = ("goals", world.person_id(SERVICE_PROVIDER), world.plan_id)
    assert provider_read in reads(await world.post(OWNER, log))
    assert provider_read in reads(await world.post(GUARDIAN, log))
    assert not any(r[2] == world.plan_id for r in reads(await world.post(RELATIVE, log)))
