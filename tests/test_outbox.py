"""The outbox: written with the event, delivered once, retried with backoff; real servers only."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import json
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from db import outbox
from gateway.outbox import OutboxWorker, backoff
from gateway.senders import senders_from_settings
from gateway.settings import Settings
from tests.conftest import Gateway, Mailbox, free_port
from tests.support import FakeClock, error_codes, make_user, six_digit_code

LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { challengeId channel } }"""
VERIFY = """mutation($c: ID!, $code: String!) {
  verifyLoginCode(challengeId: $c, code: $code) { token person { id } } }"""


async def row(pool: asyncpg.Pool, outbox_id: int | None = None) -> asyncpg.Record:
    """One outbox row (the only one when no id is given)."""
    if outbox_id is None:
        rows = await pool.fetch("SELECT * FROM outbox")
        assert len(rows) == 1, rows
        return rows[0]
    record = await pool.fetchrow("SELECT * FROM outbox WHERE id = $1", outbox_id)
    assert record is not None
    return record


async def enqueue_mail(pool: asyncpg.Pool, now: dt.datetime, recipient: str, body: str) -> int:
    async with pool.acquire() as conn:
        return await outbox.enqueue(
            conn, channel="EMAIL", recipient=recipient, subject="Test", body=body, now=now
        )


# --- SMTP down, then up -------------------------------------------------------------------


async def test_code_arrives_once_when_the_mail_server_comes_back(
    gateway: Gateway, smtp: Mailbox, clock: FakeClock
) -> None:
    user = await make_user(gateway.pool, "nora")
    smtp.stop()
    body = await gateway.client.post(LOGIN, {"u": "nora", "p": user.password})
    challenge = body["data"]["login"]
    assert challenge["channel"] == "EMAIL"

    # The server is down: nothing goes out, the row stays with its error and a retry time.
    assert await gateway.deliver() == 0
    assert smtp.messages == []
    failed = await row(gateway.pool)
    assert failed["recipient"] == "nora@example.no"
    assert failed["attempts"] == 1
    assert failed["last_error"]
    assert failed["sent_at"] is None and failed["failed_at"] is None
    assert failed["next_attempt_at"] == clock.now + backoff(0)
    assert failed["next_attempt_at"] > clock.now

    # Not retried before its backoff, even once the server is up again.
    assert await gateway.deliver() == 0
    assert (await row(gateway.pool))["attempts"] == 1
    smtp.start()
    assert await gateway.deliver() == 0
    assert smtp.messages == []
    assert (await row(gateway.pool))["attempts"] == 1

    clock.advance(seconds=backoff(0).total_seconds() + 1)
    assert await gateway.deliver() == 1
    assert len(smtp.messages) == 1
    for _ in range(3):
        assert await gateway.deliver() == 0
    assert len(smtp.messages) == 1  # never twice
    sent = await row(gateway.pool)
    assert sent["sent_at"] is not None
    assert sent["attempts"] == 2
    assert sent["last_error"] is None

    # The late code still logs in: it is within its five minutes.
    code = six_digit_code(smtp.messages[0].get_content())
    body = await gateway.client.post(VERIFY, {"c": challenge["challengeId"], "code": code})
    assert "errors" not in body, body
    assert body["data"]["verifyLoginCode"]["person"]["id"] == str(user.person_id)

    clock.advance(hours=1)
    assert await gateway.deliver() == 0
    assert len(smtp.messages) == 1


async def test_code_not_delivered_within_five_minutes_is_dropped(
    gateway: Gateway, smtp: Mailbox, clock: FakeClock
) -> None:
    """A late code would only confuse: it is never sent (tests/test_secrets_at_rest.py)."""
    user = await make_user(gateway.pool, "odd")
    smtp.stop()
    challenge = (await gateway.client.post(LOGIN, {"u": "odd", "p": user.password}))["data"][
        "login"
    ]
    assert await gateway.deliver() == 0
    smtp.start()
    clock.advance(minutes=5, seconds=1)
    assert await gateway.deliver() == 0
    assert smtp.messages == []
    dropped = await row(gateway.pool)
    assert dropped["failed_at"] is not None and dropped["body"] == ""
    body = await gateway.client.post(VERIFY, {"c": challenge["challengeId"], "code": "123456"})
    assert error_codes(body) == ["CODE_EXPIRED"]


