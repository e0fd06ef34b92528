"""The Starlette application: the GraphQL view (/graphql over HTTP and WebSocket) and
`create_app`, which wires it to the file routes (gateway/files.py), /health
(gateway/health.py), GraphiQL and the lifespan that runs the workers (gateway/lifespan.py).
Who is asking is decided once per request by gateway/authentication.py."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Mapping
from typing import Any

import asyncpg
import orjson
import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from db import idempotency
from db.pool import counting
from gateway import files, graphiql, health, logs, metrics, oidc_routes
from gateway.authentication import (
    AuthenticationMiddleware,
    CsrfMismatch,
    DatabaseUnavailable,
    cookie_authorization,
    credentials,
)
from gateway.http_limits import (
    APPLICATION_JSON,
    CONTENT_TYPES,
    GRAPHQL_RESPONSE_JSON,
    GraphQLHttpLimits,
    error_body,
    json_error,
    response_media_type,
)
from gateway.lifespan import lifespan
from gateway.senders import Sender
from gateway.settings import Settings
from gateway.state import GatewayState
from gateway.trusted_documents import DocumentNotTrusted
from resolvers import live_share
from resolvers.context import Clock, Context, utc_now
from resolvers.loaders import Loaders
from schema import build_schema

MAX_IDEMPOTENCY_KEY = 255
# graphql-transport-ws has no code for "the server cannot serve you now"; RFC 6455's 1013
# (Try Again Later) is one that clients such as graphql-ws retry.
WS_TRY_AGAIN_LATER = 1013


class _TransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws; a token look-up the database cannot answer closes the socket
    with 1013 (try again later) instead of failing the connection with a server error."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except DatabaseUnavailable:
            await self.websocket.close(WS_TRY_AGAIN_LATER, "Service unavailable")

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """Trusted documents hold here as over HTTP: the operation runs the manifest's text,
        or is refused with an `error` frame (DOCUMENT_NOT_TRUSTED) and never starts."""
        trusted = self.context.settings.trusted_documents
        payload = message.get("payload")
        if trusted is not None and isinstance(payload, dict) and self.connection_acknowledged:
            try:
                payload["query"] = trusted.resolve(payload)
            except DocumentNotTrusted as refused:
                error = GraphQLError(refused.message, extensions={"code": "DOCUMENT_NOT_TRUSTED"})
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [error.formatted]}
                )
                return
        await super().handle_subscribe(message)


class GatewayView(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context, auth and HTTP status rules."""

    graphql_transport_ws_handler_class = _TransportWS

    def __init__(self, schema: strawberry.Schema, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide=None if settings.production else "graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=settings.cors_origins,
            multipart_uploads_enabled=True,
        )
        self.settings = settings
        self._state: GatewayState | None = None

    def should_render_graphql_ide(self, request: Any) -> bool:
        """A GET naming a persisted document (documentId, or Apollo's extensions) is an
        operation, not a visit to GraphiQL."""
        params = request.query_params
        named = params.get("documentId") is not None or params.get("extensions") is not None
        return not named and bool(super().should_render_graphql_ide(request))

    async def render_graphql_ide(self, request: Request) -> Response:
        """Development: GraphiQL from the package's own assets, not Strawberry's CDN page."""
        return graphiql.page()

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """Carries the negotiated response media type to create_response."""
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = _media_type(request)
        return sub_response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """GraphQL over HTTP: in application/graphql-response+json, a request refused before
        execution (a document that does not parse or validate, variables that do not coerce)
        is 400 (403 when only FORBIDDEN) without `data`; an execution that ran is 200, field
        errors or not. In application/json everything is 200, as it always was."""
        media_type = sub_response.media_type or APPLICATION_JSON
        executed = not (isinstance(response_data, dict) and _refused(response_data))
        status = 200
        if not executed and media_type == GRAPHQL_RESPONSE_JSON:
            assert isinstance(response_data, dict)
            status = _refusal_status(response_data)
            response_data = {k: v for k, v in response_data.items() if k != "data"}  # type: ignore[assignment]
        response = _GraphQLResponse(
            self.encode_json(response_data), status, CONTENT_TYPES[media_type], executed
        )
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

    def encode_json(self, data: object) -> str:
        """orjson: several times faster than the standard library on large answers. Text,
        not bytes: graphql-transport-ws messages must go out as text frames."""
        if isinstance(data, dict):
            shared = live_share.encoded_next(data)  # a live message's shared answer
            if shared is not None:
                return shared
        return orjson.dumps(data).decode()

    @property
    def state(self) -> GatewayState:
        assert self._state is not None, "the gateway has not started"
        return self._state

    @property
    def running(self) -> GatewayState | None:
        """The process's state while the lifespan runs, None before start-up and after."""
        return self._state

    def attach(self, state: GatewayState | None) -> None:
        """The lifespan hands the process's state in at start-up and takes it back at shutdown."""
        self._state = state

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        """GraphQL multipart request: `operations` must be a JSON object and `map` an object
        of path lists. Strawberry walks them without checking; what breaks there is 400."""
        try:
            operations = await super().parse_multipart(request)
        except (AttributeError, TypeError, ValueError, IndexError) as exc:
            raise HTTPException(400, _MALFORMED_MULTIPART) from exc
        if not isinstance(operations, dict):
            raise HTTPException(400, _MALFORMED_MULTIPART)
        trusted: dict[str, str] = self._trusted(operations)
        return trusted

    def parse_json(self, data: str | bytes) -> Any:
        found = super().parse_json(data)
        if isinstance(found, list):
            return [self._trusted(item) for item in found]
        return self._trusted(found)

    def parse_query_params(self, params: Mapping[str, str | None]) -> dict[str, Any]:
        found: dict[str, Any] = self._trusted(super().parse_query_params(params))
        return found

    def _trusted(self, request: Any) -> Any:
        """With PLANGRUPPE_TRUSTED_DOCUMENTS: the request's query becomes its trusted
        document's text, or it is refused (400 DOCUMENT_NOT_TRUSTED). The operation name
        goes to this request's log lines."""
        if isinstance(request, dict):
            logs.set_operation(request.get("operationName"))
        trusted = self.settings.trusted_documents
        if trusted is None or not isinstance(request, dict):
            return request
        try:
            text = trusted.resolve(request)
        except DocumentNotTrusted as refused:
            raise _NotTrusted(refused.message) from None
        metrics.trusted_operation.set(trusted.name_of(text))
        return {**request, "query": text}

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
        started = time.perf_counter()
        metrics.trusted_operation.set(None)
        try:
            return await self.run(request)
        except HTTPException as exc:
            return _http_error(exc, _media_type(request))
        finally:
            metrics.observe_request(started)

    async def _idempotent(self, request: Request, key: str) -> Response:
        """A retry with the same Idempotency-Key returns the first result, creating nothing."""
        if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
            return json_error(400, "Idempotency-Key must be 1-255 characters.")
        viewer = credentials(request.scope).viewer
        if viewer is None:
            return await self._answer(request)
        digest = hashlib.sha256(await request.body()).hexdigest()
        async with self.state.pool.acquire() as conn:
            claim = await idempotency.claim(conn, viewer.person_id, key, digest, self.state.clock())
        if claim.outcome == "replay":
            assert claim.response is not None
            # Only executed answers are stored, and those are 200 in either media type: the
            # retry gets the one its Accept header asks for, as the first request did.
            return Response(
                claim.response,
                media_type=CONTENT_TYPES[_media_type(request)],
                headers={"Idempotent-Replayed": "true"},
            )
        if claim.outcome == "mismatch":
            return json_error(422, "This Idempotency-Key was used for a different request.")
        if claim.outcome == "pending":
            return json_error(409, "A request with this Idempotency-Key is still running.")
        response = await self._answer(request)
        async with self.state.pool.acquire() as conn:
            if response.status_code == 200 and getattr(response, "executed", False):
                await idempotency.store(conn, viewer.person_id, key, bytes(response.body).decode())
            else:
                await idempotency.release(conn, viewer.person_id, key)
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        found = credentials(request.scope)
        ctx = self.state.context(found.viewer, found.token, found.client, request, response)
        ctx.api_key = found.api_key
        return ctx

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """The session token comes in connection_init; a bad one closes the socket (4403)."""
        params = context.connection_params or {}
        authorization = params.get("authorization") or params.get("Authorization")
        if authorization is None and context.request is not None:
            # A browser's cookie session: the upgrade carried the cookie, and
            # connection_init must repeat the CSRF cookie's value as csrfToken.
            try:
                authorization = cookie_authorization(
                    context.request.headers.get("cookie"), params.get("csrfToken")
                )
            except CsrfMismatch:
                raise ConnectionRejectionError() from None
        found = await self.state.auth.authenticate(
            authorization, context.client_addr, api_keys=False
        )
        viewer = found.viewer
        if viewer is None:
            raise ConnectionRejectionError()
        context.viewer = viewer
        logs.viewer.set(str(viewer.person_id))
        context.token = found.token
        context.loaders = Loaders(context.pool, viewer.person_id)
        acknowledged: UnsetType = UNSET
        return acknowledged


