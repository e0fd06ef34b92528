"""The archive routine (issue 16): every active plan is archived at least twice a year, and an
ended plan once after it ended, by the scheduled job; two processes running it at once
archive each plan once."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from resolvers import jobs
from tests.conftest import Gateway
from tests.plan_world import build_world


async def archives_of(pool: asyncpg.Pool, plan_id: str) -> int:
    async with pool.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM plan_archives WHERE plan_id = $1", uuid.UUID(plan_id)
        )
    return count


async def test_active_plans_are_archived_twice_a_year(gateway: Gateway) -> None:
    world = await build_world(gateway)
    pool, settings, clock = gateway.pool, gateway.settings, gateway.clock
    assert await archives_of(pool, world.plan_id) == 0
    assert await jobs.archive_due(pool, settings, clock) == 1
    assert await archives_of(pool, world.plan_id) == 1
    assert await jobs.archive_due(pool, settings, clock) == 0  # not due again yet
    clock.advance(days=181)
    assert await jobs.archive_due(pool, settings, clock) == 0
    clock.advance(days=2)
    assert await jobs.archive_due(pool, settings, clock) == 1
    assert await archives_of(pool, world.plan_id) == 2
    async with pool.acquire() as conn:
        audit = await conn.fetchrow(
            "SELECT actor_id, detail FROM audit_log WHERE action = 'plan.archived'"
            " ORDER BY id DESC LIMIT 1"
        )
        reason = await conn.fetchval(
            "SELECT reason FROM plan_archives WHERE plan_id = $1 ORDER BY archived_at DESC LIMIT 1",
            uuid.UUID(world.plan_id),
        )
    assert audit["actor_id"] is None and reason == "Arkivert automatisk"


async def test_an_ended_plan_without_an_archive_is_archived_once(gateway: Gateway) -> None:
    world = await build_world(gateway)
    pool, settings, clock = gateway.pool, gateway.settings, gateway.clock
    assert await jobs.archive_due(pool, settings, clock) == 1
    clock.advance(days=1)
    async with pool.acquire() as conn:  # ended outside endPlan (which archives itself)
        await conn.execute(
            "UPDATE plans SET status = 'ENDED', changed_at = $2 WHERE id = $1",
            uuid.UUID(world.plan_id),
            clock(),
        )
    assert await jobs.archive_due(pool, settings, clock) == 1
    clock.advance(days=400)
    assert await jobs.archive_due(pool, settings, clock) == 0  # ended: no routine archives
    assert await archives_of(pool, world.plan_id) == 2


async def test_two_processes_at_once_archive_each_plan_once(gateway: Gateway) -> None:
    worlds = [await build_world(gateway) for _ in range(3)]
    pool, settings, clock = gateway.pool, gateway.settings, gateway.clock
    first, second = await asyncio.gather(
        jobs.archive_due(pool, settings, clock), jobs.archive_due(pool, settings, clock)
    )
    assert first + second == 3
    for world in worlds:
        assert await archives_of(pool, world.plan_id) == 1