# --- Backoff ------------------------------------------------------------------------------

EXPECTED_DELAYS = [5, 10, 20, 40, 80, 160, 300, 300, 300]


def test_backoff_doubles_from_five_seconds_up_to_five_minutes() -> None:
    delays = [backoff(attempts).total_seconds() for attempts in range(len(EXPECTED_DELAYS))]
    assert delays == EXPECTED_DELAYS
    assert backoff(40) == dt.timedelta(minutes=5)
    assert backoff(10_000) == dt.timedelta(minutes=5)


async def test_retry_times_written_to_the_row_follow_the_backoff(
    pool: asyncpg.Pool, settings: Settings, smtp: Mailbox, clock: FakeClock
) -> None:
    smtp.stop()
    worker = OutboxWorker(pool, senders_from_settings(settings), clock)
    outbox_id = await enqueue_mail(pool, clock.now, "a@example.no", "Hei")
    for attempt, delay in enumerate(EXPECTED_DELAYS, start=1):
        assert await worker.run_once() == 0
        record = await row(pool, outbox_id)
        assert record["attempts"] == attempt
        assert record["next_attempt_at"] - clock.now == dt.timedelta(seconds=delay)
        assert record["sent_at"] is None and record["failed_at"] is None
        # One second early: not tried.
        clock.advance(seconds=delay - 1)
        assert await worker.run_once() == 0
        assert (await row(pool, outbox_id))["attempts"] == attempt
        clock.advance(seconds=1)
    smtp.start()
    assert await worker.run_once() == 1
    assert [m["To"] for m in smtp.messages] == ["a@example.no"]
    assert (await row(pool, outbox_id))["attempts"] == len(EXPECTED_DELAYS) + 1


# --- SMS gateway answering 500 ------------------------------------------------------------


@dataclass
class FlakySmsGateway:
    """A real HTTP server answering the next status in `statuses` (then 202)."""

    port: int
    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"


@pytest.fixture
def flaky_sms() -> Iterator[FlakySmsGateway]:
    gateway = FlakySmsGateway(port=free_port())
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            with lock:
                gateway.received.append(json.loads(self.rfile.read(length)))
                status = gateway.statuses.pop(0) if gateway.statuses else 202
                gateway.answered.append(status)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", gateway.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield gateway
    server.shutdown()
    server.server_close()


async def test_sms_gateway_error_is_retried(
    pool: asyncpg.Pool, settings: Settings, clock: FakeClock, flaky_sms: FlakySmsGateway
) -> None:
    flaky_sms.statuses = [500, 503]
    worker = OutboxWorker(
        pool, senders_from_settings(replace(settings, sms_gateway_url=flaky_sms.url)), clock
    )
    async with pool.acquire() as conn:
        outbox_id = await outbox.enqueue(
            conn, channel="SMS", recipient="+4791234567", subject="", body="Hei", now=clock.now
        )

    assert await worker.run_once() == 0
    record = await row(pool, outbox_id)
    assert record["attempts"] == 1 and record["sent_at"] is None
    assert "500" in record["last_error"]
    assert flaky_sms.answered == [500]

    clock.advance(seconds=backoff(0).total_seconds())
    assert await worker.run_once() == 0
    record = await row(pool, outbox_id)
    assert record["attempts"] == 2 and record["sent_at"] is None
    assert "503" in record["last_error"]

    clock.advance(seconds=backoff(1).total_seconds())
    assert await worker.run_once() == 1
    assert flaky_sms.answered == [500, 503, 202]
    assert flaky_sms.received == [{"to": "+4791234567", "text": "Hei"}] * 3
    record = await row(pool, outbox_id)
    assert record["sent_at"] is not None and record["last_error"] is None

    clock.advance(minutes=10)
    assert await worker.run_once() == 0
    assert len(flaky_sms.received) == 3


# --- Two workers --------------------------------------------------------------------------


