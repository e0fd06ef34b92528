"""Scheduled jobs: the consent-expiry warnings (samtykke utløper), the archive routine and
retention (expired rows purged)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import asyncpg

from db import archives, consent_proposals, log_partitions, reports, retention, revisions
from db.pool import Conn
from resolvers import lifecycle, notify, texts
from resolvers.audit_trail import audited
from resolvers.auth import SESSION_IDLE
from resolvers.context import Clock, Context
from resolvers.loaders import Loaders
from resolvers.policy.consent import CUT_OFF

if TYPE_CHECKING:
    from gateway.settings import Settings

log = logging.getLogger("plangruppe.jobs")

THRESHOLDS = (30, 7)
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


# A reminder claimed once, whatever process claims it: (what it is about, days left, the
# address to tell or None), in the claiming transaction.
Claim = Callable[[Conn, dt.date, dt.datetime], Awaitable[Sequence[tuple[object, int, str | None]]]]


async def _mail_claimed(
    pool: asyncpg.Pool, clock: Clock, claim: Claim, text: Callable[[int], texts.Text]
) -> int:
    """Claim what is due today and queue its e-mail in the same transaction: a reminder is
    sent once even with several processes running the job at once."""
    now = clock()
    sent = 0
    async with pool.acquire() as conn, conn.transaction():
        for _about, days_left, email in await claim(conn, now.astimezone(OSLO).date(), now):
            if email:
                await notify.queue_email(conn, email, text(days_left), now)
                sent += 1
    return sent


async def remind_revisions(pool: asyncpg.Pool, clock: Clock) -> int:
    """Tell coordinators 30 and 7 days before a plan's revision date and on the day, once
    each (db/revisions.claim_reminders)."""
    return await _mail_claimed(pool, clock, revisions.claim_reminders, texts.revision_reminder)


async def remind_consent_givers(pool: asyncpg.Pool, clock: Clock) -> int:
    """The owner (or the parent or verge who gave it) is reminded too, 30 days before a
    consent expires; once per consent."""
    return await _mail_claimed(
        pool, clock, consent_proposals.claim_owner_reminders, texts.consent_expiring_owner
    )


# Samspill's rule: every active plan is archived at least twice a year.
ARCHIVE_EVERY = dt.timedelta(days=182)
ARCHIVES_PER_RUN = 25


async def archive_due(pool: asyncpg.Pool, settings: Settings, clock: Clock) -> int:
    """The archive routine: snapshots of the plans that are due (ARCHIVE_EVERY since the last,
    or ended without one since), a few per run; each plan locked while it is archived, so
    processes running the job at once never archive one plan twice."""
    ctx = _system_context(pool, settings, clock)
    done = 0
    async with pool.acquire() as conn, conn.transaction():
        due = await archives.due_for_archive(conn, clock() - ARCHIVE_EVERY, ARCHIVES_PER_RUN)
        for plan_id in due:
            await lifecycle.archive_snapshot(conn, ctx, plan_id, "Arkivert automatisk")
            done += 1
    return done


async def purge_expired(pool: asyncpg.Pool, settings: Settings, clock: Clock) -> int:
    """Retention: rows past their time (db/retention.py, the settings' periods) go, and so
    does the content of plans that ended longer ago than their retention (archives stay)."""
    ctx = _system_context(pool, settings, clock)
    now = clock()
    async with pool.acquire() as conn, conn.transaction():
        gone = await retention.purge(conn, now, settings.retention, SESSION_IDLE)
        emptied = await retention.purge_plan_content(
            conn, now.astimezone(OSLO).date(), now, settings.retention
        )
        for plan_id in emptied:
            await audited(conn, ctx, "plan.content_purged", target=plan_id, actor_id=None)
        # The logs' partitions for the months ahead, so no month falls into the default one.
        gone["log_partitions_made"] = await log_partitions.ensure(conn, now.astimezone(OSLO).date())
    gone["plans_emptied"] = len(emptied)
    total = sum(gone.values())
    if total:
        log.info("retention: deleted %s", {k: v for k, v in gone.items() if v})
    return total


def _system_context(pool: asyncpg.Pool, settings: Settings, clock: Clock) -> Context:
    """The context of the scheduled jobs' own acts (audited without an actor)."""
    return Context(
        pool=pool,
        settings=settings,
        clock=clock,
        viewer=None,
        client_addr=None,
        loaders=Loaders(pool, None),
    )


async def run_forever(
    pool: asyncpg.Pool,
    clock: Clock,
    interval: float = 3600.0,
    on_run: Callable[[str, bool], None] | None = None,
    settings: Settings | None = None,
) -> None:
    """Hourly; the job itself decides what is due today and never repeats a warning.
    ``on_run(job, ok)`` is told of every run (the metrics). With ``settings`` the archive
    routine runs too."""

    async def run(job: str, work: Callable[[], Awaitable[str | None]]) -> None:
        try:
            done = await work()
        except (OSError, asyncpg.PostgresError) as exc:
            log.error("%s job failed, will try again: %s", job, exc)
            ok = False
        else:
            if done:
                log.info("%s: %s", job, done)
            ok = True
        if on_run is not None:
            on_run(job, ok)

    async def archive() -> str | None:
        assert settings is not None
        archived = await archive_due(pool, settings, clock)
        return f"archived {archived} plans" if archived else None

    async def purge() -> str | None:
        assert settings is not None
        await purge_expired(pool, settings, clock)  # logs what it deleted itself
        return None

    async def consent_expiry() -> str | None:
        count = await warn_expiring_consents(pool, clock)
        await remind_revisions(pool, clock)
        await remind_consent_givers(pool, clock)
        return f"queued {count} consent-expiry warnings" if count else None

    while True:
        if settings is not None:
            await run("archive", archive)
            await run("retention", purge)
        await run("consent_expiry", consent_expiry)
        await asyncio.sleep(interval)
