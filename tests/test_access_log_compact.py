"""The access log writes one row per request and (plan, what), the persons read as an array
(migration 0008): a plan list that reads 43 owners' birth dates writes one row, not 43, and
each owner still finds that read in their own log. Existing rows keep their content."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import asyncpg

from db import access_log, migrate
from db.access_log import Read
from tests.conftest import temporary_database

AT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


async def _persons(conn: asyncpg.Connection, n: int) -> list[uuid.UUID]:
    return [
        await conn.fetchval(
            "INSERT INTO persons (first_name, last_name) VALUES ($1, 'Logg') RETURNING id",
            f"P{i}",
        )
        for i in range(n)
    ]


async def _plan(conn: asyncpg.Connection, owner: uuid.UUID) -> uuid.UUID:
    plan_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO plans (short_name, type, start_date, changed_at, created_at)"
        " VALUES ('Plan', 'IP', '2026-01-01', now(), now()) RETURNING id"
    )
    await conn.execute(
        "INSERT INTO participants (plan_id, person_id, role, joined_on, created_at)"
        " VALUES ($1, $2, 'OWNER', '2026-01-01', now())",
        plan_id,
        owner,
    )
    return plan_id


async def test_one_request_writes_one_row_per_plan_and_what(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        viewer, *owners = await _persons(conn, 44)
        plan_id = await _plan(conn, owners[0])
        reads = [Read(None, owner, "person:BIRTH_DATE") for owner in owners]
        reads += [Read(plan_id, None, "goals"), Read(plan_id, None, "messages")]
        reads += [Read(None, owners[1], "person:MOBILE")]
        await access_log.record(conn, reads, viewer_id=viewer, at=AT, client_addr="203.0.113.9")

        rows = await conn.fetch(
            "SELECT plan_id, subject_ids, what, client_addr FROM access_log ORDER BY id"
        )
        assert [(r["plan_id"], r["what"]) for r in rows] == [
            (None, "person:BIRTH_DATE"),
            (plan_id, "goals"),
            (plan_id, "messages"),
            (None, "person:MOBILE"),
        ]
        assert sorted(rows[0]["subject_ids"]) == sorted(owners)
        assert rows[1]["subject_ids"] is None and rows[3]["subject_ids"] == [owners[1]]
        assert {r["client_addr"] for r in rows} == {"203.0.113.9"}

        # The view gives one row per read, as the log had before.
        expanded = await conn.fetch(
            "SELECT plan_id, subject_id, what FROM access_log_reads WHERE viewer_id = $1", viewer
        )
        assert sorted(
            (r["plan_id"] or uuid.UUID(int=0), r["subject_id"] or uuid.UUID(int=0), r["what"])
            for r in expanded
        ) == sorted(
            (r.plan_id or uuid.UUID(int=0), r.subject_id or uuid.UUID(int=0), r.what) for r in reads
        )

        # Each person finds the read of their own data; the owner also the plan's sections.
        for owner in owners[2:5]:
            found = await access_log.about(conn, owner, 10, None)
            assert [(r.viewer_id, r.what) for r in found] == [(viewer, "person:BIRTH_DATE")]
        mine = await access_log.about(conn, owners[0], 10, None)
        assert sorted(r.what for r in mine) == ["goals", "messages", "person:BIRTH_DATE"]
        second = await access_log.about(conn, owners[1], 10, None)
        assert sorted(r.what for r in second) == ["person:BIRTH_DATE", "person:MOBILE"]
        # Nobody finds a read of someone else, nor their own reads.
        assert await access_log.about(conn, viewer, 10, None) == []


async def test_migration_keeps_the_rows_written_before(
    pg_admin_dsn: str,
) -> None:
    """Rows of the one-row-per-read log (0004) come through 0008 with the same content, and
    the log stays append-only afterwards."""
    async with temporary_database(pg_admin_dsn, "t_log") as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for m in migrate.available():
                if m.version < 8:
                    await conn.execute(m.sql)
            viewer, subject = await _persons(conn, 2)
            plan_id = await _plan(conn, subject)
            await conn.execute(
                "INSERT INTO access_log (at, viewer_id, plan_id, subject_id, what, client_addr)"
                " VALUES ($1, $2, NULL, $3, 'person:EMAIL', 'a'), ($1, $2, $4, NULL, 'goals', 'b')",
                AT,
                viewer,
                subject,
                plan_id,
            )
            (m8,) = [m for m in migrate.available() if m.version == 8]
            await conn.execute(m8.sql)
            rows = await conn.fetch(
                "SELECT at, viewer_id, plan_id, subject_ids, what, client_addr"
                " FROM access_log ORDER BY id"
            )
            assert [tuple(r) for r in rows] == [
                (AT, viewer, None, [subject], "person:EMAIL", "a"),
                (AT, viewer, plan_id, None, "goals", "b"),
            ]
            try:
                await conn.execute("UPDATE access_log SET what = 'x'")
            except asyncpg.PostgresError:
                pass
            else:
                raise AssertionError("the access log took an UPDATE after the migration")
            assert await conn.fetchval("SELECT count(*) FROM access_log WHERE what = 'x'") == 0
        finally:
            await conn.close()


async def test_my_access_log_reads_its_indexes_not_the_whole_log(pool: asyncpg.Pool) -> None:
    """The page of a person's log comes from the subjects' GIN index and the plan index in id
    order, never from walking the whole log backwards by id (which a LIMIT tempts PostgreSQL
    into, and which costs the log's size for a person with few reads)."""
    async with pool.acquire() as conn:
        viewer, owner, other = await _persons(conn, 3)
        plan_id = await _plan(conn, owner)
        # A municipality's log: 200,000 reads of 1,000 plans and 1,000 persons; of the owner's
        # plan and of the other person 1 in 1,000 each.
        crowd = [
            r["id"]
            for r in await conn.fetch(
                "INSERT INTO persons (first_name, last_name)"
                " SELECT 'P' || n, 'Mengde' FROM generate_series(1, 1000) n RETURNING id"
            )
        ]
        plans = [
            r["id"]
            for r in await conn.fetch(
                "INSERT INTO plans (short_name, type, start_date, changed_at, created_at)"
                " SELECT 'Plan ' || n, 'IP', '2026-01-01', now(), now()"
                " FROM generate_series(1, 1000) n RETURNING id"
            )
        ]
        await conn.execute(
            "INSERT INTO access_log (at, viewer_id, plan_id, subject_ids, what)"
            " SELECT $1::timestamptz + n * interval '1 minute', $2,"
            "  CASE WHEN n % 2 = 0 THEN"
            "   (CASE WHEN n % 1000 = 0 THEN $3 ELSE ($4::uuid[])[1 + n % 1000] END) END,"
            "  CASE WHEN n % 2 = 1 THEN"
            "   ARRAY[CASE WHEN n % 1000 = 1 THEN $5 ELSE ($6::uuid[])[1 + n % 1000] END] END,"
            "  CASE WHEN n % 2 = 0 THEN 'goals' ELSE 'person:MOBILE' END"
            " FROM generate_series(1, 200000) n",
            AT,
            viewer,
            plan_id,
            plans,
            other,
            crowd,
        )
        await conn.execute("ANALYZE access_log")
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        for person in (owner, other, viewer):
            rows = await conn.fetch(
                "EXPLAIN (FORMAT JSON) " + access_log.ABOUT, person, 21, None, []
            )
            plan = json.dumps(rows[0][0])
            # Per monthly partition (migration 0016) the indexes are the partitions' own:
            # access_log_<month>_subject_ids_idx (GIN) and ..._plan_id_id_idx.
            assert "subject_ids_idx" in plan and "plan_id_id_idx" in plan, plan
            assert "_pkey" not in plan, plan
        page = await access_log.about(conn, owner, 21, None)
        assert len(page) == 21 and [r.id for r in page] == sorted(
            (r.id for r in page), reverse=True
        )
        assert {(r.plan_id, r.what) for r in page} == {(plan_id, "goals")}
        older = await access_log.about(conn, owner, 21, page[-1].id)
        assert older[0].id < page[-1].id
