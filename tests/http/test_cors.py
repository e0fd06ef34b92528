"""CORS from PLANGRUPPE_CORS_ORIGINS (Starlette's CORSMiddleware), one list for HTTP and the
WebSocket.

- A preflight from a listed origin is allowed with Authorization, Content-Type and
  Idempotency-Key, methods GET and POST; it is answered before the body limits, the token
  look-up and the view (which answers a plain OPTIONS with 405).
- Any other origin gets no Access-Control-Allow-Origin, on a preflight or a request.
- The edge's refusals (415, 413, 503) to a listed origin carry the CORS headers, so the page
  can read them; so do the headers a frontend needs (Idempotent-Replayed, Retry-After).
- The WebSocket accepts a listed origin and refuses another; PLANGRUPPE_ALLOWED_ORIGINS is
  a deprecated alias of the same list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from websockets.typing import Origin, Subprotocol

from db.pool import create_pool
from gateway.settings import ConfigError, Settings
from tests.conftest import Gateway, running_gateway
from tests.support import FakeClock, make_user, session_for

FRONTEND = "https://plan.kommune.example"
OTHER = "https://evil.example"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
}


@pytest.fixture
async def cors_gateway(
    pool: asyncpg.Pool, settings: Settings, clock: FakeClock
) -> AsyncIterator[Gateway]:
    async for g in running_gateway(pool, settings, clock, cors_origins=(FRONTEND,)):
        yield g


def header_list(response: httpx.Response, name: str) -> set[str]:
    return {v.strip().lower() for v in response.headers.get(name, "").split(",") if v.strip()}


# --- preflight ------------------------------------------------------------------------------


async def test_any_origin_never_carries_credentials(
    pool: asyncpg.Pool, settings: Settings, clock: FakeClock
) -> None:
    """With PLANGRUPPE_CORS_ORIGINS=*, any site may call with a bearer token, but no browser
    may send the session cookie along: credentials are not allowed."""
    async for g in running_gateway(pool, settings, clock, cors_origins=("*",)):
        async with httpx.AsyncClient(base_url=g.url) as http:
            response = await http.options(
                "/graphql", headers={"Origin": "https://evil.example", **PREFLIGHT}
            )
        assert response.status_code == 200
        assert "access-control-allow-credentials" not in response.headers


async def test_a_preflight_from_a_listed_origin_is_allowed(cors_gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=cors_gateway.url) as http:
        for path in ("/graphql", "/plans/x/documents/y"):
            response = await http.options(path, headers={"Origin": FRONTEND, **PREFLIGHT})
            assert response.status_code == 200, (path, response.text)
            assert response.headers["access-control-allow-origin"] == FRONTEND
            assert {"get", "post"} <= header_list(response, "access-control-allow-methods")
            assert {
                "authorization",
                "content-type",
                "idempotency-key",
                "x-csrf-token",
            } <= header_list(response, "access-control-allow-headers")
            # A browser's cookie session (OIDC) from a listed origin; its CSRF header is what
            # keeps other sites from riding it (tests/http/test_oidc_login.py).
            assert response.headers["access-control-allow-credentials"] == "true"
            assert "origin" in header_list(response, "vary")
        # The view itself answers OPTIONS with 405: the preflight never reached it.
        plain = await http.options("/graphql")
        assert plain.status_code == 405


async def test_a_preflight_for_another_method_or_header_is_refused(cors_gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=cors_gateway.url) as http:
        delete = await http.options(
            "/graphql",
            headers={"Origin": FRONTEND, "Access-Control-Request-Method": "DELETE"},
        )
        cookie = await http.options(
            "/graphql",
            headers={
                "Origin": FRONTEND,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-custom",
            },
        )
    assert delete.status_code == 400
    assert cookie.status_code == 400


@pytest.mark.parametrize("origin", [OTHER, "https://plan.kommune.example.evil.example", "null"])
async def test_another_origin_gets_no_allow_origin(cors_gateway: Gateway, origin: str) -> None:
    async with httpx.AsyncClient(base_url=cors_gateway.url) as http:
        preflight = await http.options("/graphql", headers={"Origin": origin, **PREFLIGHT})
        request = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": origin}
        )
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code == 400
    # CORS is the browser's to enforce: the answer comes, without permission to read it.
    assert request.status_code == 200
    assert "access-control-allow-origin" not in request.headers


async def test_no_origin_is_allowed_by_default(gateway: Gateway) -> None:
    assert gateway.settings.cors_origins == ()
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        preflight = await http.options("/graphql", headers={"Origin": FRONTEND, **PREFLIGHT})
        request = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": FRONTEND}
        )
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in request.headers


# --- requests and the edge's refusals --------------------------------------------------------


async def test_answers_to_a_listed_origin_carry_cors_headers(cors_gateway: Gateway) -> None:
    user = await make_user(cors_gateway.pool, "cora")
    token = await session_for(cors_gateway.pool, user)
    headers = {"Origin": FRONTEND, "Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=cors_gateway.url) as http:
        answers = {
            "graphql": await http.post(
                "/graphql", json={"query": "{ me { id } }"}, headers=headers
            ),
            "415": await http.post(
                "/graphql",
                content="query={__typename}",
                headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
            ),
            "413": await http.post(
                "/graphql",
                content=b"{" + b" " * (1024 * 1024 + 1) + b"}",
                headers={**headers, "Content-Type": "application/json"},
            ),
            "400": await http.post(
                "/graphql",
                content=b"[]",
                headers={**headers, "Content-Type": "application/json"},
            ),
            "download 401": await http.get("/plans/x/documents/y", headers={"Origin": FRONTEND}),
        }
    expected = {"graphql": 200, "415": 415, "413": 413, "400": 400, "download 401": 401}
    for what, response in answers.items():
        assert response.status_code == expected[what], (what, response.text)
        assert response.headers["access-control-allow-origin"] == FRONTEND, what
        exposed = header_list(response, "access-control-expose-headers")
        assert {"idempotent-replayed", "retry-after", "content-disposition"} <= exposed, what
    assert answers["graphql"].json()["data"]["me"]["id"] == str(user.person_id)


async def test_a_503_from_the_token_look_up_carries_cors_headers(
    db_dsn: str, settings: Settings, clock: FakeClock
) -> None:
    """The look-up cannot get a connection (the only one is held): 503 after its timeout,
    readable by the listed origin."""
    small = await create_pool(db_dsn, min_size=1, max_size=1)
    try:
        user = await make_user(small, "ulla")
        token = await session_for(small, user)
        async for g in running_gateway(small, settings, clock, cors_origins=(FRONTEND,)):
            async with small.acquire(), httpx.AsyncClient(base_url=g.url, timeout=30) as http:
                response = await http.post(
                    "/graphql",
                    json={"query": "{ me { id } }"},
                    headers={"Origin": FRONTEND, "Authorization": f"Bearer {token}"},
                )
            assert response.status_code == 503, response.text
            assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert response.headers["access-control-allow-origin"] == FRONTEND
            assert "retry-after" in header_list(response, "access-control-expose-headers")
    finally:
        await small.close()


# --- WebSocket: the same list ------------------------------------------------------------------


def ws_url(gateway: Gateway) -> str:
    return gateway.url.replace("http://", "ws://", 1) + "/graphql"


async def test_the_websocket_uses_the_same_list(cors_gateway: Gateway) -> None:
    async with websockets.connect(
        ws_url(cors_gateway),
        subprotocols=[Subprotocol("graphql-transport-ws")],
        origin=Origin(FRONTEND),
    ) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(
            ws_url(cors_gateway),
            subprotocols=[Subprotocol("graphql-transport-ws")],
            origin=Origin(OTHER),
        ):
            pass
    assert refused.value.response.status_code == 403


async def test_the_deprecated_allowed_origins_opens_http_and_the_websocket(
    pool: asyncpg.Pool, settings: Settings, clock: FakeClock
) -> None:
    legacy = Settings.from_env({"PLANGRUPPE_ALLOWED_ORIGINS": FRONTEND})
    async for g in running_gateway(pool, settings, clock, cors_origins=legacy.cors_origins):
        async with httpx.AsyncClient(base_url=g.url) as http:
            preflight = await http.options("/graphql", headers={"Origin": FRONTEND, **PREFLIGHT})
        assert preflight.headers["access-control-allow-origin"] == FRONTEND
        async with websockets.connect(
            ws_url(g), subprotocols=[Subprotocol("graphql-transport-ws")], origin=Origin(FRONTEND)
        ) as ws:
            assert ws.subprotocol == "graphql-transport-ws"


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        (None, ()),
        ("", ()),
        (f"{FRONTEND}, http://localhost:5173,", (FRONTEND, "http://localhost:5173")),
        ("HTTPS://Plan.Kommune.Example:443/", (FRONTEND,)),
        ("http://127.0.0.1:80", ("http://127.0.0.1",)),
        (f"{FRONTEND},{FRONTEND}", (FRONTEND,)),
        ("*", ("*",)),
    ],
)
def test_cors_origins_are_read_as_browsers_send_them(
    value: str | None, origins: tuple[str, ...]
) -> None:
    env = {} if value is None else {"PLANGRUPPE_CORS_ORIGINS": value}
    assert Settings.from_env(env).cors_origins == origins


@pytest.mark.parametrize(
    "value", ["plan.kommune.example", "https://plan.kommune.example/app", "ftp://x.example", "null"]
)
def test_a_value_that_is_not_an_origin_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="PLANGRUPPE_CORS_ORIGINS"):
        Settings.from_env({"PLANGRUPPE_CORS_ORIGINS": value})


def test_allowed_origins_is_a_deprecated_alias(caplog: Any) -> None:
    alone = Settings.from_env({"PLANGRUPPE_ALLOWED_ORIGINS": f"{FRONTEND}/"})
    assert alone.cors_origins == (FRONTEND,)
    assert "PLANGRUPPE_ALLOWED_ORIGINS is deprecated" in caplog.text
    same = Settings.from_env(
        {"PLANGRUPPE_ALLOWED_ORIGINS": FRONTEND, "PLANGRUPPE_CORS_ORIGINS": FRONTEND}
    )
    assert same.cors_origins == (FRONTEND,)
    with pytest.raises(ConfigError, match="set only PLANGRUPPE_CORS_ORIGINS"):
        Settings.from_env(
            {"PLANGRUPPE_ALLOWED_ORIGINS": OTHER, "PLANGRUPPE_CORS_ORIGINS": FRONTEND}
        )
