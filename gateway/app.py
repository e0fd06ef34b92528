"""The Starlette application: /graphql over HTTP and WebSocket, document downloads, /health,
and the process's workers (outbox, LISTEN bus)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Mapping

import asyncpg
import orjson
import strawberry
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from db import idempotency
from db.bus import MessageBus
from db.pool import counting, create_pool
from gateway.http_limits import GraphQLHttpLimits
from gateway.outbox import OutboxWorker
from gateway.senders import Sender, senders_from_settings
from gateway.settings import Settings
from resolvers import access_log, admin, auth, content, jobs, lifecycle
from resolvers.context import ApiKeyViewer, Clock, Context, Viewer, utc_now
from resolvers.loaders import Loaders
from schema import build_schema

log = logging.getLogger("plangruppe")

MAX_IDEMPOTENCY_KEY = 255


def _bearer(value: object) -> str | None:
    if isinstance(value, str) and value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return None


class GatewayState:
    """What one gateway process shares between requests."""

    def __init__(
        self, settings: Settings, pool: asyncpg.Pool, clock: Clock, bus: MessageBus | None
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.clock = clock
        self.bus = bus

    async def viewer_for_token(self, token: str) -> Viewer | None:
        async with self.pool.acquire() as conn:
            return await auth.viewer_for_token(conn, token, self.clock())

    async def api_key_for(self, secret: str, client: str | None) -> ApiKeyViewer | None:
        async with self.pool.acquire() as conn:
            return await admin.api_key_viewer(conn, secret, self.clock(), client)

    def context(
        self,
        viewer: Viewer | None,
        token: str | None,
        client: str | None,
        request: object,
        response: object = None,
    ) -> Context:
        return Context(
            pool=self.pool,
            settings=self.settings,
            clock=self.clock,
            viewer=viewer,
            client_addr=client,
            loaders=Loaders(self.pool, viewer.person_id if viewer else None),
            request=request,
            response=response,
            bus=self.bus,
            token=token,
        )


class GatewayView(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context, auth and HTTP status rules."""

    def __init__(self, schema: strawberry.Schema, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide=None if settings.production else "graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=settings.allowed_origins,
            multipart_uploads_enabled=True,
        )
        self._state: GatewayState | None = None

    def encode_json(self, data: object) -> str:
        """orjson: several times faster than the standard library on large answers. Text,
        not bytes: graphql-transport-ws messages must go out as text frames."""
        return orjson.dumps(data).decode()

    @property
    def state(self) -> GatewayState:
        assert self._state is not None, "the gateway has not started"
        return self._state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            key = request.headers.get("idempotency-key")
            if key is not None and request.method == "POST":
                response = await self._idempotent(request, key)
            else:
                response = await self._answer(request)
            await response(scope, receive, send)
        finally:
            await request.close()  # an upload's temporary files

    async def _answer(self, request: Request) -> Response:
        if not self.state.settings.expose_sql_count:
            return await self._run(request)
        with counting() as count:
            response = await self._run(request)
            await asyncio.sleep(0)  # asyncpg reports statements via call_soon
        response.headers["X-SQL-Statements"] = str(count.statements)
        return response

    async def _run(self, request: Request) -> Response:
        try:
            return await self.run(request)
        except HTTPException as exc:
            return _http_error(exc)

    async def _idempotent(self, request: Request, key: str) -> Response:
        """A retry with the same Idempotency-Key returns the first result, creating nothing."""
        if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
            return _plain(400, "Idempotency-Key must be 1-255 characters.")
        token = _bearer(request.headers.get("authorization"))
        viewer = await self.state.viewer_for_token(token) if token else None
        if viewer is None:
            return await self._answer(request)
        digest = hashlib.sha256(await request.body()).hexdigest()
        async with self.state.pool.acquire() as conn:
            claim = await idempotency.claim(conn, viewer.person_id, key, digest, self.state.clock())
        if claim.outcome == "replay":
            assert claim.response is not None
            return Response(
                claim.response,
                media_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        if claim.outcome == "mismatch":
            return _plain(422, "This Idempotency-Key was used for a different request.")
        if claim.outcome == "pending":
            return _plain(409, "A request with this Idempotency-Key is still running.")
        response = await self._answer(request)
        async with self.state.pool.acquire() as conn:
            if response.status_code == 200:
                await idempotency.store(conn, viewer.person_id, key, bytes(response.body).decode())
            else:
                await idempotency.release(conn, viewer.person_id, key)
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        token = _bearer(request.headers.get("authorization"))
        client = request.client.host if request.client else None
        if token and token.startswith(admin.API_KEY_PREFIX):
            ctx = self.state.context(None, None, client, request, response)
            ctx.api_key = await self.state.api_key_for(token, client)
            return ctx
        viewer = await self.state.viewer_for_token(token) if token else None
        return self.state.context(viewer, token, client, request, response)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """The session token comes in connection_init; a bad one closes the socket (4403)."""
        params = context.connection_params or {}
        token = _bearer(params.get("authorization") or params.get("Authorization"))
        viewer = await self.state.viewer_for_token(token) if token else None
        if viewer is None:
            raise ConnectionRejectionError()
        context.viewer = viewer
        context.token = token
        context.loaders = Loaders(context.pool, viewer.person_id)
        acknowledged: UnsetType = UNSET
        return acknowledged


def _plain(status: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status)


def _http_error(exc: HTTPException) -> Response:
    if isinstance(exc.__cause__, InvalidOperationTypeError):
        return PlainTextResponse(exc.reason, status_code=405, headers={"Allow": "POST"})
    return PlainTextResponse(exc.reason, status_code=exc.status_code)


def _refusal(exc: GraphQLError) -> Response:
    code = str((exc.extensions or {}).get("code"))
    return _plain(_STATUS_OF_CODE.get(code, 400), exc.message)


_STATUS_OF_CODE = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "BAD_USER_INPUT": 400,
}


