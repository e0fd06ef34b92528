"""Notifications of plan events, end to end: each participant's own settings (event × SMS /
e-mail), the section they must be able to read, bokmål texts without any plan content, the
outbox written in the event's transaction, and delivery exactly once when the mail server
comes back. Real PostgreSQL, a real SMTP server (aiosmtpd) and a real HTTP SMS gateway.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from gateway.outbox import backoff
from tests.conftest import Gateway, Mailbox, SmsGateway
from tests.plan_world import (
    ADD_PARTICIPANT,
    COORDINATOR,
    GUARDIAN,
    OWNER,
    RELATIVE,
    SERVICE_PROVIDER,
    Actor,
    PlanWorld,
    build_world,
    contact_fields,
    ok,
    quick_user,
    today_of,
)
from tests.support import session_for

EVENTS = ("MESSAGE_TO_ME", "GOAL_OR_ACTIVITY", "COMMENT", "CALENDAR_ENTRY", "PARTICIPANT_ADDED")
# A bokmål word each event's texts name it by.
EVENT_WORD = {
    "MESSAGE_TO_ME": "melding",
    "GOAL_OR_ACTIVITY": "mål",
    "COMMENT": "kommentar",
    "CALENDAR_ENTRY": "kalender",
    "PARTICIPANT_ADDED": "deltaker",
}
ENGLISH = re.compile(r"\b(the|you|your|new|message|goal|comment|calendar|participant)\b", re.I)

SET_NOTIFICATION = """mutation($id: ID!, $event: NotificationEvent!, $sms: Boolean!,
  $email: Boolean!) { setNotification(participantId: $id, event: $event, sms: $sms,
  email: $email) { id notifications { event sms email } } }"""
MY_SETTINGS = """query($p: ID!) { plan(id: $p) { myParticipation {
  notifications { event sms email } } } }"""
POST_MESSAGE = """mutation($p: ID!, $body: String!, $to: [ID!]) {
  postMessage(planId: $p, body: $body, recipientIds: $to) { id } }"""

# Plan content the notifications must never carry.
MESSAGE_BODY = "Tannlegetimen til Ingrid flyttes til tirsdag"
GOAL_TITLE = "Fullføre videregående skole"
ACTIVITY_TITLE = "Leksehjelp hver onsdag"
COMMENT_BODY = "Flott fremgang med matematikken"
CALENDAR_TITLE = "Ansvarsgruppemøte om skolegang"
CALENDAR_PLACE = "Haukeland helsestasjon"

DEFAULT_GRANT: dict[str, object] = {
    "participants": "READ",
    "goals": "READ",
    "activities": "READ",
    "messages": "WRITE",
    "calendar": "READ",
    "documents": "READ",
}


@dataclass
class Inbox:
    """What reached the SMTP server and the SMS gateway."""

    smtp: Mailbox
    sms: SmsGateway

    def emails(self) -> Counter[str]:
        return Counter(str(m["To"]) for m in self.smtp.messages)

    def texts(self) -> Counter[str]:
        return Counter(r["to"] for r in self.sms.received)

    def everything(self) -> list[str]:
        """Every text that went out: subjects, bodies and SMS."""
        found = [str(m["Subject"]) for m in self.smtp.messages]
        found += [m.get_content() for m in self.smtp.messages]
        found += [r["text"] for r in self.sms.received]
        return found

    def clear(self) -> None:
        self.smtp.messages.clear()
        self.sms.received.clear()
        self.sms.auth.clear()


async def flush(gateway: Gateway, inbox: Inbox) -> None:
    """Send what is queued (e.g. from building the world), then forget it."""
    await gateway.deliver()
    inbox.clear()


async def deliver(gateway: Gateway, inbox: Inbox) -> tuple[Counter[str], Counter[str]]:
    await gateway.deliver()
    return inbox.emails(), inbox.texts()


def email_of(w: PlanWorld, key: str) -> str:
    address = w.actors[key].user.email
    assert address
    return address


def mobile_of(w: PlanWorld, key: str) -> str:
    number = w.actors[key].user.mobile
    assert number
    return number


async def add_person(
    w: PlanWorld, key: str, role: str, n: int, rights: dict[str, object] | None = None
) -> None:
    """Another participant, with every contact field, added by the coordinator."""
    gateway = w.gateway
    tag = w.short_name.split()[-1]
    user = await quick_user(
        gateway.pool,
        f"{key}-{tag}",
        first_name=key.capitalize(),
        last_name=f"Brattberg{tag}",
        now=gateway.clock(),
        **contact_fields(key, tag, n),
    )
    w.actors[key] = Actor(key, user, await session_for(gateway.pool, user, gateway.clock()))
    added = ok(
        await w.post(
            COORDINATOR,
            ADD_PARTICIPANT,
            {"p": w.plan_id, "who": w.person_id(key), "role": role, "rights": rights},
        ),
        f"add {key}",
    )
    w.participant_ids[key] = added["addParticipant"]["id"]


async def choose(w: PlanWorld, key: str, event: str, *, sms: bool, email: bool) -> None:
    """The participant's own choice (nobody else may set it)."""
    body = await w.post(
        key,
        SET_NOTIFICATION,
        {"id": w.participant_ids[key], "event": event, "sms": sms, "email": email},
    )
    settings = ok(body, f"setNotification {key}")["setNotification"]["notifications"]
    assert {"event": event, "sms": sms, "email": email} in settings


