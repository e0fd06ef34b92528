"""Scheduled jobs: the consent-expiry warnings (samtykke utløper) and pruning of throttle rows."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

import asyncpg

from db import accounts, reports
from resolvers import notify, texts
from resolvers.context import Clock
from resolvers.policy.consent import CUT_OFF

log = logging.getLogger("plangruppe.jobs")

THRESHOLDS = (30, 7)
THROTTLE_ROWS_KEPT = dt.timedelta(days=1)
_LOCK_KEY = 0x636F6E73656E74  # any constant shared by every gateway process
OSLO = ZoneInfo("Europe/Oslo")


async def warn_expiring_consents(pool: asyncpg.Pool, clock: Clock) -> int | None:
    """Tell coordinators 30 and 7 days before a participant's consent expires, once per
    threshold. Safe to run from several processes: one runs, the others skip (None)."""
    now = clock()
    today = now.astimezone(OSLO).date()
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _LOCK_KEY):
            return None
        due = await reports.due_consent_warnings(conn, today, THRESHOLDS, cut_off=CUT_OFF)
        sent = 0
        by_participant: dict[object, list[dict[str, object]]] = {}
        for row in due:
            by_participant.setdefault(row["participant_id"], []).append(row)
        for participant_id, rows in by_participant.items():
            # Recorded for every threshold reached; one message, naming the nearest.
            nearest = min(int(str(r["threshold_days"])) for r in rows)
            recorded = False
            for r in rows:
                expires = r["expires_on"]
                assert isinstance(expires, dt.date)
                # Only a warning this run recorded is sent: idempotent even without the lock.
                recorded |= await reports.record_warning(
                    conn, participant_id, int(str(r["threshold_days"])), expires, now
                )
            email = rows[0]["coordinator_email"]
            if recorded and isinstance(email, str) and email:
                text = texts.consent_expiry_warning(nearest)
                await notify.queue_email(conn, email, text, now)
                sent += 1
        return sent


async def prune_throttle_rows(pool: asyncpg.Pool, clock: Clock) -> int:
    """Login attempts, reset requests and login challenges older than a day go: without
    this the tables grow with every attempt an attacker makes."""
    async with pool.acquire() as conn:
        return await accounts.prune_throttle_rows(conn, clock() - THROTTLE_ROWS_KEPT)


async def run_forever(
    pool: asyncpg.Pool,
    clock: Clock,
    interval: float = 3600.0,
    on_run: Callable[[str, bool], None] | None = None,
) -> None:
    """Hourly; the job itself decides what is due today and never repeats a warning.
    ``on_run(job, ok)`` is told of every run (the metrics)."""
    while True:
        try:
            count = await warn_expiring_consents(pool, clock)
            await prune_throttle_rows(pool, clock)
        except (OSError, asyncpg.PostgresError) as exc:
            log.error("consent-expiry job failed, will try again: %s", exc)
            if on_run is not None:
                on_run("consent_expiry", False)
        else:
            if on_run is not None:
                on_run("consent_expiry", True)
            if count:
                log.info("queued %s consent-expiry warnings", count)
        await asyncio.sleep(interval)
