"""The consent-expiry job (samtykke utløper): the coordinator hears 30 and 7 days before a
participant's consent runs out, once per threshold, however often and from however many
processes the job runs.

The job is `resolvers.jobs.warn_expiring_consents(pool, clock)`; the clock is the test's
FakeClock, moved instead of waited for. The warnings are rows of the outbox (delivered
once through the real SMTP server here), in Norwegian and without plan content or names.
`plangruppe run-jobs --once` runs the same job as a separate process on the wall clock.

The world (tests/plan_world.py) has one plan whose consent runs for a year; the service
provider's, the relative's and the guardian's own consent dates run out in 40, 29 and 6
days.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from db.pool import create_pool
from resolvers import jobs
from tests.conftest import Gateway, Mailbox
from tests.plan_world import (
    COORDINATOR,
    GUARDIAN,
    OWNER,
    RELATIVE,
    ROLES,
    SERVICE_PROVIDER,
    PlanWorld,
    build_world,
    ok,
    today_of,
)
from tests.support import FakeClock

ROOT = Path(__file__).resolve().parent.parent
CLI_TIMEOUT = 120.0
WAIT = 10.0  # any one database event
EXPIRES_IN = {SERVICE_PROVIDER: 40, RELATIVE: 29, GUARDIAN: 6}
ADD_GOAL = "mutation($p: ID!, $t: String!) { addGoal(planId: $p, title: $t) { id } }"


async def world_expiring(gateway: Gateway, **kwargs: Any) -> PlanWorld:
    today = today_of(gateway)
    world = await build_world(
        gateway,
        consent_expires_on={
            key: today + dt.timedelta(days=days) for key, days in EXPIRES_IN.items()
        },
        **kwargs,
    )
    ok(
        await world.post(COORDINATOR, ADD_GOAL, {"p": world.plan_id, "t": "Tursti til Ulriken"}),
        "addGoal",
    )
    return world


async def outbox(pool: asyncpg.Pool, after: int) -> list[asyncpg.Record]:
    """The outbox rows queued after `after` (the setup's own notifications come before)."""
    async with pool.acquire() as conn:
        return list(
            await conn.fetch(
                "SELECT id, channel, recipient, subject, body FROM outbox WHERE id > $1"
                " ORDER BY id",
                after,
            )
        )


async def mark(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        last: int = await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
    return last


async def warned(pool: asyncpg.Pool) -> set[tuple[uuid.UUID, int]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT participant_id, threshold_days FROM consent_warnings")
    return {(r["participant_id"], r["threshold_days"]) for r in rows}


def days_named(row: asyncpg.Record) -> int:
    """The threshold a warning names ("om 30 dager")."""
    found = re.findall(r"(\d+) dager", row["body"])
    assert len(found) == 1, row["body"]
    return int(found[0])


def assert_warning_text(world: PlanWorld, rows: list[asyncpg.Record]) -> None:
    """To the coordinator by e-mail, in Norwegian, with no plan content or names."""
    coordinator = world.actors[COORDINATOR].user
    forbidden = [world.short_name, world.plan_id, "Tursti", "Ulriken"]
    forbidden += list(world.responsibilities.values()) + list(world.participant_ids.values())
    for key in ROLES:
        actor = world.actors[key]
        forbidden += [actor.person_id, actor.user.username, f"W{world.short_name[5:]}"]
        forbidden.append(key.split("_")[0].capitalize())  # the first names of plan_world
    for row in rows:
        assert row["channel"] == "EMAIL" and row["recipient"] == coordinator.email, row
        text = f"{row['subject']}\n{row['body']}"
        assert "amtykke" in text and "utløper" in text, text  # Samtykke/samtykket utløper
        for secret in forbidden:
            assert secret not in text, (secret, text)


def participant(world: PlanWorld, key: str) -> uuid.UUID:
    return uuid.UUID(world.participant_ids[key])


async def test_each_warning_once_at_30_and_then_at_7_days(gateway: Gateway, smtp: Mailbox) -> None:
    world = await world_expiring(gateway)
    pool, clock = gateway.pool, gateway.clock
    await gateway.deliver()  # the setup's own notifications (participant added …)
    start = await mark(pool)

    # Day 0: the relative (29 days) crossed 30; the guardian (6 days) both 30 and 7, and
    # hears once, of the nearer one. The service provider (40 days) is not due.
    assert await jobs.warn_expiring_consents(pool, clock) == 2
    assert await jobs.warn_expiring_consents(pool, clock) == 0
    first = await outbox(pool, start)
    assert sorted(days_named(r) for r in first) == [7, 30]
    assert await warned(pool) == {
        (participant(world, RELATIVE), 30),
        (participant(world, GUARDIAN), 30),
        (participant(world, GUARDIAN), 7),
    }
    assert_warning_text(world, first)

    # Delivered once over real SMTP.
    assert await gateway.deliver() == 2
    assert await gateway.deliver() == 0
    assert len(smtp.bodies_to(str(world.actors[COORDINATOR].user.email))) == 2

    # Day 9: nothing new is due (the service provider is at 31 days).
    clock.advance(days=9)
    assert await jobs.warn_expiring_consents(pool, clock) == 0
    # Day 10: the service provider reaches 30 days.
    clock.advance(days=1)
    assert await jobs.warn_expiring_consents(pool, clock) == 1
    assert await jobs.warn_expiring_consents(pool, clock) == 0
    second = (await outbox(pool, start))[len(first) :]
    assert [days_named(r) for r in second] == [30]
    assert (participant(world, SERVICE_PROVIDER), 30) in await warned(pool)

    # Day 22: the relative reaches 7 days (the guardian's consent has run out: no more).
    clock.advance(days=11)
    assert await jobs.warn_expiring_consents(pool, clock) == 0  # day 21: 8 days left
    clock.advance(days=1)
    assert await jobs.warn_expiring_consents(pool, clock) == 1
    assert await jobs.warn_expiring_consents(pool, clock) == 0
    third = (await outbox(pool, start))[len(first) + len(second) :]
    assert [days_named(r) for r in third] == [7]
    assert (participant(world, RELATIVE), 7) in await warned(pool)

    # Day 33: the service provider reaches 7 days; after that, nothing ever again.
    clock.advance(days=11)
    assert await jobs.warn_expiring_consents(pool, clock) == 1
    for _ in range(3):
        clock.advance(days=5)
        assert await jobs.warn_expiring_consents(pool, clock) == 0
    everything = await outbox(pool, start)
    assert sorted(days_named(r) for r in everything) == [7, 7, 7, 30, 30]
    assert_warning_text(world, everything)
    assert len(await warned(pool)) == 6  # 3 participants x 2 thresholds
    # The owner and the coordinator are never warned of their own (the plan's) consent.
    owner_or_coordinator = {participant(world, OWNER), participant(world, COORDINATOR)}
    assert not {p for p, _ in await warned(pool)} & owner_or_coordinator


async def test_a_renewed_consent_is_warned_of_again(gateway: Gateway) -> None:
    world = await world_expiring(gateway)
    pool, clock = gateway.pool, gateway.clock
    start = await mark(pool)
    assert await jobs.warn_expiring_consents(pool, clock) == 2
    assert len(await outbox(pool, start)) == 2
    renewed = today_of(gateway) + dt.timedelta(days=25)
    ok(
        await world.post(
            COORDINATOR,
            "mutation($id: ID!, $on: Date) { updateParticipant(id: $id, consentExpiresOn: $on)"
            " { id } }",
            {"id": world.participant_ids[GUARDIAN], "on": renewed.isoformat()},
        ),
        "updateParticipant",
    )
    renewed_at = await mark(pool)
    # A new expiry date: the 30-day threshold is crossed again, for the new date.
    assert await jobs.warn_expiring_consents(pool, clock) == 1
    assert await jobs.warn_expiring_consents(pool, clock) == 0
    assert [days_named(r) for r in await outbox(pool, renewed_at)] == [30]


async def test_no_warnings_for_ended_plans_revoked_consents_or_removed_participants(
    gateway: Gateway,
) -> None:
    pool, clock = gateway.pool, gateway.clock
    ended = await world_expiring(gateway)
    ok(
        await ended.post(
            COORDINATOR,
            'mutation($p: ID!, $on: Date!) { endPlan(id: $p, endDate: $on, reason: "Ferdig")'
            " { id } }",
            {"p": ended.plan_id, "on": today_of(gateway).isoformat()},
        ),
        "endPlan",
    )
    ended.plan_state = "ended"
    revoked = await world_expiring(gateway, consent="revoked")
    removed = await world_expiring(gateway)
    for key in EXPIRES_IN:
        ok(
            await removed.post(
                COORDINATOR,
                "mutation($id: ID!) { removeParticipant(id: $id) { id } }",
                {"id": removed.participant_ids[key]},
            ),
            "removeParticipant",
        )
    assert (ended.plan_state, revoked.consent_state) == ("ended", "revoked")
    start = await mark(pool)
    for _ in range(30):
        assert await jobs.warn_expiring_consents(pool, clock) == 0
        clock.advance(days=1)
    assert await outbox(pool, start) == []


async def until_each_waits_or_is_done(pool: asyncpg.Pool, runs: list[asyncio.Task[Any]]) -> None:
    """Bounded: until every run is finished or waits for the lock on consent_warnings."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        async with pool.acquire() as conn:
            waiting = await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE NOT granted"
                " AND relation = 'consent_warnings'::regclass"
            )
        if waiting + sum(run.done() for run in runs) >= len(runs):
            return
        assert loop.time() < deadline, f"{waiting} run(s) waiting, runs: {runs}"
        await asyncio.sleep(0.02)


async def test_two_processes_at_once_send_each_warning_once(gateway: Gateway, db_dsn: str) -> None:
    world = await world_expiring(gateway)
    clock = gateway.clock
    start = await mark(gateway.pool)
    # Two "processes": each its own pool of connections to the same database.
    first = await create_pool(db_dsn, min_size=1, max_size=2)
    second = await create_pool(db_dsn, min_size=1, max_size=2)
    try:
        # Both runs are made to overlap: a third connection locks the table of sent warnings
        # against writes, so a run that got as far as recording a warning waits there. Only
        # when each run waits there or has finished is the table let go.
        async with gateway.pool.acquire() as blocker:
            tx = blocker.transaction()
            await tx.start()
            await blocker.execute("LOCK TABLE consent_warnings IN EXCLUSIVE MODE")
            runs = [
                asyncio.create_task(jobs.warn_expiring_consents(pool, clock))
                for pool in (first, second)
            ]
            await until_each_waits_or_is_done(gateway.pool, runs)
            await tx.rollback()
        results = await asyncio.wait_for(asyncio.gather(*runs), WAIT)
        # One run sent both; the other found the job running elsewhere.
        assert sorted(results, key=str) == [2, None], results
        assert sorted(days_named(r) for r in await outbox(gateway.pool, start)) == [7, 30]

        # Four at once, unforced: still each warning once (nothing new is due).
        results = await asyncio.gather(
            *(jobs.warn_expiring_consents(p, clock) for p in (first, second, first, second))
        )
        assert all(n in (0, None) for n in results), results
        assert len(await outbox(gateway.pool, start)) == 2

        # While another process holds the job's lock, a run skips (None) and sends nothing.
        clock.advance(days=10)  # the service provider is due now
        async with first.acquire() as holder, holder.transaction():
            assert await holder.fetchval("SELECT pg_try_advisory_xact_lock($1)", jobs._LOCK_KEY)
            assert await jobs.warn_expiring_consents(second, clock) is None
            assert len(await outbox(gateway.pool, start)) == 2
        last = await asyncio.gather(
            jobs.warn_expiring_consents(first, clock),
            jobs.warn_expiring_consents(second, clock),
        )
        assert sum(n or 0 for n in last) == 1, last
    finally:
        await first.close()
        await second.close()
    rows = await outbox(gateway.pool, start)
    assert sorted(days_named(r) for r in rows) == [7, 30, 30]
    assert_warning_text(world, rows)


def cli_env(tmp_path: Path, db_dsn: str) -> dict[str, str]:
    prefixes = ("PLANGRUPPE_", "SMTP_", "SMS_", "DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["PLANGRUPPE_DATA_DIR"] = str(tmp_path / "data")
    env["DATABASE_URL"] = db_dsn
    return env


async def run_jobs_once(tmp_path: Path, db_dsn: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "run-jobs",
        "--once",
        cwd=ROOT,
        env=cli_env(tmp_path, db_dsn),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_run_jobs_once_from_the_command_line_warns_once(
    gateway: Gateway, db_dsn: str, clock: FakeClock, tmp_path: Path
) -> None:
    # The command runs on the wall clock: build the world on today's date.
    clock.now = dt.datetime.now(dt.UTC)
    world = await world_expiring(gateway)
    start = await mark(gateway.pool)
    assert "queued 2" in await run_jobs_once(tmp_path, db_dsn)
    assert "queued 0" in await run_jobs_once(tmp_path, db_dsn)
    rows = await outbox(gateway.pool, start)
    assert sorted(days_named(r) for r in rows) == [7, 30]
    assert_warning_text(world, rows)

    # Two commands at once: still nothing twice.
    outputs = await asyncio.gather(run_jobs_once(tmp_path, db_dsn), run_jobs_once(tmp_path, db_dsn))
    assert all("queued 0" in o or "another process" in o for o in outputs), outputs
    assert len(await outbox(gateway.pool, start)) == 2


async def test_the_hourly_loop_runs_every_job_and_reports_each(
    gateway: Gateway, monkeypatch: Any
) -> None:
    """run_forever: archive, retention and the warnings each run and are reported to the
    metrics (on_run); one that fails with a database error is reported as failed, logged,
    and the loop goes on to the next job and the next hour."""
    world = await world_expiring(gateway)
    async with gateway.pool.acquire() as conn:
        before = await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
    runs: list[tuple[str, bool]] = []
    hour = asyncio.Event()

    def on_run(job: str, ok: bool) -> None:
        runs.append((job, ok))
        if job == "consent_expiry":
            hour.set()

    async def loop() -> None:
        await jobs.run_forever(
            gateway.pool, gateway.clock, interval=3600, on_run=on_run, settings=gateway.settings
        )

    task = asyncio.create_task(loop())
    try:
        await asyncio.wait_for(hour.wait(), 30)
    finally:
        task.cancel()
    assert runs == [("archive", True), ("retention", True), ("consent_expiry", True)]
    # The warnings ran: the relative's (29 days) and the guardian's (6 days) consent.
    assert len(await outbox(gateway.pool, before)) == 2, world.plan_id

    async def broken(pool: asyncpg.Pool, clock: Any) -> int:
        raise asyncpg.PostgresError("the database went away")

    monkeypatch.setattr(jobs, "remind_revisions", broken)
    runs.clear()
    hour.clear()
    task = asyncio.create_task(loop())
    try:
        await asyncio.wait_for(hour.wait(), 30)
    finally:
        task.cancel()
    assert runs == [("archive", True), ("retention", True), ("consent_expiry", False)]
