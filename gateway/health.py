"""GET /health for a load balancer's probe (readiness): 200 when the database answers in
time, else 503. GET /live (liveness): 200 while the process serves, whatever the database
does, so an orchestrator does not restart every gateway when PostgreSQL is away."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from db.pool import Conn
from gateway.database import UNAVAILABLE_ERRORS, query_within
from gateway.state import GatewayState

# /health answers within this: a load balancer's probe must not hang with the database.
HEALTH_TIMEOUT = 1.0
_HEALTH_ERRORS: tuple[type[Exception], ...] = (*UNAVAILABLE_ERRORS, asyncpg.PostgresError)


def route(state: Callable[[], GatewayState | None]) -> Route:
    """The /health route; `state` gives the running process's, None before start-up."""

    async def health(_: Request) -> Response:
        """200 when the database answers within HEALTH_TIMEOUT (acquire and query), else 503."""
        running = state()
        if running is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            await query_within(running.pool, HEALTH_TIMEOUT, _select_one)
        except _HEALTH_ERRORS:
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return Route("/health", health)


def live_route() -> Route:
    async def live(_: Request) -> Response:
        return JSONResponse({"status": "live"})

    return Route("/live", live, methods=["GET"])


async def _select_one(conn: Conn) -> object:
    return await conn.fetchval("SELECT 1")