async def person_names(w: PlanWorld) -> list[str]:
    """Every first and last name in the world, as stored."""
    async with w.gateway.pool.acquire() as conn:
        records = await conn.fetch(
            "SELECT first_name, last_name FROM persons WHERE id = ANY($1)",
            [a.user.person_id for a in w.actors.values()],
        )
    return [name for r in records for name in (r["first_name"], r["last_name"])]


async def assert_no_plan_content(w: PlanWorld, texts: list[str]) -> None:
    """Nothing of the plan: no content, no plan name or id, no person's name or address."""
    assert texts
    tag = w.short_name.split()[-1]
    forbidden = [
        MESSAGE_BODY,
        GOAL_TITLE,
        ACTIVITY_TITLE,
        COMMENT_BODY,
        CALENDAR_TITLE,
        CALENDAR_PLACE,
        w.short_name,
        tag,
        w.plan_id,
        *(await person_names(w)),
        *(a.user.email or "" for a in w.actors.values()),
    ]
    # Single distinctive words of the content too (a partial quote is still content).
    content = (MESSAGE_BODY, GOAL_TITLE, ACTIVITY_TITLE, COMMENT_BODY, CALENDAR_TITLE)
    for sentence in (*content, CALENDAR_PLACE):
        forbidden += [word for word in sentence.split() if len(word) > 5]
    for text in texts:
        lowered = text.lower()
        for word in forbidden:
            assert word.lower() not in lowered, (word, text)


def assert_bokmal(texts: list[str], event: str) -> None:
    for text in texts:
        assert EVENT_WORD[event] in text.lower(), (event, text)
        assert not ENGLISH.search(text), text


async def notification_world(gateway: Gateway, inbox: Inbox) -> PlanWorld:
    w = await build_world(gateway, default_grant=DEFAULT_GRANT)
    await flush(gateway, inbox)
    return w


# --- messages -------------------------------------------------------------------------------


async def test_a_group_message_notifies_each_participant_by_their_settings(
    gateway: Gateway, smtp: Mailbox, sms: SmsGateway
) -> None:
    inbox = Inbox(smtp, sms)
    w = await build_world(
        gateway, default_grant=DEFAULT_GRANT, consent_expires_on={GUARDIAN: today_of(gateway)}
    )
    await add_person(w, "muted", "RELATIVE", 20, rights={"messages": "NONE"})
    await add_person(w, "quiet", "SERVICE_PROVIDER", 21)

    # The defaults: e-mail on, SMS off for a message to me.
    settings = ok(await w.post(SERVICE_PROVIDER, MY_SETTINGS, {"p": w.plan_id}), "settings")
    mine = settings["plan"]["myParticipation"]["notifications"]
    assert [s["event"] for s in mine] == list(EVENTS)
    assert {"event": "MESSAGE_TO_ME", "sms": False, "email": True} in mine

    for key in (OWNER, COORDINATOR, GUARDIAN, "muted"):
        await choose(w, key, "MESSAGE_TO_ME", sms=True, email=True)
    await choose(w, RELATIVE, "MESSAGE_TO_ME", sms=True, email=False)
    await choose(w, "quiet", "MESSAGE_TO_ME", sms=False, email=False)
    # The guardian's own consent runs out.
    gateway.clock.advance(days=1)
    await w.renew_sessions()
    await flush(gateway, inbox)

    ok(await w.post(COORDINATOR, POST_MESSAGE, {"p": w.plan_id, "body": MESSAGE_BODY}), "post")
    emails, texts = await deliver(gateway, inbox)
    assert emails == Counter([email_of(w, OWNER), email_of(w, SERVICE_PROVIDER)])
    assert texts == Counter([mobile_of(w, OWNER), mobile_of(w, RELATIVE)])
    assert sms.auth == ["Bearer sms-secret"] * 2
    assert_bokmal(inbox.everything(), "MESSAGE_TO_ME")
    await assert_no_plan_content(w, inbox.everything())

    # Nothing more goes out later.
    gateway.clock.advance(hours=1)
    assert await gateway.deliver() == 0
    assert (inbox.emails(), inbox.texts()) == (emails, texts)


