"""A plan as one document: the canonical JSON of an archive, and what a print shows."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Set
from typing import Any

from db import content, messages, persons, plans
from db.messages import MessageRow
from db.pool import Conn
from resolvers import policy

ALL_SECTIONS = frozenset(policy.SECTIONS)


def _iso(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date | uuid.UUID):
        return str(value)
    return value


def canonical(document: dict[str, Any]) -> bytes:
    """Sorted keys, no insignificant white space, UTF-8: the same plan gives the same bytes."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_iso
    ).encode()


async def build(
    conn: Conn,
    plan_id: uuid.UUID,
    *,
    sections: Set[str] = ALL_SECTIONS,
    message_filter: Callable[[MessageRow], bool] = lambda _m: True,
    with_consent: bool = True,
) -> dict[str, Any]:
    """Everything of the plan in the given sections (an archive takes them all)."""
    view = (await plans.views(conn, None, [plan_id]))[plan_id]
    plan = view.plan
    members = await conn.fetch(
        "SELECT id, person_id, role, responsibility, joined_on, left_on FROM participants"
        " WHERE plan_id = $1 ORDER BY joined_on, id",
        plan_id,
    )
    people = await persons.by_ids(conn, [m["person_id"] for m in members])
    end_reason = await conn.fetchval("SELECT end_reason FROM plans WHERE id = $1", plan_id)
    doc: dict[str, Any] = {
        "format": "plangruppe-plan/1",
        "plan": {
            "id": plan.id,
            "shortName": plan.short_name,
            "type": plan.type,
            "status": plan.status,
            "startDate": plan.start_date,
            "endDate": plan.end_date,
            "endReason": end_reason,
            "revisionDate": plan.revision_date,
        },
        "owner": _name(people, next(m for m in members if m["role"] == policy.OWNER)["person_id"]),
    }
    if with_consent and view.consent:
        c = view.consent
        doc["consent"] = {
            "givenBy": _name(people, c.given_by) if c.given_by in people else str(c.given_by),
            "givenByRelation": c.given_by_relation,
            "givenOn": c.given_on,
            "expiresOn": c.expires_on,
            "revokedOn": c.revoked_on,
            "scope": c.scope,
            "defaultGrant": c.default_grant,
        }
    if "participants" in sections:
        doc["participants"] = [
            {
                "id": m["id"],
                "name": _name(people, m["person_id"]),
                "role": m["role"],
                "responsibility": m["responsibility"],
                "joinedOn": m["joined_on"],
                "leftOn": m["left_on"],
            }
            for m in members
        ]
    if "goals" in sections:
        doc["goals"] = await _goals(conn, plan_id, with_activities="activities" in sections)
    if "calendar" in sections:
        entries = (await content.calendar_of_plans(conn, [(plan_id, None, None)]))[
            (plan_id, None, None)
        ]
        doc["calendar"] = [
            {"title": e.title, "startsAt": e.starts_at, "endsAt": e.ends_at, "location": e.location}
            for e in entries
        ]
    if "messages" in sections:
        rows = await messages.since(conn, plan_id, None, dt.datetime.max.replace(tzinfo=dt.UTC))
        doc["messages"] = [
            {
                "id": r.id,
                "authorId": r.author_id,
                "body": r.body,
                "createdAt": r.created_at,
                "recipientIds": sorted(str(x) for x in r.recipient_ids)
                if r.recipient_ids
                else None,
                # Only when it happened, so earlier archives keep their shape.
                **({"editedAt": r.edited_at} if r.edited_at else {}),
                **({"withdrawnAt": r.withdrawn_at} if r.withdrawn_at else {}),
            }
            for r in sorted(rows, key=lambda r: r.seq)
            if message_filter(r)
        ]
    if "documents" in sections:
        docs = (await content.documents_of_plans(conn, [plan_id]))[plan_id]
        doc["documents"] = [
            {
                "name": d.name,
                "contentType": d.content_type,
                "sizeBytes": d.size_bytes,
                "sha256": d.sha256,
                "uploadedAt": d.uploaded_at,
            }
            for d in docs
        ]
    return json.loads(canonical(doc))  # type: ignore[no-any-return]


def _name(people: dict[uuid.UUID, persons.PersonRow], person_id: uuid.UUID) -> str:
    person = people[person_id]
    return f"{person.first_name} {person.last_name}"


async def _goals(conn: Conn, plan_id: uuid.UUID, *, with_activities: bool) -> list[dict[str, Any]]:
    goals = (await content.goals_of_plans(conn, [plan_id]))[plan_id]
    ids = [g.id for g in goals]
    activities = await content.activities_of_goals(conn, ids) if with_activities else {}
    comments = await content.comments_of_goals(conn, ids)

    def one(goal: content.GoalRow) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": goal.id,
            "title": goal.title,
            "description": goal.description,
            "status": goal.status,
            "createdAt": goal.created_at,
            "comments": [{"body": c.body, "createdAt": c.created_at} for c in comments[goal.id]],
            "subGoals": [one(s) for s in goals if s.parent_id == goal.id],
        }
        if with_activities:
            item["activities"] = [
                {
                    "title": a.title,
                    "description": a.description,
                    "status": a.status,
                    "startDate": a.start_date,
                    "endDate": a.end_date,
                }
                for a in activities[goal.id]
            ]
        return item

    return [one(g) for g in goals if g.parent_id is None]
