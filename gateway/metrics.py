"""/metrics in the Prometheus text format (prometheus-client), behind a bearer token
(PLANGRUPPE_METRICS_TOKEN; without it the route is 404).

Operation labels come only from trusted documents (PLANGRUPPE_TRUSTED_DOCUMENTS): every other
request is `other`, so no client can grow the label set. No label or value holds personal
data: operations, error codes, job names and counts only. The figures are this process's
(with `serve --workers N` scrape each worker or run one worker per container)."""

from __future__ import annotations

import contextvars
import hmac
import time
from collections.abc import Callable
from typing import Any

import asyncpg
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from db import outbox
from gateway.state import GatewayState

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "plangruppe_requests",
    "GraphQL requests answered, by trusted operation (other: any other document).",
    ["operation"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "plangruppe_request_seconds",
    "Time to answer a GraphQL request over HTTP, by trusted operation.",
    ["operation"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "plangruppe_errors", "Errors in GraphQL answers, by code.", ["code"], registry=REGISTRY
)
SUBSCRIPTIONS = Gauge(
    "plangruppe_subscriptions_open", "Live subscriptions open in this process.", registry=REGISTRY
)
OUTBOX_BACKLOG = Gauge(
    "plangruppe_outbox_backlog", "Mail and SMS waiting in the outbox.", registry=REGISTRY
)
OUTBOX_OLDEST = Gauge(
    "plangruppe_outbox_oldest_seconds",
    "Age of the oldest message waiting in the outbox.",
    registry=REGISTRY,
)
POOL_IN_USE = Gauge(
    "plangruppe_db_pool_in_use", "Database connections in use in this process.", registry=REGISTRY
)
JOB_RUNS = Counter("plangruppe_job_runs", "Scheduled job runs, by job.", ["job"], registry=REGISTRY)
JOB_FAILURES = Counter(
    "plangruppe_job_failures", "Scheduled job runs that failed, by job.", ["job"], registry=REGISTRY
)

# The trusted operation's name for this request, set where its document was resolved.
trusted_operation: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "trusted_operation", default=None
)


def operation_label() -> str:
    return trusted_operation.get() or "other"


def observe_request(started: float) -> None:
    label = operation_label()
    REQUESTS.labels(label).inc()
    LATENCY.labels(label).observe(time.perf_counter() - started)


def count_errors(codes: list[Any]) -> None:
    for code in codes:
        ERRORS.labels(code if isinstance(code, str) and code.isupper() else "OTHER").inc()


async def _refresh(state: GatewayState) -> None:
    """The gauges that are read at scrape time."""
    bus = state.bus
    SUBSCRIPTIONS.set(bus.subscriber_count if bus is not None else 0)
    pool = state.pool
    POOL_IN_USE.set(pool.get_size() - pool.get_idle_size())
    try:
        async with pool.acquire() as conn:
            waiting, oldest = await outbox.backlog(conn, state.clock())
    except (OSError, asyncpg.PostgresError):
        return  # the database gauges keep their last value
    OUTBOX_BACKLOG.set(waiting)
    OUTBOX_OLDEST.set(oldest)


def routes(state: Callable[[], GatewayState], token: str | None) -> list[Route]:
    if token is None:
        return []

    async def metrics(request: Request) -> Response:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return PlainTextResponse("metrics need the metrics token\n", status_code=401)
        await _refresh(state())
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", metrics, methods=["GET"])]


def job_ran(job: str, ok: bool) -> None:
    JOB_RUNS.labels(job).inc()
    if not ok:
        JOB_FAILURES.labels(job).inc()