_MALFORMED_MULTIPART = (
    "A multipart request needs `operations` as a JSON object and `map` as an object of paths."
)


SUBSCRIPTION = OperationType.SUBSCRIPTION
_SUBSCRIPTIONS_OVER_WS = (
    "Subscriptions are served over WebSocket at /graphql (graphql-transport-ws)."
)


class _NotTrusted(HTTPException):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def _http_error(exc: HTTPException, media_type: str) -> Response:
    """A request GraphQL refused before executing it (bad JSON, GET for a mutation …)."""
    content_type = CONTENT_TYPES[media_type]
    if isinstance(exc, _NotTrusted):
        return JSONResponse(
            error_body(exc.reason, "DOCUMENT_NOT_TRUSTED"), status_code=400, media_type=content_type
        )
    cause = exc.__cause__
    if isinstance(cause, InvalidOperationTypeError) and cause.operation_type is SUBSCRIPTION:
        return JSONResponse(
            error_body(_SUBSCRIPTIONS_OVER_WS),
            status_code=400,
            media_type=content_type,
        )
    if isinstance(cause, InvalidOperationTypeError):
        return JSONResponse(
            error_body(exc.reason),
            status_code=405,
            headers={"Allow": "POST"},
            media_type=content_type,
        )
    return JSONResponse(
        error_body(exc.reason), status_code=exc.status_code, media_type=content_type
    )


