"""A compiled statement is bounded: a list-weighted cost limit refuses a selection before it
runs, and a time limit cancels a statement in the server (QUERY_TOO_COMPLEX, with the reason
COST or TIMEOUT and the limit)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

from resolvers.context import Context, Viewer
from resolvers.loaders import Loaders
from schema import build_schema
from tests.conftest import Gateway
from tests.plan_world import COORDINATOR, OUTSIDER, RELATIVE, SERVICE_PROVIDER, build_world

NESTED = """query($id: ID!) { plan(id: $id) { goals { subGoals { subGoals { subGoals {
  activities { title } } } } } } }"""
SMALL = """query($id: ID!) { plan(id: $id) { shortName goals { title } } }"""


async def _execute(
    gateway: Gateway, person_id: str, query: str, plan_id: str, **limits: Any
) -> Any:
    settings = dataclasses.replace(gateway.settings, **limits)
    pid = uuid.UUID(person_id)
    ctx = Context(
        pool=gateway.pool,
        settings=settings,
        clock=gateway.clock,
        viewer=Viewer(pid, None, None),
        client_addr=None,
        loaders=Loaders(gateway.pool, pid),
        compiled=True,
    )
    result = await build_schema().execute(query, {"id": plan_id}, context_value=ctx)
    return result, ctx


async def test_a_selection_over_the_cost_limit_is_refused(gateway: Gateway) -> None:
    world = await build_world(gateway)
    coordinator = world.actors[COORDINATOR].person_id
    result, _ = await _execute(gateway, coordinator, NESTED, world.plan_id, compiled_max_cost=1000)
    assert result.data == {"plan": None}
    [error] = result.errors
    assert error.extensions == {"code": "QUERY_TOO_COMPLEX", "limit": 1000, "reason": "COST"}
    # Four nested lists of 25 are over the default limit too; a small selection is not.
    result, _ = await _execute(gateway, coordinator, NESTED, world.plan_id)
    assert result.errors[0].extensions["reason"] == "COST"
    result, ctx = await _execute(gateway, coordinator, SMALL, world.plan_id, compiled_max_cost=1000)
    assert not result.errors and ctx.compiled_roots == 1


async def test_a_statement_over_the_time_limit_is_cancelled(gateway: Gateway) -> None:
    world = await build_world(gateway)
    coordinator = world.actors[COORDINATOR].person_id
    async with gateway.pool.acquire() as blocker, blocker.transaction():
        # The compiled statement waits for this lock until its time limit cancels it.
        await blocker.execute("LOCK TABLE goals IN ACCESS EXCLUSIVE MODE")
        result, _ = await asyncio.wait_for(
            _execute(gateway, coordinator, SMALL, world.plan_id, compiled_timeout_ms=200), 10
        )
    assert result.data == {"plan": None}
    [error] = result.errors
    assert error.extensions == {"code": "QUERY_TOO_COMPLEX", "limit": 200, "reason": "TIMEOUT"}
    async with gateway.pool.acquire() as conn:
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"
        )
    assert waiting == 0, "the cancelled statement no longer waits in the server"


VIEW = """query($id: ID!) { plan(id: $id) { shortName participants { role person { firstName
  mobile birthDate } } goals { title } messages(first: 5) { edges { node { body } } } } }"""


async def test_a_prepared_statement_serves_each_viewer_their_own_answer(
    gateway: Gateway, monkeypatch: Any
) -> None:
    """The statement of a selection is prepared once and kept (resolvers/compiled/executor.py):
    it holds no viewer, so the next viewer of the same operation gets their own answer, the
    resolvers' answer, from it."""
    from resolvers.compiled import executor

    world = await build_world(gateway)
    schema = build_schema()  # one schema: one parse cache, so the same document each time
    built = 0
    original = executor.build

    def counting_build(*args: Any) -> Any:
        nonlocal built
        built += 1
        return original(*args)

    monkeypatch.setattr(executor, "build", counting_build)

    async def run(role: str, compiled: bool) -> Any:
        pid = uuid.UUID(world.actors[role].person_id)
        ctx = Context(
            pool=gateway.pool,
            settings=gateway.settings,
            clock=gateway.clock,
            viewer=Viewer(pid, None, None),
            client_addr=None,
            loaders=Loaders(gateway.pool, pid),
            compiled=compiled,
        )
        result = await schema.execute(VIEW, {"id": world.plan_id}, context_value=ctx)
        errors = sorted((tuple(e.path or ()), e.message) for e in result.errors or ())
        return result.data, errors, ctx.compiled_roots

    answers = {}
    for role in (COORDINATOR, RELATIVE, SERVICE_PROVIDER, OUTSIDER):
        answers[role] = await run(role, compiled=True)
    assert built == 1, "the selection was prepared once"
    assert all(a[2] == 1 for r, a in answers.items() if r != OUTSIDER)
    for role, (data, errors, _) in answers.items():
        reference, reference_errors, roots = await run(role, compiled=False)
        assert roots == 0
        assert data == reference, (role, data, reference)
        assert errors == reference_errors, (role, errors, reference_errors)
    # The outsider may not know of the plan: the statement answered no row for them, and the
    # resolvers answered NOT_FOUND, after viewers who saw it.
    assert answers[COORDINATOR][0]["plan"]["participants"]
    assert answers[OUTSIDER][0] == {"plan": None}