def create_app(
    settings: Settings,
    *,
    pool: asyncpg.Pool | None = None,
    dsn: str | None = None,
    clock: Clock = utc_now,
    senders: Mapping[str, Sender] | None = None,
    run_workers: bool = True,
) -> Starlette:
    """The gateway app. Without a pool it opens one on settings.database_url at start-up."""
    view = GatewayView(build_schema(production=settings.production), settings)
    database = dsn or settings.database_url

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own_pool = pool is None
        assert database or not own_pool, "no database"
        active = pool or await create_pool(database or "")
        bus = MessageBus(database, active) if database else None
        if bus:
            await bus.start()
        view._state = GatewayState(settings, active, clock, bus)
        tasks = []
        if run_workers:
            worker = OutboxWorker(active, senders or senders_from_settings(settings), clock)
            tasks.append(asyncio.create_task(worker.run_forever(), name="outbox"))
            tasks.append(asyncio.create_task(jobs.run_forever(active, clock), name="jobs"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if bus:
                await bus.stop()
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

    async def _file_context(request: Request) -> Context | Response:
        state = view.state
        token = _bearer(request.headers.get("authorization"))
        viewer = await state.viewer_for_token(token) if token else None
        if viewer is None:
            return _plain(401, "Log in first.")
        client = request.client.host if request.client else None
        return state.context(viewer, token, client, request)

    def _file(data: bytes, media_type: str, name: str) -> Response:
        ascii_name = name.encode("ascii", "replace").decode().replace('"', "")
        return Response(
            data,
            media_type=media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{ascii_name}"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )

    async def download(request: Request) -> Response:
        """GET downloadUrl with the bearer token: the same access check as Plan.documents."""
        ctx = await _file_context(request)
        if isinstance(ctx, Response):
            return ctx
        params = request.path_params
        try:
            row, data = await content.readable_document(
                ctx, params["plan_id"], params["document_id"]
            )
        except GraphQLError as exc:
            return _refusal(exc)
        finally:
            await access_log.flush(ctx)
        return _file(data, row.content_type, row.name)

    async def archive(request: Request) -> Response:
        """An archived copy of the plan, as JSON or PDF."""
        ctx = await _file_context(request)
        if isinstance(ctx, Response):
            return ctx
        params = request.path_params
        kind = params["kind"]
        if kind not in ("json", "pdf"):
            return _plain(404, "No such archive format.")
        try:
            row, data = await lifecycle.archive_file(
                ctx, params["plan_id"], params["archive_id"], kind
            )
        except GraphQLError as exc:
            return _refusal(exc)
        finally:
            await access_log.flush(ctx)
        media = "application/json" if kind == "json" else "application/pdf"
        return _file(data, media, f"plan-arkiv-{row.archived_at:%Y%m%d}.{kind}")

    async def print_plan(request: Request) -> Response:
        """Utskrift: the plan as PDF, with only the sections this viewer may read."""
        ctx = await _file_context(request)
        if isinstance(ctx, Response):
            return ctx
        try:
            data = await lifecycle.print_pdf(ctx, request.path_params["plan_id"])
        except GraphQLError as exc:
            return _refusal(exc)
        finally:
            await access_log.flush(ctx)
        return _file(data, "application/pdf", "plan.pdf")

    app = Starlette(
        routes=[
            Route("/graphql", view),
            WebSocketRoute("/graphql", view),
            Route("/plans/{plan_id}/documents/{document_id}", download, methods=["GET"]),
            Route("/plans/{plan_id}/archives/{archive_id}.{kind}", archive, methods=["GET"]),
            Route("/plans/{plan_id}/print.pdf", print_plan, methods=["GET"]),
            Route("/health", health),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(GraphQLHttpLimits)
    return app


def create_app_from_env() -> Starlette:
    """Factory for uvicorn workers: settings and DATABASE_URL from the environment."""
    return create_app(Settings.from_env())
