"""The monthly partitions of the access log and the audit log (migration 0016): made ahead by
the scheduled job, dropped whole when older than their retention by `plangruppe
drop-log-partitions` (never a row UPDATE or DELETE: both logs are append-only)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from db.pool import Conn

LOGS = ("access_log", "audit_log")
AHEAD_MONTHS = 3
_NAME = re.compile(r"^(access_log|audit_log)_(\d{4})_(\d{2})$")


@dataclass(frozen=True, order=True)
class Partition:
    year: int
    month: int
    log: str

    @property
    def name(self) -> str:
        return f"{self.log}_{self.year:04d}_{self.month:02d}"


async def ensure(conn: Conn, today: dt.date, ahead: int = AHEAD_MONTHS) -> int:
    """Partitions for this month and ``ahead`` more; how many were made."""
    made: int = await conn.fetchval(
        "SELECT log_partitions_ensure($1::date, $2)", today.replace(day=1), ahead
    )
    return made


async def monthly(conn: Conn) -> list[Partition]:
    records = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY($1::text[])",
        list(LOGS),
    )
    found = []
    for r in records:
        match = _NAME.match(r["relname"])
        if match:
            found.append(Partition(int(match[2]), int(match[3]), match[1]))
    return sorted(found)


async def drop_before(conn: Conn, year: int, month: int) -> list[str]:
    """Drop (detach, then drop) every monthly partition of both logs before that month."""
    dropped = []
    for part in await monthly(conn):
        if (part.year, part.month) < (year, month):
            await conn.execute(f'ALTER TABLE "{part.log}" DETACH PARTITION "{part.name}"')
            await conn.execute(f'DROP TABLE "{part.name}"')
            dropped.append(part.name)
    return dropped
