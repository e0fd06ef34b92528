"""One auth backend: the bearer token becomes a viewer (or a reporting tool's API key) once
per request, for GraphQL over HTTP, the file routes and the WebSocket.

The shape is Starlette's AuthenticationMiddleware: a backend turns credentials into a
caller, and a plain ASGI middleware puts the result in the scope (`scope["auth"]`). A
WebSocket's token arrives later, in graphql-transport-ws `connection_init`; the view calls
the same backend then. When PostgreSQL does not answer the look-up in time, the caller gets
503 (HTTP) or a 1013 "try again later" close (WebSocket), never a 500.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway import logs
from gateway.database import UNAVAILABLE_ERRORS, query_within
from gateway.http_limits import error_reply
from resolvers import admin, auth
from resolvers.context import ApiKeyViewer, Clock, Viewer
from resolvers.session_cookies import CSRF_COOKIE, SESSION_COOKIE

T = TypeVar("T")

# A session look-up is one indexed statement: PostgreSQL that takes longer is in trouble.
LOOKUP_TIMEOUT = 5.0

# A browser's session after an OpenID Connect login (gateway/oidc_routes.py): the token in
# an HttpOnly cookie, and a CSRF value in a readable one that the page repeats in a header
# (or, on the WebSocket, as `csrfToken` in connection_init).
# The cookie names: resolvers/session_cookies.py.
CSRF_HEADER = b"x-csrf-token"


def cookie_authorization(cookie_header: str | None, csrf_sent: object) -> str | None:
    """`Bearer <token>` from the session cookie when the CSRF value sent matches its cookie;
    None when there is no session cookie. Raises CsrfMismatch when there is one but the
    value sent is missing or wrong (a cross-site request must not ride the cookie)."""
    cookies: Mapping[str, str] = cookie_parser(cookie_header or "")
    session = cookies.get(SESSION_COOKIE)
    if not session:
        return None
    expected = cookies.get(CSRF_COOKIE)
    if not (
        expected
        and isinstance(csrf_sent, str)
        and hmac.compare_digest(expected.encode(), csrf_sent.encode())
    ):
        raise CsrfMismatch
    return f"Bearer {session}"


class CsrfMismatch(Exception):
    """A session cookie without the matching CSRF value."""


class DatabaseUnavailable(Exception):
    """PostgreSQL did not answer in time, or the connection failed."""


@dataclass(frozen=True)
class Credentials:
    """Who is asking: a person's session, a reporting tool's API key, or nobody."""

    client: str | None
    token: str | None = None  # the session token, for logout and live re-checks
    viewer: Viewer | None = None
    api_key: ApiKeyViewer | None = None


def bearer(value: object) -> str | None:
    """The token of an `Authorization: Bearer …` value."""
    if isinstance(value, str) and value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return None


class BearerBackend:
    """Session tokens and API keys to credentials, with a bounded database look-up."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock, timeout: float = LOOKUP_TIMEOUT) -> None:
        self.pool = pool
        self.clock = clock
        self.timeout = timeout

    async def authenticate(
        self, authorization: object, client: str | None, *, api_keys: bool = True
    ) -> Credentials:
        """The caller behind an Authorization value; raises DatabaseUnavailable."""
        token = bearer(authorization)
        if token is None:
            return Credentials(client)
        if token.startswith(admin.API_KEY_PREFIX):
            if not api_keys:
                return Credentials(client)
            key = await self._lookup(
                lambda conn: admin.api_key_viewer(conn, token, self.clock(), client)
            )
            return Credentials(client, api_key=key)
        viewer = await self._lookup(lambda conn: auth.viewer_for_token(conn, token, self.clock()))
        return Credentials(client, token=token, viewer=viewer)

    async def _lookup(self, work: Callable[[PoolConnectionProxy], Awaitable[T]]) -> T:
        try:
            return await query_within(self.pool, self.timeout, work)
        except UNAVAILABLE_ERRORS as exc:
            raise DatabaseUnavailable from exc


class AuthenticationMiddleware:
    """Puts the caller's Credentials in `scope["auth"]` for every HTTP request and WebSocket.

    `backend` is called per request: the backend exists once the app has started (its pool
    is opened in the lifespan). API keys count only on `api_key_paths`: elsewhere (the file
    routes) a key is no caller, and is neither looked up nor audited as used."""

    def __init__(
        self,
        app: ASGIApp,
        backend: Callable[[], BearerBackend],
        api_key_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self.backend = backend
        self.api_key_paths = frozenset(api_key_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        peer = scope.get("client")
        client = peer[0] if peer else None
        if scope["type"] == "websocket":
            # The token comes in connection_init; the view asks the backend then.
            scope["auth"] = Credentials(client)
        else:
            header = _header(scope, b"authorization")
            if header is None:
                try:
                    header = cookie_authorization(
                        _header(scope, b"cookie"), _header(scope, CSRF_HEADER)
                    )
                except CsrfMismatch:
                    await error_reply(
                        send,
                        403,
                        "A request with the session cookie must repeat the CSRF cookie's value"
                        " in the X-CSRF-Token header.",
                        "CSRF_FAILED",
                    )
                    return
            api_keys = scope["path"] in self.api_key_paths
            try:
                scope["auth"] = await self.backend().authenticate(header, client, api_keys=api_keys)
            except DatabaseUnavailable:
                await unavailable(send)
                return
            found = scope["auth"].viewer
            if found is not None:
                logs.viewer.set(str(found.person_id))
        await self.app(scope, receive, send)


def credentials(scope: Scope) -> Credentials:
    """What AuthenticationMiddleware found for this request."""
    found = scope.get("auth")
    assert isinstance(found, Credentials), "AuthenticationMiddleware did not run"
    return found


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def unavailable(send: Send) -> None:
    """503 with a GraphQL-shaped error: the database did not answer; try again shortly."""
    await error_reply(
        send,
        503,
        "The service is temporarily unavailable. Try again shortly.",
        "SERVICE_UNAVAILABLE",
        headers=[(b"retry-after", b"5")],
    )
