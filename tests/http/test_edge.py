"""The HTTP edge, over real HTTP: a request GraphQL cannot parse is 400 with a GraphQL-shaped
JSON error (never 500 text/plain), and the bearer token is looked up once, before GraphQL, by
one backend (gateway/authentication.py) whose statement the benchmark header still counts.

Each test sends all its cases to one gateway, one after the other: a case that breaks the
server shows in the next one too."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Gateway, running_gateway
from tests.support import FakeClock, make_user, session_for

ME = "{ me { firstName } }"


async def post_raw(gateway: Gateway, content: bytes, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        return await http.post(
            "/graphql", content=content, headers={"Content-Type": "application/json", **headers}
        )


def bad_request(response: httpx.Response, sent: object = None) -> dict[str, Any]:
    """The one error of a 400 answer in GraphQL's shape, as JSON."""
    assert response.status_code == 400, (sent, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), (sent, response.text)
    body: dict[str, Any] = response.json()
    assert set(body) == {"errors"}, (sent, body)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST", (sent, error)
    assert error["message"], (sent, error)
    return error


# Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong encoding, and
# Latin-1 text (what a client that forgets the charset sends).
INVALID_UTF8 = [
    b'{"query": "{ __typename }", "variables": {"x": "\x80"}}',
    b'{"query": "{ me { firstName } }", "variables": {"x": "\xe2\x82"}}',
    b'{"query": "\xc0\xaf"}',
    '{"query": "{ __typename }", "variables": {"navn": "Åse Ødegård"}}'.encode("latin-1"),
]

# JSON, but not an object (batching is off).
NOT_OBJECTS = ["42", '"{ __typename }"', "null", "true", "[]", '[{"query": "{ __typename }"}]', ""]

MALFORMED = [
    '{"query": "{ __typename }"',  # cut off
    "{query: '{ __typename }'}",  # not JSON
    '{"query": 42}',
    '{"query": "{ __typename }", "variables": [1]}',
    '{"query": "{ __typename }", "extensions": "x"}',
]

# (operations, map) of a GraphQL multipart request (an upload), malformed.
MALFORMED_UPLOADS = [
    ("42", '{"0": ["variables.file"]}'),
    ("[]", '{"0": ["variables.file"]}'),
    ("null", "{}"),
    ('"x"', '{"0": ["variables.file"]}'),
    ("{", '{"0": ["variables.file"]}'),
    ('{"query": 1}', "{}"),
    ('{"query": "{ __typename }", "variables": {"file": null}}', "[1]"),
    ('{"query": "{ __typename }", "variables": {"file": null}}', '{"0": [5]}'),
    ('{"query": "{ __typename }", "variables": {"file": null}}', '{"0": ["variables.file.x"]}'),
]


async def test_a_body_that_is_not_utf8_is_400_json(gateway: Gateway) -> None:
    for body in INVALID_UTF8:
        error = bad_request(await post_raw(gateway, body), body)
        assert "UTF-8" in error["message"], (body, error)


async def test_a_json_body_that_is_not_an_object_is_400_json(gateway: Gateway) -> None:
    for body in NOT_OBJECTS:
        bad_request(await post_raw(gateway, body.encode()), body)


async def test_other_malformed_requests_are_400_json_too(gateway: Gateway) -> None:
    for body in MALFORMED:
        bad_request(await post_raw(gateway, body.encode()), body)


async def test_an_upload_with_malformed_operations_or_map_is_400_json(gateway: Gateway) -> None:
    user = await make_user(gateway.pool, "kari")
    token = await session_for(gateway.pool, user, gateway.clock())
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        for operations, files_map in MALFORMED_UPLOADS:
            response = await http.post(
                "/graphql",
                data={"operations": operations, "map": files_map},
                files={"0": ("notat.txt", b"hei", "text/plain")},
                headers={"Authorization": f"Bearer {token}"},
            )
            bad_request(response, (operations, files_map))


async def test_bad_variables_in_a_get_are_400_json(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        response = await http.get(
            "/graphql", params={"query": "{ __typename }", "variables": "{not json"}
        )
    bad_request(response)


async def test_a_mutation_over_get_is_405_json(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        response = await http.get("/graphql", params={"query": "mutation { logout }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_refused_body_costs_the_caller_nothing(gateway: Gateway) -> None:
    """A 400 for the body leaves the session alone, and a good body then works."""
    user = await make_user(gateway.pool, "kari", first_name="Kari")
    token = await session_for(gateway.pool, user, gateway.clock())
    auth = {"Authorization": f"Bearer {token}"}
    bad_request(await post_raw(gateway, b"[1, 2]", **auth))
    bad_request(await post_raw(gateway, b'{"query": "\xff"}', **auth))
    good = await post_raw(gateway, json.dumps({"query": ME}).encode(), **auth)
    assert good.status_code == 200
    assert good.json() == {"data": {"me": {"firstName": "Kari"}}}


# --- the token look-up as a statement of the request (bench/README.md's figures) ---------------


@pytest.fixture
async def counting_gateway(pool: Any, settings: Any, clock: FakeClock) -> AsyncIterator[Gateway]:
    async for g in running_gateway(pool, settings, clock, expose_sql_count=True):
        yield g


async def test_the_token_look_up_is_counted_with_the_request(counting_gateway: Gateway) -> None:
    gateway = counting_gateway
    user = await make_user(gateway.pool, "kari")
    token = await session_for(gateway.pool, user, gateway.clock())
    typename = json.dumps({"query": "{ __typename }"}).encode()
    anonymous = await post_raw(gateway, typename)
    with_token = await post_raw(gateway, typename, Authorization=f"Bearer {token}")
    assert anonymous.status_code == with_token.status_code == 200
    assert anonymous.headers["x-sql-statements"] == "0"
    assert with_token.headers["x-sql-statements"] == "1"  # the session, looked up once


async def test_file_routes_and_idempotency_refuse_in_graphql_error_shape(gateway: Gateway) -> None:
    """They answered text/plain, so a frontend had two error shapes to parse."""
    user = await make_user(gateway.pool, "frida")
    token = await session_for(gateway.pool, user)
    auth = {"Authorization": f"Bearer {token}"}
    unknown = "00000000-0000-0000-0000-000000000000"
    cases = [
        ("GET", f"/plans/{unknown}/print.pdf", {}, None, 401, "UNAUTHENTICATED"),
        ("GET", f"/plans/{unknown}/print.pdf", auth, None, 404, "NOT_FOUND"),
        ("GET", f"/plans/{unknown}/archives/{unknown}.xml", auth, None, 404, "NOT_FOUND"),
        ("GET", f"/plans/{unknown}/documents/{unknown}", auth, None, 404, "NOT_FOUND"),
        (
            "POST",
            "/graphql",
            {**auth, "Idempotency-Key": "k" * 256},
            {"query": "{ me { id } }"},
            400,
            "BAD_REQUEST",
        ),
    ]
    for method, path, headers, body, status, code in cases:
        response = await gateway.client.http.request(method, path, headers=headers, json=body)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"].startswith("application/json"), path
        assert [e["extensions"]["code"] for e in response.json()["errors"]] == [code], path