async def test_a_message_to_chosen_recipients_notifies_only_them(
    gateway: Gateway, smtp: Mailbox, sms: SmsGateway
) -> None:
    inbox = Inbox(smtp, sms)
    w = await notification_world(gateway, inbox)
    for key in (OWNER, COORDINATOR, GUARDIAN, SERVICE_PROVIDER):
        await choose(w, key, "MESSAGE_TO_ME", sms=True, email=True)

    to = [w.participant_ids[RELATIVE], w.participant_ids[GUARDIAN]]
    ok(
        await w.post(
            SERVICE_PROVIDER, POST_MESSAGE, {"p": w.plan_id, "body": MESSAGE_BODY, "to": to}
        ),
        "post",
    )
    emails, texts = await deliver(gateway, inbox)
    # The relative by the default (e-mail), the guardian by both; owner and coordinator,
    # who may read the message, were not written to and hear nothing; nor does the author.
    assert emails == Counter([email_of(w, RELATIVE), email_of(w, GUARDIAN)])
    assert texts == Counter([mobile_of(w, GUARDIAN)])
    await assert_no_plan_content(w, inbox.everything())

    # A message to the author alone (allowed) notifies nobody.
    inbox.clear()
    ok(
        await w.post(
            SERVICE_PROVIDER,
            POST_MESSAGE,
            {"p": w.plan_id, "body": MESSAGE_BODY, "to": [w.participant_ids[SERVICE_PROVIDER]]},
        ),
        "post",
    )
    assert await deliver(gateway, inbox) == (Counter(), Counter())


# --- goals, activities, comments, calendar, participants ------------------------------------


async def test_content_events_notify_by_each_participant_s_settings(
    gateway: Gateway, smtp: Mailbox, sms: SmsGateway
) -> None:
    inbox = Inbox(smtp, sms)
    no_sections = {s: "NONE" for s in ("participants", "goals", "activities", "calendar")}
    w = await build_world(gateway, default_grant=DEFAULT_GRANT, rights={GUARDIAN: no_sections})
    await flush(gateway, inbox)
    # Owner and coordinator want everything; so does the guardian, who may read none of it.
    for key in (OWNER, COORDINATOR, GUARDIAN):
        for event in EVENTS:
            await choose(w, key, event, sms=True, email=True)
    await choose(w, SERVICE_PROVIDER, "GOAL_OR_ACTIVITY", sms=False, email=True)
    await choose(w, SERVICE_PROVIDER, "COMMENT", sms=True, email=False)
    await choose(w, SERVICE_PROVIDER, "CALENDAR_ENTRY", sms=False, email=False)
    # The relative keeps the defaults: calendar and new participants by e-mail, nothing else.
    owner, coord = email_of(w, OWNER), email_of(w, COORDINATOR)
    sp, relative = email_of(w, SERVICE_PROVIDER), email_of(w, RELATIVE)
    owner_sms, coord_sms, sp_sms = (mobile_of(w, k) for k in (OWNER, COORDINATOR, SERVICE_PROVIDER))
    sent: list[str] = []

    async def expect(event: str, emails: list[str], texts: list[str]) -> None:
        got = await deliver(gateway, inbox)
        assert got == (Counter(emails), Counter(texts)), event
        assert_bokmal(inbox.everything(), event)
        sent.extend(inbox.everything())
        inbox.clear()

    pid = w.plan_id
    goal = ok(
        await w.post(
            COORDINATOR,
            "mutation($p: ID!, $t: String!) { addGoal(planId: $p, title: $t) { id } }",
            {"p": pid, "t": GOAL_TITLE},
        ),
        "addGoal",
    )["addGoal"]["id"]
    await expect("GOAL_OR_ACTIVITY", [owner, sp], [owner_sms])

    ok(
        await w.post(
            COORDINATOR,
            'mutation($g: ID!) { updateGoal(id: $g, status: "IN_PROGRESS") { id } }',
            {"g": goal},
        ),
        "updateGoal",
    )
    await expect("GOAL_OR_ACTIVITY", [owner, sp], [owner_sms])

    ok(
        await w.post(
            COORDINATOR,
            "mutation($g: ID!, $t: String!) { addActivity(goalId: $g, title: $t) { id } }",
            {"g": goal, "t": ACTIVITY_TITLE},
        ),
        "addActivity",
    )
    await expect("GOAL_OR_ACTIVITY", [owner, sp], [owner_sms])

    # The owner comments: the coordinator hears of it, the owner does not.
    ok(
        await w.post(
            OWNER,
            "mutation($g: ID!, $b: String!) { addComment(goalId: $g, body: $b) { id } }",
            {"g": goal, "b": COMMENT_BODY},
        ),
        "addComment",
    )
    await expect("COMMENT", [coord], [coord_sms, sp_sms])

    ok(
        await w.post(
            COORDINATOR,
            "mutation($p: ID!, $t: String!, $l: String) { addCalendarEntry(planId: $p,"
            ' title: $t, startsAt: "2026-12-03T10:00:00+01:00", location: $l) { id } }',
            {"p": pid, "t": CALENDAR_TITLE, "l": CALENDAR_PLACE},
        ),
        "addCalendarEntry",
    )
    await expect("CALENDAR_ENTRY", [owner, relative], [owner_sms])

    # A new participant: everyone who may read the plan group, by their settings; not the
    # new person, not the coordinator who added them.
    await add_person(w, "nykommer", "SERVICE_PROVIDER", 22)
    await expect("PARTICIPANT_ADDED", [owner, sp, relative], [owner_sms])

    await assert_no_plan_content(w, sent)


