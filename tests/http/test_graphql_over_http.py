"""GraphQL over HTTP (the current spec draft): the response media type and its status codes.

- `application/graphql-response+json` for a client that names it, and for a request with no
  Accept header at all: 400 without `data` for a document that does not parse or validate
  (QUERY_TOO_COMPLEX included) or variables that do not coerce, 200 when execution ran,
  field errors or not.
- `application/json` for a client that accepts only it, and for `*/*`: 200 for every
  well-formed request, as before.
- The edge's refusals (400/413/415/405) keep their BAD_REQUEST shape in the media type asked
  for; an Idempotency-Key replay carries the media type of the first answer, and a request
  GraphQL refused is never stored for replay.
- The npm `graphql-http` server audit (a pinned third-party conformance suite) under Node
  against the running gateway: every audit, MAY and SHOULD included, is `ok`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.http_limits import response_media_type
from tests.conftest import Gateway
from tests.plan_world import COORDINATOR, SERVICE_PROVIDER, build_world
from tests.support import make_user, node_with_pinned_packages, session_for

JS_DIR = Path(__file__).resolve().parent.parent / "js"
AUDIT_TIMEOUT = 120.0

GRAPHQL_RESPONSE = "application/graphql-response+json; charset=utf-8"
JSON = "application/json; charset=utf-8"

# 13 levels of a valid cycle (plan -> participants -> plan ...): depth is its only fault.
TOO_DEEP = (
    '{ plan(id: "00000000-0000-0000-0000-000000000000") { '
    + "participants { plan { " * 6
    + "id"
    + " } }" * 6
    + " } }"
)
POST_MESSAGE = """mutation($p: ID!, $body: String!) { postMessage(planId: $p, body: $body) {
  id body } }"""

# (what, query, variables): requests GraphQL refuses before executing them.
REFUSED = [
    ("parse", "{", None),
    ("validation", "{ noSuchField }", None),
    ("too complex", TOO_DEEP, None),
    ("empty selection", "{ me { } }", None),
    ("variables", "query($id: ID!) { __typename }", {"id": None}),
]


async def post(
    gateway: Gateway,
    body: dict[str, Any] | str,
    accept: str | None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST /graphql with exactly this Accept header (None: no Accept header at all)."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    content = body if isinstance(body, str) else json.dumps(body)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        if accept is None:
            del http.headers["accept"]
        else:
            sent["Accept"] = accept
        return await http.post("/graphql", content=content, headers=sent)


# --- negotiation --------------------------------------------------------------------------


GRJ = "application/graphql-response+json"


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, GRJ),  # no Accept header: the spec's default since 2025-01-01
        ("", GRJ),
        (GRJ, GRJ),
        (GRJ.upper() + "; charset=utf-8", GRJ),
        ("application/json", "application/json"),
        ("*/*", "application/json"),  # the server's choice: the audit's and legacy clients'
        ("application/*", "application/json"),
        (f"{GRJ}, application/json;q=0.9", GRJ),
        (f"application/json;q=0.9, {GRJ}", GRJ),
        (f"application/json, {GRJ}", "application/json"),  # equal q: the first listed
        (f"{GRJ}, application/json", GRJ),
        (f"application/json, {GRJ};q=0.5", "application/json"),
        (f"{GRJ};q=0, */*", "application/json"),
        ("application/json;q=0, */*", GRJ),
        (f"{GRJ};q=0.5, */*;q=0.1", GRJ),
        ("text/html, */*;q=0.8", "application/json"),
        ("text/html", None),  # neither: the view answers application/json (server's choice)
        ("application/json;q=0", None),
    ],
)
def test_the_media_type_follows_the_accept_header(accept: str | None, chosen: str | None) -> None:
    assert response_media_type(accept) == chosen


# --- status codes per media type ------------------------------------------------------------


@pytest.mark.parametrize("accept", ["application/graphql-response+json", None])
@pytest.mark.parametrize(("what", "query", "variables"), REFUSED, ids=[r[0] for r in REFUSED])
async def test_a_refused_request_is_400_without_data_in_graphql_response_json(
    gateway: Gateway, accept: str | None, what: str, query: str, variables: Any
) -> None:
    response = await post(gateway, {"query": query, "variables": variables}, accept)
    assert response.status_code == 400, (what, response.text)
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert "data" not in body, body
    assert body["errors"] and all("path" not in e for e in body["errors"]), body
    if what == "too complex":
        assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": 12}


@pytest.mark.parametrize("accept", ["application/json", "*/*", "text/html"])
@pytest.mark.parametrize(("what", "query", "variables"), REFUSED, ids=[r[0] for r in REFUSED])
async def test_a_refused_request_is_200_in_application_json(
    gateway: Gateway, accept: str, what: str, query: str, variables: Any
) -> None:
    response = await post(gateway, {"query": query, "variables": variables}, accept)
    assert response.status_code == 200, (what, response.text)
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert body["data"] is None and body["errors"], body


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("application/graphql-response+json", GRAPHQL_RESPONSE),
        (None, GRAPHQL_RESPONSE),
        ("application/json", JSON),
        ("*/*", JSON),
    ],
)
async def test_an_executed_request_is_200_even_with_field_errors(
    gateway: Gateway, accept: str | None, content_type: str
) -> None:
    ok = await post(gateway, {"query": "{ __typename }"}, accept)
    assert ok.status_code == 200, ok.text
    assert ok.headers["content-type"] == content_type
    assert ok.json() == {"data": {"__typename": "Query"}}

    # Without a session: execution ran and the (non-null) field failed; data is null.
    failed = await post(gateway, {"query": "{ myAccessLog(first: 1) { edges { at } } }"}, accept)
    assert failed.status_code == 200, failed.text
    assert failed.headers["content-type"] == content_type
    body = failed.json()
    assert body["data"] is None, body
    assert body["errors"][0]["path"] == ["myAccessLog"], body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body


async def test_an_api_key_outside_its_scope_is_403_in_graphql_response_json(
    gateway: Gateway,
) -> None:
    admin = await make_user(gateway.pool, "keyadmin", roles=("SYSTEM_ADMIN",))
    token = await session_for(gateway.pool, admin)
    created = await gateway.client.post(
        'mutation { createApiKey(name: "Rapport", roles: [REPORTER]) { secret } }', token=token
    )
    secret = created["data"]["createApiKey"]["secret"]
    headers = {"Authorization": f"Bearer {secret}"}
    query = {"query": "{ me { id } }"}

    refused = await post(gateway, query, "application/graphql-response+json", headers)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in refused.json()
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    legacy = await post(gateway, query, "application/json", headers)
    assert legacy.status_code == 200, legacy.text
    assert legacy.json()["data"] is None


# --- the edge's refusals keep their shape -------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [("application/graphql-response+json", GRAPHQL_RESPONSE), ("application/json", JSON)],
)
async def test_the_edge_refuses_in_the_media_type_asked_for(
    gateway: Gateway, accept: str, content_type: str
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        cases = {
            415: await http.post(
                "/graphql",
                content="query={__typename}",
                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": accept},
            ),
            413: await http.post(
                "/graphql",
                content=b"{" + b" " * (1024 * 1024 + 1) + b"}",
                headers={"Content-Type": "application/json", "Accept": accept},
            ),
            400: await http.post(
                "/graphql",
                content=b"[1]",
                headers={"Content-Type": "application/json", "Accept": accept},
            ),
        }
        bad_json = await http.post(
            "/graphql",
            content=b'{ "not a JSON',
            headers={"Content-Type": "application/json", "Accept": accept},
        )
        mutation_by_get = await http.get(
            "/graphql", params={"query": "mutation { logout }"}, headers={"Accept": accept}
        )
    for status, response in cases.items():
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == content_type
        assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
        assert "data" not in response.json()
    assert bad_json.status_code == 400, bad_json.text
    assert bad_json.headers["content-type"] == content_type
    assert bad_json.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
    assert mutation_by_get.status_code == 405, mutation_by_get.text
    assert mutation_by_get.headers["allow"] == "POST"
    assert mutation_by_get.headers["content-type"] == content_type


# --- Idempotency-Key ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/json", JSON),
        (None, GRAPHQL_RESPONSE),
    ],
)
async def test_a_replay_has_the_media_type_of_the_first_answer(
    gateway: Gateway, accept: str | None, content_type: str
) -> None:
    world = await build_world(gateway)
    headers = {
        "Authorization": f"Bearer {world.token(SERVICE_PROVIDER)}",
        "Idempotency-Key": "melding-en",
    }
    request = {"query": POST_MESSAGE, "variables": {"p": world.plan_id, "body": "Én gang"}}
    first = await post(gateway, request, accept, headers)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == content_type
    assert "idempotent-replayed" not in first.headers
    retry = await post(gateway, request, accept, headers)
    assert retry.status_code == 200, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["content-type"] == content_type
    assert retry.json() == first.json()


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_a_refused_request_is_not_kept_for_replay(gateway: Gateway, accept: str) -> None:
    """A request GraphQL refused (200 in application/json) ran nothing: its retry is judged
    afresh, so a replay is always an executed answer, 200 in either media type."""
    world = await build_world(gateway)
    headers = {
        "Authorization": f"Bearer {world.token(COORDINATOR)}",
        "Idempotency-Key": "feil-en",
    }
    request = {"query": "mutation { noSuchMutation }"}
    for _ in range(2):
        answer = await post(gateway, request, accept, headers)
        assert answer.json()["errors"], answer.text
        assert "idempotent-replayed" not in answer.headers, answer.headers


# --- the graphql-http audit -------------------------------------------------------------------


@pytest.fixture(scope="session")
def node_with_graphql_http() -> str:
    """node, with tests/js/package.json's pinned packages (graphql-http among them)."""
    assert "graphql-http" in json.loads((JS_DIR / "package.json").read_text())["dependencies"]
    return node_with_pinned_packages(JS_DIR, "to run the npm graphql-http audit")


