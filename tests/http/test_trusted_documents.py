"""Trusted documents (PLANGRUPPE_TRUSTED_DOCUMENTS), both manifest formats, over HTTP (POST,
GET) and the WebSocket: a document named by `documentId` or Apollo's
`extensions.persistedQuery.sha256Hash` runs; unknown ids and free text that is not a trusted
document are refused with DOCUMENT_NOT_TRUSTED and never run."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets

from gateway.settings import ConfigError, Settings
from gateway.trusted_documents import TrustedDocuments
from tests.conftest import Gateway, running_gateway
from tests.support import FakeClock, make_user, session_for

ME = "query Me { me { id } }"
PLANS = "query Plans { plans { totalCount } }"
LIVE = "subscription Live($p: ID) { messageAdded(planId: $p) { id } }"
FREE = "query Free { me { id firstName } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def codegen_manifest() -> dict[str, str]:
    return {sha(d): d for d in (ME, PLANS, LIVE)}


def apollo_manifest() -> dict[str, Any]:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha(d), "name": name, "type": kind, "body": d}
            for d, name, kind in (
                (ME, "Me", "query"),
                (PLANS, "Plans", "query"),
                (LIVE, "Live", "subscription"),
            )
        ],
    }


@pytest.fixture(params=["codegen", "apollo"])
async def trusted_gateway(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    pool: asyncpg.Pool,
    settings: Settings,
    clock: FakeClock,
) -> AsyncIterator[Gateway]:
    manifest = codegen_manifest() if request.param == "codegen" else apollo_manifest()
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps(manifest))
    trusted = Settings.from_env({"PLANGRUPPE_TRUSTED_DOCUMENTS": str(path)}).trusted_documents
    assert trusted is not None
    async for g in running_gateway(pool, settings, clock, trusted_documents=trusted):
        yield g


def code_of(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


async def test_only_trusted_documents_run_over_http(trusted_gateway: Gateway) -> None:
    g = trusted_gateway
    user = await make_user(g.pool, "trusted")
    token = await session_for(g.pool, user, g.clock())
    headers = {"Authorization": f"Bearer {token}"}
    http = g.client.http
    for body in (
        {"documentId": f"sha256:{sha(ME)}"},
        {"documentId": sha(ME)},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(ME)}}},
        {"query": ME},  # free text that is a trusted document
        {"query": ME, "documentId": sha(ME)},
    ):
        answer = await http.post("/graphql", json=body, headers=headers)
        assert answer.status_code == 200, (body, answer.text)
        assert answer.json()["data"]["me"]["id"] == str(user.person_id), body
    got = await http.get("/graphql", params={"documentId": sha(PLANS)}, headers=headers)
    assert got.status_code == 200 and got.json()["data"]["plans"]["totalCount"] == 0
    for body in (
        {"query": FREE},
        {"documentId": sha(FREE)},
        {"documentId": "sha256:" + "0" * 64},
        {"query": FREE, "documentId": sha(ME)},  # text and id disagree
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(FREE)}}},
        {},
    ):
        refused = await http.post("/graphql", json=body, headers=headers)
        assert refused.status_code == 400, (body, refused.text)
        assert code_of(refused.json()) == "DOCUMENT_NOT_TRUSTED", body
        assert "data" not in refused.json()
    got = await http.get("/graphql", params={"query": FREE}, headers=headers)
    assert got.status_code == 400 and code_of(got.json()) == "DOCUMENT_NOT_TRUSTED"


async def test_only_trusted_documents_run_over_the_websocket(trusted_gateway: Gateway) -> None:
    g = trusted_gateway
    user = await make_user(g.pool, "trustedws")
    token = await session_for(g.pool, user, g.clock())
    url = g.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(
        url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
    ) as ws:
        init = {"authorization": f"Bearer {token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps({"id": "free", "type": "subscribe", "payload": {"query": FREE + " "}})
        )
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert frame["id"] == "free" and frame["type"] == "error", frame
        assert frame["payload"][0]["extensions"]["code"] == "DOCUMENT_NOT_TRUSTED"
        await ws.send(
            json.dumps({"id": "me", "type": "subscribe", "payload": {"documentId": sha(ME)}})
        )
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert frame == {
            "id": "me",
            "type": "next",
            "payload": {"data": {"me": {"id": str(user.person_id)}}},
        }, frame


def test_a_broken_manifest_stops_the_gateway(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    for content in (
        "not json",
        json.dumps([ME]),
        json.dumps({}),
        json.dumps({sha(ME): PLANS}),  # an id that is not its text's hash
        json.dumps({"format": "apollo-persisted-query-manifest", "operations": [{"id": 1}]}),
    ):
        path.write_text(content)
        with pytest.raises(ConfigError, match="PLANGRUPPE_TRUSTED_DOCUMENTS"):
            Settings.from_env({"PLANGRUPPE_TRUSTED_DOCUMENTS": str(path)})
    with pytest.raises(ConfigError, match="PLANGRUPPE_TRUSTED_DOCUMENTS"):
        Settings.from_env({"PLANGRUPPE_TRUSTED_DOCUMENTS": str(tmp_path / "missing.json")})
    # Ids that are not SHA-256 (a client preset configured for another hash) are kept as ids.
    docs = TrustedDocuments.from_manifest({"abc123": ME})
    assert docs.resolve({"documentId": "abc123"}) == ME


async def test_without_a_manifest_every_document_runs(
    pool: asyncpg.Pool, settings: Settings, clock: FakeClock
) -> None:
    async for g in running_gateway(pool, settings, clock):
        async with httpx.AsyncClient(base_url=g.url) as http:
            answer = await http.post("/graphql", json={"query": FREE})
        assert answer.status_code == 200 and answer.json() == {"data": {"me": None}}