async def test_a_participant_s_settings_are_their_own(
    gateway: Gateway, smtp: Mailbox, sms: SmsGateway
) -> None:
    inbox = Inbox(smtp, sms)
    w = await notification_world(gateway, inbox)
    body = await w.post(
        COORDINATOR,
        SET_NOTIFICATION,
        {"id": w.participant_ids[RELATIVE], "event": "MESSAGE_TO_ME", "sms": True, "email": False},
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    ok(await w.post(COORDINATOR, POST_MESSAGE, {"p": w.plan_id, "body": MESSAGE_BODY}), "post")
    emails, texts = await deliver(gateway, inbox)
    assert email_of(w, RELATIVE) in emails  # still the default: e-mail
    assert mobile_of(w, RELATIVE) not in texts


# --- delivery: SMTP down, then up ------------------------------------------------------------


async def test_smtp_down_loses_nothing_and_each_notification_arrives_once(
    gateway: Gateway, smtp: Mailbox, sms: SmsGateway
) -> None:
    inbox = Inbox(smtp, sms)
    w = await notification_world(gateway, inbox)
    await choose(w, OWNER, "MESSAGE_TO_ME", sms=True, email=True)
    await choose(w, RELATIVE, "MESSAGE_TO_ME", sms=True, email=False)
    await choose(w, OWNER, "GOAL_OR_ACTIVITY", sms=False, email=True)
    smtp.stop()

    ok(await w.post(COORDINATOR, POST_MESSAGE, {"p": w.plan_id, "body": MESSAGE_BODY}), "post")
    ok(
        await w.post(
            COORDINATOR,
            "mutation($p: ID!, $t: String!) { addGoal(planId: $p, title: $t) { id } }",
            {"p": w.plan_id, "t": GOAL_TITLE},
        ),
        "addGoal",
    )
    want_emails = Counter(
        [
            email_of(w, OWNER),  # the message
            email_of(w, SERVICE_PROVIDER),  # the message, by default
            email_of(w, GUARDIAN),  # the message, by default
            email_of(w, OWNER),  # the goal
        ]
    )
    want_texts = Counter([mobile_of(w, OWNER), mobile_of(w, RELATIVE)])

    async def waiting() -> list[tuple[str, int]]:
        async with gateway.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT recipient, attempts, last_error FROM outbox WHERE sent_at IS NULL"
            )
        assert all(r["last_error"] for r in rows)
        return sorted((r["recipient"], r["attempts"]) for r in rows)

    # Down: the SMS go out, the e-mails wait with their error.
    assert await gateway.deliver() == 2
    assert await waiting() == sorted((e, 1) for e in want_emails.elements())
    assert await gateway.deliver() == 0  # not again before the backoff
    gateway.clock.advance(seconds=backoff(0).total_seconds() + 1)
    assert await gateway.deliver() == 0  # tried again, still down
    assert await waiting() == sorted((e, 2) for e in want_emails.elements())
    assert inbox.texts() == want_texts
    assert smtp.messages == []

    # Up, but the backoff has not passed: still nothing; then each one exactly once.
    smtp.start()
    assert await gateway.deliver() == 0
    assert smtp.messages == []
    gateway.clock.advance(seconds=backoff(1).total_seconds() + 1)
    assert await gateway.deliver() == 4
    for _ in range(3):
        assert await gateway.deliver() == 0
    gateway.clock.advance(hours=2)
    assert await gateway.deliver() == 0
    assert inbox.emails() == want_emails
    assert inbox.texts() == want_texts
    async with gateway.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
    await assert_no_plan_content(w, inbox.everything())


