"""The Starlette application: /graphql over HTTP and WebSocket, /health, workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping

import asyncpg
import strawberry
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from db.pool import create_pool
from gateway.http_limits import GraphQLHttpLimits
from gateway.outbox import OutboxWorker
from gateway.senders import Sender, senders_from_settings
from gateway.settings import Settings
from resolvers import auth
from resolvers.context import Clock, Context, Viewer, utc_now
from resolvers.loaders import Loaders
from schema import build_schema

log = logging.getLogger("plangruppe")


def _bearer(value: str | None) -> str | None:
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return None


class GatewayView(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context, auth and HTTP status rules."""

    def __init__(self, schema: strawberry.Schema, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide=None if settings.production else "graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=settings.allowed_origins,
            multipart_uploads_enabled=False,
        )
        self._state: GatewayState | None = None

    @property
    def state(self) -> GatewayState:
        assert self._state is not None, "the gateway has not started"
        return self._state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope, receive))
        except HTTPException as exc:
            response = _http_error(exc)
        await response(scope, receive, send)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        state = self.state
        viewer = None
        token = _bearer(request.headers.get("authorization"))
        if token:
            viewer = await state.viewer_for_token(token)
        return Context(
            pool=state.pool,
            settings=state.settings,
            clock=state.clock,
            viewer=viewer,
            client_addr=request.client.host if request.client else None,
            loaders=Loaders(state.pool),
            request=request,
            response=response,
        )


def _http_error(exc: HTTPException) -> Response:
    if isinstance(exc.__cause__, InvalidOperationTypeError):
        return PlainTextResponse(exc.reason, status_code=405, headers={"Allow": "POST"})
    return PlainTextResponse(exc.reason, status_code=exc.status_code)


class GatewayState:
    """What one gateway process shares between requests."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, clock: Clock) -> None:
        self.settings = settings
        self.pool = pool
        self.clock = clock

    async def viewer_for_token(self, token: str) -> Viewer | None:
        async with self.pool.acquire() as conn:
            return await auth.viewer_for_token(conn, token, self.clock())


def create_app(
    settings: Settings,
    *,
    pool: asyncpg.Pool | None = None,
    clock: Clock = utc_now,
    senders: Mapping[str, Sender] | None = None,
    run_workers: bool = True,
) -> Starlette:
    """The gateway app. Without a pool it opens one on settings.database_url at start-up."""
    view = GatewayView(build_schema(production=settings.production), settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own_pool = pool is None
        assert settings.database_url or not own_pool, "no database"
        active = pool or await create_pool(settings.database_url or "")
        view._state = GatewayState(settings, active, clock)
        tasks = []
        if run_workers:
            worker = OutboxWorker(active, senders or senders_from_settings(settings), clock)
            tasks.append(asyncio.create_task(worker.run_forever(), name="outbox"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            view._state = None
            if own_pool:
                await active.close()

    async def health(_: Request) -> Response:
        if view._state is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            async with view.state.pool.acquire(timeout=5) as conn:
                await conn.fetchval("SELECT 1")
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            Route("/graphql", view),
            WebSocketRoute("/graphql", view),
            Route("/health", health),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(GraphQLHttpLimits)
    return app


def create_app_from_env() -> Starlette:
    """Factory for uvicorn workers: settings and DATABASE_URL from the environment."""
    return create_app(Settings.from_env())
