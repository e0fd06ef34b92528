"""The access log (innsyn i logg): who read which plan section or person's data, when."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from db.pool import Conn
from resolvers.policy.facts import OWNER


@dataclass(frozen=True)
class Read:
    plan_id: uuid.UUID | None
    subject_id: uuid.UUID | None
    what: str


@dataclass(frozen=True)
class LogRow:
    id: int
    at: dt.datetime
    viewer_id: uuid.UUID
    plan_id: uuid.UUID | None
    what: str


async def record(
    conn: Conn,
    reads: Iterable[Read],
    *,
    viewer_id: uuid.UUID,
    at: dt.datetime,
    client_addr: str | None,
) -> None:
    rows = list(reads)
    if rows:
        # One statement, and one row per (plan, what) with the persons read as an array: a
        # plan list reads 50 owners' birth dates and writes one row.
        await conn.execute(
            "INSERT INTO access_log (at, viewer_id, plan_id, subject_ids, what, client_addr)"
            " SELECT $1, $2, r.plan_id, array_agg(r.subject_id ORDER BY r.subject_id)"
            "  FILTER (WHERE r.subject_id IS NOT NULL), r.what, $3"
            " FROM unnest($4::uuid[], $5::uuid[], $6::text[]) WITH ORDINALITY"
            "  AS r(plan_id, subject_id, what, ord)"
            " GROUP BY r.plan_id, r.what ORDER BY min(r.ord)",
            at,
            viewer_id,
            client_addr,
            [r.plan_id for r in rows],
            [r.subject_id for r in rows],
            [r.what for r in rows],
        )


# Reads of the plans a person owns and of their own data (about(), below).
ABOUT = (
    "SELECT id, at, viewer_id, plan_id, what FROM ("
    " (SELECT * FROM (SELECT l.id, l.at, l.viewer_id, l.plan_id, l.what FROM access_log l"
    "   WHERE l.subject_ids @> ARRAY[$1::uuid] AND l.viewer_id <> $1"
    "   AND ($3::bigint IS NULL OR l.id < $3) OFFSET 0) s ORDER BY s.id DESC LIMIT $2)"
    " UNION"
    " (SELECT r.* FROM participants o CROSS JOIN LATERAL"
    "   (SELECT l.id, l.at, l.viewer_id, l.plan_id, l.what FROM access_log l"
    "    WHERE l.plan_id = o.plan_id AND l.viewer_id <> $1"
    "    AND ($3::bigint IS NULL OR l.id < $3) ORDER BY l.id DESC LIMIT $2) r"
    f"   WHERE o.person_id = $1 AND o.role = '{OWNER}')"
    " UNION"
    " (SELECT r.* FROM unnest($4::uuid[]) AS rp(plan_id) CROSS JOIN LATERAL"
    "   (SELECT l.id, l.at, l.viewer_id, l.plan_id, l.what FROM access_log l"
    "    WHERE l.plan_id = rp.plan_id AND l.viewer_id <> $1"
    "    AND ($3::bigint IS NULL OR l.id < $3) ORDER BY l.id DESC LIMIT $2) r)"
    ") found ORDER BY id DESC LIMIT $2"
)


async def about(
    conn: Conn,
    person_id: uuid.UUID,
    first: int,
    before: int | None,
    represented: Sequence[uuid.UUID] = (),
) -> list[LogRow]:
    """Reads of the plans this person owns and of their own data, newest first (not their own).

    Two index-backed branches, each at most a page: reads of the person's data from the GIN
    index on subject_ids (fenced, so PostgreSQL takes that index rather than walking the whole
    log backwards by id; a page costs the person's reads, not the log's size), and reads of
    each plan they own from access_log_plan_idx in id order (a page costs a page)."""
    records = await conn.fetch(ABOUT, person_id, first, before, list(represented))
    return [LogRow(**dict(r)) for r in records]