async def test_two_workers_deliver_each_row_once(
    pool: asyncpg.Pool, settings: Settings, smtp: Mailbox, clock: FakeClock
) -> None:
    recipients = [f"p{i}@example.no" for i in range(30)]
    for i, recipient in enumerate(recipients):
        await enqueue_mail(pool, clock.now, recipient, f"Melding {i}")
    # Both workers start with a connection ready, so they really run side by side.
    held = [await pool.acquire() for _ in range(3)]
    for conn in held:
        await pool.release(conn)

    first = OutboxWorker(pool, senders_from_settings(settings), clock)
    second = OutboxWorker(pool, senders_from_settings(settings), clock)
    counts = await asyncio.gather(first.run_once(), second.run_once())

    assert sum(counts) == len(recipients)
    assert all(count > 0 for count in counts), counts  # both took part
    assert sorted(str(m["To"]) for m in smtp.messages) == sorted(recipients)
    rows = await pool.fetch("SELECT attempts, sent_at FROM outbox")
    assert [r["attempts"] for r in rows] == [1] * len(recipients)
    assert all(r["sent_at"] is not None for r in rows)
    assert list(await asyncio.gather(first.run_once(), second.run_once())) == [0, 0]
    assert len(smtp.messages) == len(recipients)


# --- Transactions -------------------------------------------------------------------------


class Rollback(Exception):
    pass


async def test_message_of_a_rolled_back_transaction_never_goes_out(
    pool: asyncpg.Pool, settings: Settings, smtp: Mailbox, clock: FakeClock
) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(Rollback):
            async with conn.transaction():
                await outbox.enqueue(
                    conn,
                    channel="EMAIL",
                    recipient="ghost@example.no",
                    subject="Test",
                    body="rolled back",
                    now=clock.now,
                )
                raise Rollback
        async with conn.transaction():
            await outbox.enqueue(
                conn,
                channel="EMAIL",
                recipient="real@example.no",
                subject="Test",
                body="committed",
                now=clock.now,
            )

    worker = OutboxWorker(pool, senders_from_settings(settings), clock)
    assert await worker.run_once() == 1
    clock.advance(hours=1)
    assert await worker.run_once() == 0
    assert [str(m["To"]) for m in smtp.messages] == ["real@example.no"]
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1


# --- plangruppe send-notifications --once -------------------------------------------------


async def test_send_notifications_once_delivers_and_exits(
    pool: asyncpg.Pool, db_dsn: str, smtp: Mailbox, tmp_path: Path
) -> None:
    long_ago = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    far_ahead = dt.datetime(2999, 1, 1, tzinfo=dt.UTC)
    due = await enqueue_mail(pool, long_ago, "due@example.no", "Hei fra køen")
    later = await enqueue_mail(pool, long_ago, "later@example.no", "Ikke ennå")
    await pool.execute("UPDATE outbox SET next_attempt_at = $2 WHERE id = $1", later, far_ahead)

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PLANGRUPPE_", "SMTP_", "SMS_", "DATABASE_URL"))
    }
    env |= {
        "DATABASE_URL": db_dsn,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "PLANGRUPPE_DATA_DIR": str(tmp_path / "data"),
    }
    program = Path(sys.executable).with_name("plangruppe")
    process = await asyncio.create_subprocess_exec(
        str(program),
        "send-notifications",
        "--once",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, (stdout, stderr)

    [mail] = smtp.messages
    assert mail["To"] == "due@example.no"
    assert mail.get_content().strip() == "Hei fra køen"
    assert (await row(pool, due))["sent_at"] is not None
    later_row = await row(pool, later)
    assert later_row["sent_at"] is None and later_row["attempts"] == 0


async def test_worker_retries_for_three_days_then_keeps_the_failed_row(
    pool: asyncpg.Pool, settings: Settings, smtp: Mailbox, clock: FakeClock
) -> None:
    smtp.stop()
    worker = OutboxWorker(pool, senders_from_settings(settings), clock)
    created = clock.now
    outbox_id = await enqueue_mail(pool, clock.now, "b@example.no", "Hei")
    attempts = 0
    while True:
        assert await worker.run_once() == 0
        attempts += 1
        record = await row(pool, outbox_id)
        assert record["attempts"] == attempts
        if record["failed_at"] is not None:
            break
        assert clock.now - created < outbox.GIVE_UP_AFTER  # still retrying within three days
        clock.now = record["next_attempt_at"]
    assert clock.now - created >= outbox.GIVE_UP_AFTER
    assert attempts > 800  # every five minutes for three days, after the first backoffs
    smtp.start()
    clock.advance(days=1)
    assert await worker.run_once() == 0
    assert smtp.messages == []
    record = await row(pool, outbox_id)
    assert record["attempts"] == attempts and record["last_error"]