# --- the outbox row belongs to the event's transaction -------------------------------------


async def outbox_rows(gateway: Gateway) -> int:
    async with gateway.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM outbox"))


async def test_a_refused_write_leaves_no_outbox_row(
    gateway: Gateway, smtp: Mailbox, sms: SmsGateway
) -> None:
    inbox = Inbox(smtp, sms)
    w = await build_world(
        gateway,
        default_grant={**DEFAULT_GRANT, "messages": "READ"},
        rights={SERVICE_PROVIDER: {"messages": "WRITE"}},
    )
    await flush(gateway, inbox)
    for key in (OWNER, COORDINATOR, RELATIVE, GUARDIAN):
        await choose(w, key, "MESSAGE_TO_ME", sms=True, email=True)
    before = await outbox_rows(gateway)
    refused: list[tuple[str, dict[str, Any]]] = [
        (SERVICE_PROVIDER, {"p": w.plan_id, "body": MESSAGE_BODY, "to": [w.plan_id]}),
        (SERVICE_PROVIDER, {"p": w.plan_id, "body": " "}),
        (RELATIVE, {"p": w.plan_id, "body": MESSAGE_BODY}),  # READ only
    ]
    for who, variables in refused:
        body = await w.post(who, POST_MESSAGE, variables)
        assert body["data"] is None and body["errors"], body
        assert await outbox_rows(gateway) == before, variables
    await w.end_plan()
    body = await w.post(COORDINATOR, POST_MESSAGE, {"p": w.plan_id, "body": MESSAGE_BODY})
    assert body["errors"][0]["extensions"]["reason"] == "PLAN_ENDED"
    assert await outbox_rows(gateway) == before
    assert await deliver(gateway, inbox) == (Counter(), Counter())


REFUSE_AT_COMMIT = """
CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'refused at commit by the test'; END $$;
CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON {table}
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();
"""


async def test_an_event_that_fails_at_commit_takes_its_outbox_rows_with_it(
    gateway: Gateway, smtp: Mailbox, sms: SmsGateway
) -> None:
    """The event's row is refused only when the transaction commits, after the outbox rows
    were written: if they were written anywhere but in that transaction they would stay."""
    inbox = Inbox(smtp, sms)
    w = await notification_world(gateway, inbox)
    for key in (OWNER, RELATIVE, SERVICE_PROVIDER):
        await choose(w, key, "MESSAGE_TO_ME", sms=True, email=True)
        await choose(w, key, "GOAL_OR_ACTIVITY", sms=True, email=True)
    await choose(w, GUARDIAN, "MESSAGE_TO_ME", sms=False, email=False)
    add_goal = "mutation($p: ID!, $t: String!) { addGoal(planId: $p, title: $t) { id } }"
    cases = [
        ("messages", POST_MESSAGE, {"p": w.plan_id, "body": MESSAGE_BODY}),
        ("goals", add_goal, {"p": w.plan_id, "t": GOAL_TITLE}),
    ]
    for table, query, variables in cases:
        async with gateway.pool.acquire() as conn:
            await conn.execute(REFUSE_AT_COMMIT.format(table=table))
        before = await outbox_rows(gateway)
        body = await w.post(COORDINATOR, query, variables)
        assert body["data"] is None and body["errors"], body
        assert await outbox_rows(gateway) == before, table
        async with gateway.pool.acquire() as conn:
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0
            await conn.execute(
                f"DROP TRIGGER refuse_at_commit ON {table}; DROP FUNCTION refuse_at_commit()"
            )
        assert await deliver(gateway, inbox) == (Counter(), Counter()), table

        # The same write, now allowed to commit, queues one e-mail and one SMS for each.
        ok(await w.post(COORDINATOR, query, variables), table)
        assert await outbox_rows(gateway) == before + 6, table
        emails, texts = await deliver(gateway, inbox)
        assert emails == Counter(email_of(w, k) for k in (OWNER, RELATIVE, SERVICE_PROVIDER))
        assert texts == Counter(mobile_of(w, k) for k in (OWNER, RELATIVE, SERVICE_PROVIDER))
        inbox.clear()
