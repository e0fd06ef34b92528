"""GraphQL-over-HTTP rules, query limits, production hardening and error masking, over real HTTP."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from websockets.asyncio.client import connect
from websockets.typing import Origin, Subprotocol

from db import accounts
from resolvers import secret_box
from resolvers.auth import token_hash
from tests.conftest import Gateway, Mailbox, running_gateway
from tests.support import FakeClock, User, error_codes, make_user, only_error

LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { challengeId } }"""

# Tables a login attempt writes to, whether the password is right or wrong.
LOGIN_TABLES = ("login_attempts", "login_challenges", "outbox", "audit_log")


async def raw(gateway: Gateway, method: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        return await http.request(method, "/graphql", **kwargs)


async def row_counts(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in LOGIN_TABLES}


async def session_token(gateway: Gateway, user: User) -> str:
    """A live session for the user, made straight in the database."""
    token = secrets.token_urlsafe(32)
    now = gateway.clock()
    async with gateway.pool.acquire() as conn:
        await accounts.insert_session(
            conn,
            account_id=user.account_id,
            token_hash=token_hash(token),
            now=now,
            expires_at=now + dt.timedelta(hours=12),
            client_addr="127.0.0.1",
        )
    return token


def extensions(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e.get("extensions", {}) for e in body.get("errors", [])]


def too_complex(body: dict[str, Any], limit: int) -> bool:
    return {"code": "QUERY_TOO_COMPLEX", "limit": limit} in extensions(body)


def nested(levels: int) -> str:
    """A valid query `levels` deep: plan -> participants -> plan -> ... (API.md's cycle)."""
    names = ['plan(id: "00000000-0000-0000-0000-000000000000")'] + ["participants", "plan"] * 20
    inner = "id"
    for name in reversed(names[:levels]):
        inner = f"{name} {{ {inner} }}"
    return f"{{ {inner} }}"


def nested_unknown(levels: int) -> str:
    """`{ me { address { address ... { street } } } }`: deep, and invalid besides."""
    inner = "street"
    for _ in range(levels - 1):
        inner = f"address {{ {inner} }}"
    return f"{{ me {{ {inner} }} }}"


@pytest.fixture
async def production(pool: asyncpg.Pool, settings: Any, clock: FakeClock) -> AsyncIterator[Gateway]:
    async for g in running_gateway(
        pool,
        settings,
        clock,
        env="production",
        smtp_starttls=True,
        secret_keys=(secret_box.generate_key(),),
    ):
        yield g


# --- GET, content types, body size -------------------------------------------------------------


async def test_a_query_over_get_is_answered(gateway: Gateway) -> None:
    user = await make_user(gateway.pool, "gunnar", first_name="Gunnar")
    token = await session_token(gateway, user)
    response = await raw(
        gateway,
        "GET",
        params={"query": "{ me { id firstName } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"me": {"id": str(user.person_id), "firstName": "Gunnar"}}}


async def test_a_mutation_over_get_is_405_and_does_not_run(gateway: Gateway) -> None:
    user = await make_user(gateway.pool, "guri")
    before = await row_counts(gateway.pool)
    query = f'mutation {{ login(username: "guri", password: "{user.password}") {{ challengeId }} }}'
    response = await raw(gateway, "GET", params={"query": query})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert await row_counts(gateway.pool) == before


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("text/plain", json.dumps({"query": "{ __typename }"})),
        ("text/plain;charset=UTF-8", json.dumps({"query": "{ __typename }"})),
        ("application/x-www-form-urlencoded", "query=%7B+__typename+%7D"),
        (
            "multipart/form-data; boundary=xyz",
            '--xyz\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
            '{"query": "{ __typename }"}\r\n--xyz--\r\n',
        ),
    ],
)
async def test_form_and_text_bodies_are_415(
    gateway: Gateway, content_type: str, content: str
) -> None:
    response = await raw(gateway, "POST", content=content, headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert "data" not in response.json()


async def test_the_same_request_as_json_is_answered(gateway: Gateway) -> None:
    # The 415 test above refuses the content type, not the request.
    response = await raw(gateway, "POST", json={"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_a_2_mib_body_is_413(gateway: Gateway) -> None:
    body = json.dumps({"query": "{ __typename }", "variables": {"pad": "x" * (2 * 1024 * 1024)}})
    response = await raw(
        gateway, "POST", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_a_2_mib_body_without_content_length_is_413(gateway: Gateway) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename }", "variables": {"pad": "'
        for _ in range(32):
            yield b"x" * 65536
        yield b'"}}'

    response = await raw(
        gateway, "POST", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


async def test_a_body_just_under_1_mib_is_not_refused_for_size(gateway: Gateway) -> None:
    head = json.dumps({"query": "{ __typename }", "variables": {"pad": ""}})
    body = head.replace('"pad": ""', '"pad": "' + "x" * (1024 * 1024 - len(head) - 16) + '"')
    assert 1024 * 1024 - 100 < len(body.encode()) < 1024 * 1024
    response = await raw(
        gateway, "POST", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text[:200]
    assert response.json() == {"data": {"__typename": "Query"}}


# --- depth, aliases, tokens --------------------------------------------------------------------


async def test_a_query_30_levels_deep_is_too_complex(gateway: Gateway) -> None:
    user = await make_user(gateway.pool, "dagny")
    token = await session_token(gateway, user)
    body = await gateway.client.post(nested(30), token=token)
    # The query is valid; its depth is its only fault.
    assert extensions(body) == [{"code": "QUERY_TOO_COMPLEX", "limit": 12}], body
    assert body.get("data") is None


async def test_depth_limit_is_12(gateway: Gateway) -> None:
    user = await make_user(gateway.pool, "dagfinn")
    token = await session_token(gateway, user)
    at_limit = await gateway.client.post(nested(12), token=token)
    over = await gateway.client.post(nested(13), token=token)
    assert "QUERY_TOO_COMPLEX" not in error_codes(at_limit), at_limit
    assert "plan" in (at_limit.get("data") or {}), at_limit  # it ran
    assert extensions(over) == [{"code": "QUERY_TOO_COMPLEX", "limit": 12}], over
    assert over.get("data") is None


async def test_depth_is_counted_before_fields_are_checked(gateway: Gateway) -> None:
    body = await gateway.client.post(nested_unknown(30))
    assert too_complex(body, 12), body
    assert body.get("data") is None


async def test_deep_introspection_is_too_complex(gateway: Gateway) -> None:
    inner = "name"
    for _ in range(14):
        inner = f"fields {{ type {{ {inner} }} }}"
    body = await gateway.client.post(f"{{ __schema {{ types {{ {inner} }} }} }}")
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"], body
    assert body.get("data") is None


async def test_100_aliased_logins_are_refused_before_any_resolver_runs(
    gateway: Gateway, smtp: Mailbox
) -> None:
    user = await make_user(gateway.pool, "kari")
    fields = " ".join(
        f"a{i}: login(username: $u, password: $p) {{ challengeId }}" for i in range(100)
    )
    query = f"mutation($u: String!, $p: String!) {{ {fields} }}"
    before = await row_counts(gateway.pool)

    body = await gateway.client.post(query, {"u": "kari", "p": user.password})

    assert too_complex(body, 30), body
    assert body.get("data") is None
    assert await row_counts(gateway.pool) == before
    assert await gateway.deliver() == 0
    assert smtp.messages == []

    # One login on its own, right and then wrong, writes to every one of those tables:
    # the check above would have seen a resolver run.
    right = await gateway.client.post(LOGIN, {"u": "kari", "p": user.password})
    assert "errors" not in right, right
    wrong = await gateway.client.post(LOGIN, {"u": "kari", "p": "Wrong-password-1"})
    assert error_codes(wrong) == ["INVALID_CREDENTIALS"]
    after = await row_counts(gateway.pool)
    assert all(after[t] > before[t] for t in LOGIN_TABLES), (before, after)


async def test_31_aliases_are_refused_and_30_allowed(gateway: Gateway) -> None:
    user = await make_user(gateway.pool, "sigrid", first_name="Sigrid")
    token = await session_token(gateway, user)

    def aliases(n: int) -> str:
        return "{ " + " ".join(f"m{i}: me {{ firstName }}" for i in range(n)) + " }"

    refused = await gateway.client.post(aliases(31), token=token)
    assert too_complex(refused, 30), refused
    assert refused.get("data") is None

    allowed = await gateway.client.post(aliases(30), token=token)
    assert "errors" not in allowed, allowed
    assert allowed["data"] == {f"m{i}": {"firstName": "Sigrid"} for i in range(30)}


async def test_more_than_5000_tokens_is_too_complex(gateway: Gateway) -> None:
    # `{ me { id ... } }`: five tokens around the ids, 5001 in all.
    over = await gateway.client.post("{ me { " + "id " * 4996 + "} }")
    assert too_complex(over, 5000), over
    assert over.get("data") is None


def with_tokens(count: int) -> str:
    """`{ __typename(x: [1 1 ...]) }`: nine tokens around the list; cheap to validate."""
    return "{ __typename(x: [" + "1 " * (count - 9) + "]) }"


async def test_token_limit_is_5000(gateway: Gateway) -> None:
    at_limit = await gateway.client.post(with_tokens(5000))
    over = await gateway.client.post(with_tokens(5001))
    # 5000 tokens are parsed, and then refused only for the argument that does not exist.
    assert "Unknown argument 'x'" in only_error(at_limit)["message"], at_limit
    assert error_codes(at_limit) == ["BAD_USER_INPUT"]
    assert too_complex(over, 5000), over


# --- auth mutations stand alone ----------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "mutation($u: String!, $p: String!) {"
        " login(username: $u, password: $p) { challengeId } logout }",
        "mutation($u: String!, $p: String!) {"
        " a: login(username: $u, password: $p) { challengeId }"
        " b: login(username: $u, password: $p) { challengeId } }",
        "mutation($u: String!, $p: String!) {"
        " __typename login(username: $u, password: $p) { challengeId } }",
        "mutation($u: String!, $p: String!) { ... on Mutation {"
        " a: login(username: $u, password: $p) { challengeId }"
        " b: login(username: $u, password: $p) { challengeId } } }",
        "mutation($u: String!, $p: String!) { ...Twice }"
        " fragment Twice on Mutation {"
        " a: login(username: $u, password: $p) { challengeId }"
        " b: login(username: $u, password: $p) { challengeId } }",
        "mutation($u: String!, $p: String!) { ...One logout }"
        " fragment One on Mutation { login(username: $u, password: $p) { challengeId } }",
    ],
    ids=["with-logout", "two-aliases", "with-typename", "inline-fragment", "fragment", "mixed"],
)
async def test_an_auth_mutation_must_be_alone(gateway: Gateway, query: str) -> None:
    user = await make_user(gateway.pool, "nils")
    before = await row_counts(gateway.pool)
    body = await gateway.client.post(query, {"u": "nils", "p": user.password})
    assert "QUERY_TOO_COMPLEX" in error_codes(body), body
    assert body.get("data") is None
    assert await row_counts(gateway.pool) == before


async def test_an_auth_mutation_alone_in_a_fragment_is_allowed(gateway: Gateway) -> None:
    user = await make_user(gateway.pool, "nora")
    body = await gateway.client.post(
        "mutation($u: String!, $p: String!) { ...One }"
        " fragment One on Mutation { login(username: $u, password: $p) { challengeId } }",
        {"u": "nora", "p": user.password},
    )
    assert "errors" not in body, body
    assert body["data"]["login"]["challengeId"]


# --- error shapes ------------------------------------------------------------------------------


def assert_no_internals(response: httpx.Response) -> None:
    text = response.text
    for leak in ("Traceback", 'File "', ".py", "stacktrace", "exception"):
        assert leak not in text, text


@pytest.mark.parametrize(
    "query",
    ["{ me { id nickname } }", "{ me { id ", "query { me { id } } }", "{ me(id: 1) { id } }"],
)
async def test_bad_documents_get_a_code_and_no_stack_trace(gateway: Gateway, query: str) -> None:
    response = await raw(gateway, "POST", json={"query": query})
    assert response.status_code == 200
    body = response.json()
    assert error_codes(body) == ["BAD_USER_INPUT"] * len(body["errors"]), body
    assert body.get("data") is None
    assert_no_internals(response)


async def test_an_unexpected_error_is_masked_as_internal(gateway: Gateway) -> None:
    user = await make_user(gateway.pool, "liv")
    token = await session_token(gateway, user)
    assert (await gateway.client.post("{ me { id } }", token=token))["data"]["me"] is not None

    async with gateway.pool.acquire() as conn:
        await conn.execute("ALTER TABLE persons RENAME TO persons_gone")

    response = await raw(
        gateway,
        "POST",
        json={"query": "{ me { id firstName } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    body = response.json()
    error = only_error(body)
    assert error["extensions"] == {"code": "INTERNAL"}
    assert body["data"] == {"me": None}
    assert_no_internals(response)
    for leak in ("persons", "relation", "SELECT", "asyncpg", "UndefinedTable", "does not exist"):
        assert leak not in response.text, response.text


# --- production and development ----------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "{ __schema { queryType { name } } }",
        '{ __type(name: "Person") { fields { name } } }',
        "query IntrospectionQuery { __schema { types { name } } }",
    ],
)
async def test_production_refuses_introspection(production: Gateway, query: str) -> None:
    body = await production.client.post(query)
    assert body.get("data") is None
    assert error_codes(body) and all(error_codes(body)), body


async def test_development_allows_introspection(gateway: Gateway) -> None:
    body = await gateway.client.post("{ __schema { queryType { name } } }")
    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_production_does_not_serve_graphiql(production: Gateway) -> None:
    response = await raw(production, "GET", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "graphiql" not in response.text.lower()
    assert not response.headers.get("content-type", "").startswith("text/html")


async def test_development_serves_graphiql(gateway: Gateway) -> None:
    response = await raw(gateway, "GET", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


MISSPELT = [
    "{ mee { id } }",
    "{ me { firstNam } }",
    'mutation { login(username: "a", pasword: "b") { challengeId } }',
    "query { me { ...F } } fragment F on Persn { id }",
    'mutation { createAccount(personId: "1", username: "ola", otpChannel: EMAL) }',
]


@pytest.mark.parametrize("query", MISSPELT)
async def test_production_makes_no_suggestions(production: Gateway, query: str) -> None:
    body = await production.client.post(query)
    assert body.get("data") is None
    assert error_codes(body) and set(error_codes(body)) == {"BAD_USER_INPUT"}, body
    assert "Did you mean" not in json.dumps(body), body


@pytest.mark.parametrize("query", MISSPELT)
async def test_development_suggests(gateway: Gateway, query: str) -> None:
    body = await gateway.client.post(query)
    assert any("Did you mean" in e["message"] for e in body["errors"]), body


# --- WebSocket ---------------------------------------------------------------------------------


def ws_url(gateway: Gateway) -> str:
    return gateway.url.replace("http://", "ws://") + "/graphql"


async def test_websocket_speaks_graphql_transport_ws(gateway: Gateway) -> None:
    user = await make_user(gateway.pool, "vidar")
    token = await session_token(gateway, user)
    async with connect(ws_url(gateway), subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}


async def test_websocket_refuses_the_legacy_graphql_ws_protocol(gateway: Gateway) -> None:
    async with connect(ws_url(gateway), subprotocols=[Subprotocol("graphql-ws")]) as ws:
        assert ws.subprotocol != "graphql-ws"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4406


async def test_websocket_refuses_a_foreign_origin(gateway: Gateway) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect(
            ws_url(gateway),
            subprotocols=[Subprotocol("graphql-transport-ws")],
            origin=Origin("https://evil.example"),
        ):
            pass
    assert refused.value.response.status_code == 403


async def test_websocket_accepts_an_allowed_origin(
    pool: asyncpg.Pool, settings: Any, clock: FakeClock
) -> None:
    async for g in running_gateway(
        pool, settings, clock, cors_origins=("https://plan.kommune.example",)
    ):
        async with connect(
            ws_url(g),
            subprotocols=[Subprotocol("graphql-transport-ws")],
            origin=Origin("https://plan.kommune.example"),
        ) as ws:
            assert ws.subprotocol == "graphql-transport-ws"
        with pytest.raises(websockets.InvalidStatus):
            async with connect(ws_url(g), origin=Origin("https://evil.example")):
                pass


# --- health ------------------------------------------------------------------------------------


async def test_health(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_an_empty_selection_set_is_bad_input_not_a_bare_error(gateway: Gateway) -> None:
    """graphql-core parses `{ me { } }`; the depth limiter then answered a raw Python message
    with no code (found by the neighbour walk)."""
    for query in ("{ }", "{ me { } }", "{ plans { edges { node { id goals { } } } } }"):
        body = await gateway.client.post(query)
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert "max()" not in str(body), body
        assert body.get("data") is None, body
