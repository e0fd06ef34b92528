"""Live delivery decides each event without a query (issue 13): a subscription keeps the
session and plan views it checked and checks again only when an access change concerns it;
the process keeps its subscribers' sessions alive in one statement.

The subscription is driven here in the test's own task (resolvers/live.message_stream on a
bus of its own), so db.pool.counting() sees exactly the statements the subscription runs;
messages and changes come over HTTP from the test gateway, as a client would send them."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from graphql import GraphQLError

from db.bus import ACCESS, MessageBus
from db.pool import QueryCount, counting
from resolvers import live
from resolvers.context import Context
from resolvers.loaders import Loaders
from tests.conftest import Gateway
from tests.plan_world import (
    ADD_PARTICIPANT,
    COORDINATOR,
    SERVICE_PROVIDER,
    PlanWorld,
    build_world,
    ok,
)

POST = "mutation($p: ID!, $b: String!) { postMessage(planId: $p, body: $b) { id } }"
LOGOUT = "mutation { logout }"


@contextlib.asynccontextmanager
async def own_bus(db_dsn: str, pool: asyncpg.Pool) -> AsyncIterator[MessageBus]:
    bus = MessageBus(db_dsn, pool)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()


def subscriber_context(gateway: Gateway, bus: MessageBus | None, token: str) -> Context:
    return Context(
        pool=gateway.pool,
        settings=gateway.settings,
        clock=gateway.clock,
        viewer=None,
        client_addr=None,
        loaders=Loaders(gateway.pool),
        bus=bus,
        token=token,
    )


async def post(gateway: Gateway, world: PlanWorld, body: str) -> None:
    answer = await gateway.client.post(
        POST, {"p": world.plan_id, "b": body}, token=world.token(COORDINATOR)
    )
    ok(answer, "postMessage")


async def notify(pool: asyncpg.Pool, what: str) -> None:
    """An access change as the gateway sends it, from outside the counted task."""

    async def send() -> None:
        async with pool.acquire() as conn:
            await conn.execute("SELECT pg_notify($1, $2)", ACCESS, what)

    await asyncio.create_task(send(), context=contextvars.Context())


async def settled(count: QueryCount) -> int:
    """The count once background work (the access-log row) has had its turn."""
    for _ in range(20):
        before = count.statements
        await asyncio.sleep(0.05)
        if count.statements == before:
            return before
    return count.statements


async def test_an_event_costs_no_statement_and_a_concerning_change_rechecks(
    gateway: Gateway, db_dsn: str
) -> None:
    world = await build_world(gateway)
    async with own_bus(db_dsn, gateway.pool) as bus:
        ctx = subscriber_context(gateway, bus, world.token(SERVICE_PROVIDER))
        with counting() as count:
            stream = live.message_stream(ctx, world.plan_id)
            nxt: asyncio.Task[Any] = asyncio.create_task(anext(stream))
            while bus.subscriber_count == 0:
                await asyncio.sleep(0.01)
            subscribing = await settled(count)
            assert subscribing >= 2  # the session and the plan view, checked at subscribe

            await post(gateway, world, "Første")
            event, admitted = await asyncio.wait_for(nxt, 10)
            assert admitted.row.body == "Første"
            after_first = await settled(count)
            assert after_first > subscribing  # the access-log row, once per plan

            for body in ("Andre", "Tredje"):
                nxt = asyncio.create_task(anext(stream))
                await post(gateway, world, body)
                _, admitted = await asyncio.wait_for(nxt, 10)
                assert admitted.row.body == body
            assert await settled(count) == after_first, "an event was decided with a query"

            # A change elsewhere does not concern this subscription: no re-check.
            nxt = asyncio.create_task(anext(stream))
            await notify(gateway.pool, f"plan:{uuid.uuid4()}")
            await notify(gateway.pool, f"session:{uuid.uuid4()}")
            assert await settled(count) == after_first
            # A change to its plan does: the session and the view are read again.
            await notify(gateway.pool, f"plan:{world.plan_id}")
            assert await settled(count) >= after_first + 2

            # Logging out ends the subscription (the logout notifies its session).
            answer = await gateway.client.post(LOGOUT, {}, token=world.token(SERVICE_PROVIDER))
            assert ok(answer, "logout") == {"logout": True}
            with pytest.raises(GraphQLError) as ended:
                await asyncio.wait_for(nxt, 10)
            assert (ended.value.extensions or {}).get("code") == "UNAUTHENTICATED"
            assert event.viewer is not None


async def test_a_session_ends_at_its_end_without_a_query(gateway: Gateway, db_dsn: str) -> None:
    """The 12 hours are decided from what the subscription holds, at the next event."""
    world = await build_world(gateway)
    async with own_bus(db_dsn, gateway.pool) as bus:
        ctx = subscriber_context(gateway, bus, world.token(SERVICE_PROVIDER))
        stream = live.message_stream(ctx, world.plan_id)
        nxt: asyncio.Task[Any] = asyncio.create_task(anext(stream))
        while bus.subscriber_count == 0:
            await asyncio.sleep(0.01)
        gateway.clock.advance(hours=12, seconds=1)
        await world.renew_sessions()  # the poster's; the subscriber keeps the old session
        await post(gateway, world, "For sent")
        with pytest.raises(GraphQLError) as ended:
            await asyncio.wait_for(nxt, 10)
        assert (ended.value.extensions or {}).get("code") == "UNAUTHENTICATED"


async def test_live_sessions_are_kept_alive_in_one_statement(gateway: Gateway, db_dsn: str) -> None:
    world = await build_world(gateway)
    async with own_bus(db_dsn, gateway.pool) as bus:
        streams = []
        for key in (SERVICE_PROVIDER, COORDINATOR):
            ctx = subscriber_context(gateway, bus, world.token(key))
            stream = live.message_stream(ctx, world.plan_id)
            streams.append(asyncio.create_task(anext(stream)))
        while bus.subscriber_count < 2:
            await asyncio.sleep(0.01)
        gateway.clock.advance(minutes=20)  # idle, but subscribed: kept alive
        with counting() as count:
            keeper = asyncio.create_task(
                live.keep_sessions_alive(bus, gateway.pool, gateway.clock, every=0.05)
            )
            await asyncio.sleep(0.2)
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        ticks = count.statements
        assert ticks >= 1
        async with gateway.pool.acquire() as conn:
            seen = await conn.fetch(
                "SELECT last_seen_at FROM sessions WHERE id = ANY($1::uuid[])",
                sorted(bus.session_ids()),
            )
        assert [r["last_seen_at"] for r in seen] == [gateway.clock()] * 2
        # Twenty more minutes: alive only because it was kept alive (30 idle minutes).
        gateway.clock.advance(minutes=20)
        answer = await gateway.client.post("{ me { id } }", {}, token=world.token(COORDINATOR))
        assert ok(answer, "me")["me"] is not None
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)


def test_touch_interval_is_shorter_than_the_idle_limit() -> None:
    from resolvers.auth import SESSION_IDLE

    assert dt.timedelta(seconds=live.TOUCH_SECONDS) < SESSION_IDLE / 2


async def test_following_all_plans_hears_only_ones_own_plans_and_a_new_one_at_once(
    gateway: Gateway, db_dsn: str
) -> None:
    """planId: null: messages of plans the subscriber takes no part in are not even handed to
    the subscription; added to a plan, the subscriber gets its next message, even one posted
    right after the addition."""
    a = await build_world(gateway)
    b = await build_world(gateway)  # the subscriber is not in it (yet)
    me = a.actors[SERVICE_PROVIDER]
    async with own_bus(db_dsn, gateway.pool) as bus:
        ctx = subscriber_context(gateway, bus, a.token(SERVICE_PROVIDER))
        stream = live.message_stream(ctx, None)
        nxt: asyncio.Task[Any] = asyncio.create_task(anext(stream))
        while bus.subscriber_count == 0:
            await asyncio.sleep(0.01)
        [sub] = list(bus._subscriptions)
        while sub.plans is None:
            await asyncio.sleep(0.01)
        assert sub.plans == {uuid.UUID(a.plan_id)}
        assert not sub.wants(uuid.UUID(b.plan_id))

        await post(gateway, b, "Ikke din plan")
        await post(gateway, a, "Din plan")
        _, admitted = await asyncio.wait_for(nxt, 10)
        assert admitted.row.body == "Din plan"

        nxt = asyncio.create_task(anext(stream))
        added = await gateway.client.post(
            ADD_PARTICIPANT,
            {"p": b.plan_id, "who": me.person_id, "role": "RELATIVE"},
            token=b.token(COORDINATOR),
        )
        ok(added, "addParticipant")
        await post(gateway, b, "Velkommen")
        _, admitted = await asyncio.wait_for(nxt, 10)
        assert admitted.row.body == "Velkommen"
        assert sub.plans == {uuid.UUID(a.plan_id), uuid.UUID(b.plan_id)}
        nxt.cancel()


def test_a_quiet_subscription_wakes_when_its_access_can_change(gateway: Gateway) -> None:
    """Without events it decides again at the session's end or at midnight in Oslo (when a
    consent or an own consent runs out), whichever is first, and at least every hour."""
    from resolvers.context import OSLO
    from tests.support import FakeClock

    def wait(now: dt.datetime, ends: dt.datetime) -> float:
        ctx = dataclasses.replace(subscriber_context(gateway, None, "x" * 40), clock=FakeClock(now))
        return live._Access(ctx, ends).seconds_to_next_change()

    before_midnight = dt.datetime(2026, 12, 1, 23, 59, 30, tzinfo=OSLO)
    assert wait(before_midnight, before_midnight + dt.timedelta(hours=5)) == 30.5
    noon = dt.datetime(2026, 12, 1, 12, 0, tzinfo=OSLO)
    assert wait(noon, noon + dt.timedelta(seconds=10)) == 10.5
    assert wait(noon, noon + dt.timedelta(hours=5)) == live.RECHECK_SECONDS
    assert wait(noon, noon - dt.timedelta(seconds=5)) == 1.0  # already over: decide now