class _GraphQLResponse(Response):
    """A GraphQL answer; `executed` is false for a request refused before execution (only
    executed answers are kept for an Idempotency-Key retry)."""

    def __init__(self, body: str, status: int, content_type: str, executed: bool) -> None:
        super().__init__(body, status_code=status, media_type=content_type)
        self.executed = executed


def _media_type(request: Request | WebSocket) -> str:
    return response_media_type(request.headers.get("accept")) or APPLICATION_JSON


def _refused(result: GraphQLHTTPResponse) -> bool:
    """No data and only errors without a path: GraphQL refused the request before execution
    (parse, validation, variable coercion, an API key outside its scope)."""
    errors = [e for e in result.get("errors") or [] if isinstance(e, dict)]
    return result.get("data") is None and bool(errors) and all("path" not in e for e in errors)


def _refusal_status(result: GraphQLHTTPResponse) -> int:
    errors = [e for e in result.get("errors") or [] if isinstance(e, dict)]
    codes = {(e.get("extensions") or {}).get("code") for e in errors}
    return 403 if codes == {"FORBIDDEN"} else 400


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

    app = Starlette(
        routes=[
            Route("/graphql", view),
            WebSocketRoute("/graphql", view),
            *files.routes(lambda: view.state),
            *oidc_routes.routes(lambda: view.state),
            *metrics.routes(lambda: view.state, settings.metrics_token),
            health.route(lambda: view.running),
            health.live_route(),
            *([] if settings.production else graphiql.routes()),
        ],
        lifespan=lifespan(
            settings,
            pool=pool,
            database=dsn or settings.database_url,
            clock=clock,
            senders=senders,
            run_workers=run_workers,
            attach=view.attach,
        ),
    )
    # The last added runs first: limits refuse a request before its token is looked up.
    app.add_middleware(
        AuthenticationMiddleware, backend=lambda: view.state.auth, api_key_paths=["/graphql"]
    )
    app.add_middleware(GraphQLHttpLimits)
    if settings.expose_sql_count:
        app.add_middleware(_StatementCount)
    # Outermost: a preflight is answered before limits or a token look-up, and the edge's
    # own refusals (413, 415, 503) carry the CORS headers so the page can read them.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-CSRF-Token"],
        # A browser's cookie session (OIDC) from an allowed origin; its CSRF header keeps
        # other sites from riding it. Never with "*".
        allow_credentials="*" not in settings.cors_origins,
        expose_headers=["Idempotent-Replayed", "Retry-After", "Content-Disposition"],
        max_age=600,
    )
    # Outermost of all: every answer, refusals included, carries its request id.
    app.add_middleware(logs.RequestContext)
    return app


class _StatementCount:
    """Benchmarks: the statements a request sent, its token look-up included, as a header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                await asyncio.sleep(0)  # asyncpg reports statements via call_soon
                header = (b"x-sql-statements", str(count.statements).encode())
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        with counting() as count:
            await self.app(scope, receive, send_counted)


def create_app_from_env() -> Starlette:
    """Factory for uvicorn workers: settings and DATABASE_URL from the environment."""
    return create_app(Settings.from_env())
