"""Start-up and shutdown of one gateway process: the pool, sealing secrets stored in clear, the
LISTEN bus, and the workers (the outbox and the jobs loop) that run beside the requests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager

import asyncpg
from starlette.applications import Starlette

from db.bus import MessageBus
from db.pool import create_pool
from gateway import metrics
from gateway.outbox import OutboxWorker
from gateway.senders import Sender, senders_from_settings
from gateway.settings import Settings
from gateway.state import GatewayState
from resolvers import jobs, live, secret_box
from resolvers.context import Clock

log = logging.getLogger("plangruppe")

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


def lifespan(
    settings: Settings,
    *,
    pool: asyncpg.Pool | None,
    database: str | None,
    clock: Clock,
    senders: Mapping[str, Sender] | None,
    run_workers: bool,
    attach: Callable[[GatewayState | None], None],
) -> Lifespan:
    """The app's lifespan. Without a pool it opens one on `database` and closes it at shutdown.
    `attach` receives the process's state once it runs, and None before its pool closes."""

    @contextlib.asynccontextmanager
    async def run(app: Starlette) -> AsyncIterator[None]:
        own_pool = pool is None
        assert database or not own_pool, "no database"
        active = pool or await create_pool(database or "")
        await seal_plain_secrets(active, settings)
        bus = MessageBus(database, active) if database else None
        tasks: list[asyncio.Task[None]] = []
        if bus:
            await bus.start()
            tasks.append(
                asyncio.create_task(
                    live.keep_sessions_alive(bus, active, clock), name="live-sessions"
                )
            )
        attach(GatewayState(settings, active, clock, bus))
        tasks += start_workers(active, settings, clock, senders) if run_workers else []
        try:
            yield
        finally:
            await stop_workers(tasks)
            if bus:
                await bus.stop()
            attach(None)
            if own_pool:
                await active.close()

    return run


def start_workers(
    pool: asyncpg.Pool, settings: Settings, clock: Clock, senders: Mapping[str, Sender] | None
) -> list[asyncio.Task[None]]:
    """The outbox worker (with the settings' senders unless given) and the jobs loop."""
    worker = OutboxWorker(
        pool,
        senders or senders_from_settings(settings),
        clock,
        box=settings.secret_box,
    )
    return [
        asyncio.create_task(worker.run_forever(), name="outbox"),
        asyncio.create_task(
            jobs.run_forever(pool, clock, on_run=metrics.job_ran, settings=settings), name="jobs"
        ),
    ]


async def stop_workers(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel every worker, then wait for each to finish."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def seal_plain_secrets(pool: asyncpg.Pool, settings: Settings) -> None:
    """Secrets stored in clear before this version are sealed before the first request."""
    async with pool.acquire() as conn, conn.transaction():
        sealed = await secret_box.reseal_stored_secrets(conn, settings.secret_box, rotate=False)
    if sealed:
        log.info("sealed %d secrets that were stored in clear (docs/secrets.md)", sealed)
