"""Plan content: goals, activities, comments, calendar entries and documents."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from db.pool import Conn

T = TypeVar("T")


@dataclass(frozen=True)
class GoalRow:
    id: uuid.UUID
    plan_id: uuid.UUID
    parent_id: uuid.UUID | None
    title: str
    description: str | None
    status: str
    responsible_id: uuid.UUID | None
    created_at: dt.datetime
    closed_on: dt.date | None = None
    evaluation: str | None = None
    serves_goal_id: uuid.UUID | None = None  # a goal of the IP above (linked plans)


@dataclass(frozen=True)
class ActivityRow:
    id: uuid.UUID
    plan_id: uuid.UUID
    goal_id: uuid.UUID
    title: str
    description: str | None
    status: str
    responsible_id: uuid.UUID | None
    start_date: dt.date | None
    end_date: dt.date | None


@dataclass(frozen=True)
class CommentRow:
    id: uuid.UUID
    plan_id: uuid.UUID
    goal_id: uuid.UUID | None
    activity_id: uuid.UUID | None
    author_id: uuid.UUID
    body: str
    created_at: dt.datetime


@dataclass(frozen=True)
class CalendarRow:
    id: uuid.UUID
    plan_id: uuid.UUID
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    location: str | None
    created_by: uuid.UUID
    updated_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    cancel_reason: str | None = None


@dataclass(frozen=True)
class DocumentRow:
    id: uuid.UUID
    plan_id: uuid.UUID
    name: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: uuid.UUID
    uploaded_at: dt.datetime
    withdrawn_at: dt.datetime | None = None


_GOAL = (
    "id, plan_id, parent_id, title, description, status, responsible_id, created_at, closed_on,"
    " evaluation, serves_goal_id"
)
_ACTIVITY = "id, plan_id, goal_id, title, description, status, responsible_id, start_date, end_date"
_COMMENT = "id, plan_id, goal_id, activity_id, author_id, body, created_at"
_CALENDAR = (
    "id, plan_id, title, starts_at, ends_at, location, created_by, updated_at, cancelled_at,"
    " cancel_reason"
)
_DOCUMENT = (
    "id, plan_id, name, content_type, size_bytes, sha256, uploaded_by, uploaded_at, withdrawn_at"
)


def _group(
    records: Sequence[asyncpg.Record], keys: Sequence[uuid.UUID], by: str, cls: type[T]
) -> dict[uuid.UUID, list[T]]:
    found: dict[uuid.UUID, list[T]] = {k: [] for k in keys}
    for r in records:
        found[r[by]].append(cls(**dict(r)))
    return found


async def goals_of_plans(
    conn: Conn, plan_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[GoalRow]]:
    records = await conn.fetch(
        f"SELECT {_GOAL} FROM goals WHERE plan_id = ANY($1) ORDER BY created_at, id", list(plan_ids)
    )
    return _group(records, plan_ids, "plan_id", GoalRow)


async def goals_by_ids(conn: Conn, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, GoalRow]:
    records = await conn.fetch(f"SELECT {_GOAL} FROM goals WHERE id = ANY($1)", list(ids))
    return {r["id"]: GoalRow(**dict(r)) for r in records}


async def activities_of_goals(
    conn: Conn, goal_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ActivityRow]]:
    records = await conn.fetch(
        f"SELECT {_ACTIVITY} FROM activities WHERE goal_id = ANY($1) ORDER BY created_at, id",
        list(goal_ids),
    )
    return _group(records, goal_ids, "goal_id", ActivityRow)


async def activities_by_ids(conn: Conn, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ActivityRow]:
    records = await conn.fetch(f"SELECT {_ACTIVITY} FROM activities WHERE id = ANY($1)", list(ids))
    return {r["id"]: ActivityRow(**dict(r)) for r in records}


async def comments_of_goals(
    conn: Conn, goal_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[CommentRow]]:
    records = await conn.fetch(
        f"SELECT {_COMMENT} FROM comments WHERE goal_id = ANY($1) ORDER BY created_at, id",
        list(goal_ids),
    )
    return _group(records, goal_ids, "goal_id", CommentRow)


async def comments_of_activities(
    conn: Conn, activity_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[CommentRow]]:
    records = await conn.fetch(
        f"SELECT {_COMMENT} FROM comments WHERE activity_id = ANY($1) ORDER BY created_at, id",
        list(activity_ids),
    )
    return _group(records, activity_ids, "activity_id", CommentRow)


CalendarKey = tuple[uuid.UUID, dt.datetime | None, dt.datetime | None]


async def calendar_of_plans(
    conn: Conn, keys: Sequence[CalendarKey]
) -> dict[CalendarKey, list[CalendarRow]]:
    """Entries per (plan, from, to); one statement for every key of the batch."""
    records = await conn.fetch(
        f"SELECT k.ord, {', '.join('e.' + c.strip() for c in _CALENDAR.split(','))}"
        " FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) WITH ORDINALITY"
        "  AS k(plan_id, since, until, ord)"
        " JOIN calendar_entries e ON e.plan_id = k.plan_id"
        "  AND (k.since IS NULL OR coalesce(e.ends_at, e.starts_at) >= k.since)"
        "  AND (k.until IS NULL OR e.starts_at < k.until)"
        " ORDER BY e.starts_at, e.id",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    found: dict[CalendarKey, list[CalendarRow]] = {k: [] for k in keys}
    for r in records:
        values = dict(r)
        key = keys[values.pop("ord") - 1]
        found[key].append(CalendarRow(**values))
    return found


async def documents_of_plans(
    conn: Conn, plan_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[DocumentRow]]:
    records = await conn.fetch(
        f"SELECT {_DOCUMENT} FROM documents WHERE plan_id = ANY($1) AND withdrawn_at IS NULL"
        " ORDER BY uploaded_at, id",
        list(plan_ids),
    )
    return _group(records, plan_ids, "plan_id", DocumentRow)


async def document(conn: Conn, document_id: uuid.UUID) -> DocumentRow | None:
    record = await conn.fetchrow(f"SELECT {_DOCUMENT} FROM documents WHERE id = $1", document_id)
    return DocumentRow(**dict(record)) if record else None


async def document_content(conn: Conn, document_id: uuid.UUID) -> bytes | None:
    content: bytes | None = await conn.fetchval(
        "SELECT content FROM document_contents WHERE document_id = $1", document_id
    )
    return content


# --- writes ------------------------------------------------------------------------------


async def insert_goal(conn: Conn, values: Mapping[str, Any], now: dt.datetime) -> GoalRow:
    record = await conn.fetchrow(
        "INSERT INTO goals (plan_id, parent_id, title, description, status, responsible_id,"
        " created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
        f" RETURNING {_GOAL}",
        values["plan_id"],
        values.get("parent_id"),
        values["title"],
        values.get("description"),
        values["status"],
        values.get("responsible_id"),
        values["created_by"],
        now,
    )
    assert record is not None
    return GoalRow(**dict(record))


async def update_goal(
    conn: Conn, goal_id: uuid.UUID, values: Mapping[str, object], now: dt.datetime
) -> GoalRow:
    sets = "".join(f", {c} = ${i}" for i, c in enumerate(values, start=3))
    record = await conn.fetchrow(
        f"UPDATE goals SET updated_at = $2{sets} WHERE id = $1 RETURNING {_GOAL}",
        goal_id,
        now,
        *values.values(),
    )
    assert record is not None
    return GoalRow(**dict(record))


async def insert_activity(conn: Conn, values: Mapping[str, Any], now: dt.datetime) -> ActivityRow:
    record = await conn.fetchrow(
        "INSERT INTO activities (plan_id, goal_id, title, description, status, responsible_id,"
        " start_date, end_date, created_by, created_at, updated_at)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {_ACTIVITY}",
        values["plan_id"],
        values["goal_id"],
        values["title"],
        values.get("description"),
        values["status"],
        values.get("responsible_id"),
        values.get("start_date"),
        values.get("end_date"),
        values["created_by"],
        now,
    )
    assert record is not None
    return ActivityRow(**dict(record))


async def update_activity(
    conn: Conn, activity_id: uuid.UUID, values: Mapping[str, object], now: dt.datetime
) -> ActivityRow:
    sets = "".join(f", {c} = ${i}" for i, c in enumerate(values, start=3))
    record = await conn.fetchrow(
        f"UPDATE activities SET updated_at = $2{sets} WHERE id = $1 RETURNING {_ACTIVITY}",
        activity_id,
        now,
        *values.values(),
    )
    assert record is not None
    return ActivityRow(**dict(record))


async def insert_comment(conn: Conn, values: Mapping[str, Any], now: dt.datetime) -> CommentRow:
    record = await conn.fetchrow(
        "INSERT INTO comments (plan_id, goal_id, activity_id, author_id, body, created_at)"
        f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COMMENT}",
        values["plan_id"],
        values.get("goal_id"),
        values.get("activity_id"),
        values["author_id"],
        values["body"],
        now,
    )
    assert record is not None
    return CommentRow(**dict(record))


async def insert_calendar_entry(
    conn: Conn, values: Mapping[str, Any], now: dt.datetime
) -> CalendarRow:
    record = await conn.fetchrow(
        "INSERT INTO calendar_entries (plan_id, title, starts_at, ends_at, location, created_by,"
        f" created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_CALENDAR}",
        values["plan_id"],
        values["title"],
        values["starts_at"],
        values.get("ends_at"),
        values.get("location"),
        values["created_by"],
        now,
    )
    assert record is not None
    return CalendarRow(**dict(record))


async def insert_document(
    conn: Conn, values: Mapping[str, Any], content: bytes, now: dt.datetime
) -> DocumentRow:
    record = await conn.fetchrow(
        "INSERT INTO documents (plan_id, name, content_type, size_bytes, sha256, uploaded_by,"
        f" uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_DOCUMENT}",
        values["plan_id"],
        values["name"],
        values["content_type"],
        len(content),
        values["sha256"],
        values["uploaded_by"],
        now,
    )
    assert record is not None
    await conn.execute(
        "INSERT INTO document_contents (document_id, content) VALUES ($1, $2)",
        record["id"],
        content,
    )
    return DocumentRow(**dict(record))


async def calendar_entry_for_update(conn: Conn, entry_id: uuid.UUID) -> CalendarRow | None:
    record = await conn.fetchrow(
        f"SELECT {_CALENDAR} FROM calendar_entries WHERE id = $1 FOR UPDATE", entry_id
    )
    return CalendarRow(**dict(record)) if record else None


async def update_calendar_entry(
    conn: Conn, entry_id: uuid.UUID, values: dict[str, object], now: dt.datetime
) -> CalendarRow:
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(values, start=3))
    record = await conn.fetchrow(
        f"UPDATE calendar_entries SET updated_at = $2{', ' if values else ''}{assignments}"
        f" WHERE id = $1 RETURNING {_CALENDAR}",
        entry_id,
        now,
        *values.values(),
    )
    assert record is not None
    return CalendarRow(**dict(record))


async def withdraw_document(
    conn: Conn, document_id: uuid.UUID, by: uuid.UUID, reason: str, now: dt.datetime
) -> None:
    """Out of the plan's documents and downloads; the bytes stay for the archive duty."""
    await conn.execute(
        "UPDATE documents SET withdrawn_at = $2, withdrawn_by = $3, withdraw_reason = $4"
        " WHERE id = $1",
        document_id,
        now,
        by,
        reason,
    )
