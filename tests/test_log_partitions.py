"""The access log and the audit log, partitioned by month (migration 0016): rows land in their
month, both stay append-only on every partition, and `plangruppe drop-log-partitions` drops
whole months older than the retention, as one audited act, keeping everything newer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import asyncpg
import pytest

from db import log_partitions
from tests.test_cli import run


async def test_rows_land_in_their_month_and_stay_append_only(pool: asyncpg.Pool) -> None:
    now = dt.datetime.now(dt.UTC)
    async with pool.acquire() as conn:
        parts = {p.name for p in await log_partitions.monthly(conn)}
        for log in log_partitions.LOGS:
            assert f"{log}_{now:%Y_%m}" in parts
        await conn.execute("INSERT INTO audit_log (at, action) VALUES ($1, 'test.partition')", now)
        viewer = await conn.fetchval(
            "INSERT INTO persons (first_name, last_name) VALUES ('Les', 'Er') RETURNING id"
        )
        await conn.execute(
            "INSERT INTO access_log (at, viewer_id, what) VALUES ($1, $2, 'test')", now, viewer
        )
        home = await conn.fetchval(
            "SELECT tableoid::regclass::text FROM audit_log WHERE action = 'test.partition'"
        )
        assert home == f"audit_log_{now:%Y_%m}"
        for sql in (
            "UPDATE audit_log SET action = 'changed'",
            "DELETE FROM audit_log",
            f"DELETE FROM audit_log_{now:%Y_%m}",  # the partition itself, too
            "UPDATE access_log SET what = 'changed'",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(sql)


async def test_old_months_are_dropped_whole_and_newer_ones_kept(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with pool.acquire() as conn:
        for log in log_partitions.LOGS:
            await conn.execute(
                f"CREATE TABLE {log}_2012_03 PARTITION OF {log}"
                " FOR VALUES FROM ('2012-03-01') TO ('2012-04-01')"
            )
        await conn.execute(
            "INSERT INTO audit_log (at, action) VALUES ('2012-03-15', 'old.entry'),"
            " (now(), 'new.entry')"
        )
    listed = run(tmp_path, "drop-log-partitions", "--dry-run", DATABASE_URL=db_dsn)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["access_log_2012_03", "audit_log_2012_03"]
    dropped = run(tmp_path, "drop-log-partitions", DATABASE_URL=db_dsn)
    assert dropped.returncode == 0, dropped.stderr
    assert "dropped 2 partitions" in dropped.stdout
    async with pool.acquire() as conn:
        actions = {r["action"] for r in await conn.fetch("SELECT action FROM audit_log")}
        assert "old.entry" not in actions and {"new.entry", "logs.partitions_dropped"} <= actions
        assert await conn.fetchval("SELECT to_regclass('audit_log_2012_03')") is None
    bad = run(tmp_path, "drop-log-partitions", "--older-than-years", "0", DATABASE_URL=db_dsn)
    assert bad.returncode == 2
