"""/metrics as a Prometheus scraper sees it: behind its token, operation labels only from
trusted documents (any other request is `other`), errors by code, the outbox backlog and open
subscriptions; and no personal data anywhere in the scrape."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import Gateway, running_gateway
from tests.support import FakeClock, make_user, session_for

TOKEN = "metrics-token-0123456789abcdef"
ME = "query Me { me { id firstName } }"
PLAN = "query OnePlan($id: ID!) { plan(id: $id) { id } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
async def metered(
    tmp_path: Path, pool: asyncpg.Pool, settings: Settings, clock: FakeClock
) -> AsyncIterator[Gateway]:
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps({sha(ME): ME, sha(PLAN): PLAN}))
    env = {"PLANGRUPPE_TRUSTED_DOCUMENTS": str(path), "PLANGRUPPE_METRICS_TOKEN": TOKEN}
    configured = Settings.from_env(env)
    async for g in running_gateway(
        pool,
        settings,
        clock,
        trusted_documents=configured.trusted_documents,
        metrics_token=configured.metrics_token,
    ):
        yield g


def sample(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def scrape(http: httpx.AsyncClient) -> str:
    answer = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


async def test_metrics_count_trusted_operations_and_errors_without_personal_data(
    metered: Gateway,
) -> None:
    g = metered
    user = await make_user(g.pool, "metrikk", first_name="Metrikkfornavn")
    token = await session_for(g.pool, user, g.clock())
    auth = {"Authorization": f"Bearer {token}"}
    http = g.client.http
    for wrong in ({}, {"Authorization": "Bearer " + TOKEN[:-1] + "x"}, auth):
        assert (await http.get("/metrics", headers=wrong)).status_code == 401
    before = await scrape(http)
    for _ in range(2):
        answer = await http.post("/graphql", json={"documentId": sha(ME)}, headers=auth)
        assert answer.json()["data"]["me"]["firstName"] == "Metrikkfornavn"
    missing = await http.post(
        "/graphql",
        json={"documentId": sha(PLAN), "variables": {"id": "00000000-0000-0000-0000-000000000000"}},
        headers=auth,
    )
    assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    refused = await http.post("/graphql", json={"query": "{ me { email } }"}, headers=auth)
    assert refused.status_code == 400
    after = await scrape(http)

    def grew(name: str, labels: str) -> float:
        return sample(after, name, labels) - sample(before, name, labels)

    assert grew("plangruppe_requests_total", '{operation="Me"}') == 2
    assert grew("plangruppe_requests_total", '{operation="OnePlan"}') == 1
    assert grew("plangruppe_requests_total", '{operation="other"}') >= 1
    assert grew("plangruppe_request_seconds_count", '{operation="Me"}') == 2
    assert grew("plangruppe_errors_total", '{code="NOT_FOUND"}') == 1
    for gauge in (
        "plangruppe_outbox_backlog",
        "plangruppe_outbox_oldest_seconds",
        "plangruppe_subscriptions_open",
        "plangruppe_db_pool_in_use",
    ):
        assert re.search(rf"^{gauge} \S+$", after, re.MULTILINE), gauge
    for personal in (str(user.person_id), user.username, user.email or "-", token, "Metrikk"):
        assert personal not in after


async def test_no_metrics_route_without_a_token(
    pool: asyncpg.Pool, settings: Settings, clock: FakeClock
) -> None:
    async for g in running_gateway(pool, settings, clock):
        async with httpx.AsyncClient(base_url=g.url) as http:
            assert (await http.get("/metrics")).status_code == 404