async def test_the_graphql_http_audit_passes_every_audit(
    node_with_graphql_http: str, gateway: Gateway
) -> None:
    proc = await asyncio.create_subprocess_exec(
        node_with_graphql_http,
        str(JS_DIR / "audit_server.mjs"),
        gateway.url + "/graphql",
        cwd=JS_DIR,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), AUDIT_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode(errors="replace")
    results = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    for result in results:
        print(f"{result['status']:6} {result['id']} {result['name']}")
    assert len(results) >= 50, results  # graphql-http 1.23.1 has 61 server audits
    assert len({r["id"] for r in results}) == len(results)
    not_ok = [r for r in results if r["status"] != "ok"]
    assert not not_ok, json.dumps(not_ok, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_subscription_over_http_is_refused_cleanly(gateway: Gateway, method: str) -> None:
    """Executed over HTTP a subscription answered INTERNAL (and logged an incident): it is
    a request GraphQL refuses, with the way to the WebSocket in the message."""
    user = await make_user(gateway.pool, "sigrid")
    token = await session_for(gateway.pool, user)
    query = "subscription { messageAdded { id } }"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if method == "GET":
        response = await gateway.client.http.get(
            "/graphql", params={"query": query}, headers=headers
        )
    else:
        response = await gateway.client.http.post(
            "/graphql", json={"query": query}, headers=headers
        )
    assert response.status_code == 400, response.text
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_REQUEST"], body
    assert "WebSocket" in body["errors"][0]["message"]
    assert "INTERNAL" not in response.text
