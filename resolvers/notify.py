"""Notifications of plan events (e-mail, SMS) by each participant's own choices, written
to the outbox in the transaction of the event."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from db import outbox, persons, plans
from db.plans import ParticipantRow, PlanView
from db.pool import Conn
from resolvers import policy, texts
from resolvers.context import Context
from resolvers.policy.build import facts
from resolvers.secret_box import SecretBox

# Which section a participant must be able to read to hear of an event.
EVENT_SECTION = {
    "MESSAGE_TO_ME": "messages",
    "GOAL_OR_ACTIVITY": "goals",
    "COMMENT": "goals",
    "CALENDAR_ENTRY": "calendar",
    "PARTICIPANT_ADDED": "participants",
}
DEFAULTS = {
    "MESSAGE_TO_ME": (False, True),
    "GOAL_OR_ACTIVITY": (False, False),
    "COMMENT": (False, False),
    "CALENDAR_ENTRY": (False, True),
    "PARTICIPANT_ADDED": (False, True),
}


async def queue_email(
    conn: Conn,
    address: str,
    text: texts.Text,
    now: dt.datetime,
    *,
    secret_expires_at: dt.datetime | None = None,
    box: SecretBox | None = None,
) -> None:
    """An e-mail into the outbox, in the caller's transaction.

    A text that carries a one-time code or a link token passes ``secret_expires_at`` (when
    the code or link stops working) and ``box`` (``ctx.settings.secret_box``): its body is
    sealed at rest, it is never sent after that time, and it is cleared once delivered or
    expired (docs/secrets.md)."""
    await outbox.enqueue(
        conn,
        channel="EMAIL",
        recipient=address,
        subject=text.subject,
        body=_at_rest(text.body, secret_expires_at, box),
        now=now,
        secret_expires_at=secret_expires_at,
    )


async def queue_sms(
    conn: Conn,
    number: str,
    text: texts.Text,
    now: dt.datetime,
    *,
    secret_expires_at: dt.datetime | None = None,
    box: SecretBox | None = None,
) -> None:
    """An SMS into the outbox, in the caller's transaction; a secret as for queue_email."""
    await outbox.enqueue(
        conn,
        channel="SMS",
        recipient=number,
        subject="",
        body=_at_rest(text.body, secret_expires_at, box),
        now=now,
        secret_expires_at=secret_expires_at,
    )


def _at_rest(body: str, secret_expires_at: dt.datetime | None, box: SecretBox | None) -> str:
    """A secret's body sealed; everything else as it is."""
    if secret_expires_at is None:
        return body
    if box is None:
        raise ValueError("a secret is queued with the box that seals it (ctx.settings.secret_box)")
    return box.seal(body)


async def notify(
    conn: Conn,
    ctx: Context,
    view: PlanView,
    event: str,
    *,
    actor_id: uuid.UUID | None,
    only: Iterable[uuid.UUID] | None = None,
    section: str | None = None,
) -> int:
    """Queue the event for every participant who may read its section and chose to hear of
    it; ``only`` narrows to chosen participant ids. Returns how many messages were queued."""
    members = (await plans.participants_of(conn, [view.plan.id]))[view.plan.id]
    wanted = set(only) if only is not None else None
    today = ctx.today()
    plan = facts(view)
    audience: list[ParticipantRow] = []
    for member in members:
        if member.id == actor_id or (wanted is not None and member.id not in wanted):
            continue
        theirs = policy.PlanFacts(
            plan.plan_id,
            plan.ended,
            plan.consent,
            policy.Participation(member.id, member.role, member.rights, member.consent_expires_on),
        )
        if policy.section_denial(theirs, section or EVENT_SECTION[event], today) is None:
            audience.append(member)
    if not audience:
        return 0
    choices = await plans.notification_settings(conn, [m.id for m in audience])
    people = await persons.by_ids(conn, [m.person_id for m in audience])
    queued = 0
    now = ctx.now()
    for member in audience:
        sms, email = choices[member.id].get(event, DEFAULTS[event])
        person = people[member.person_id]
        if email and person.email:
            text = texts.event_email(event)
            await queue_email(conn, person.email, text, now)
            queued += 1
        if sms and person.mobile:
            text = texts.event_sms(event)
            await queue_sms(conn, person.mobile, text, now)
            queued += 1
    return queued
