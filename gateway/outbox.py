"""The outbox worker: delivers each notification once, retrying with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping

import asyncpg

from db import outbox
from gateway.senders import DeliveryError, Sender
from resolvers.context import Clock, utc_now
from resolvers.secret_box import SecretBox, SecretKeyError, is_sealed

log = logging.getLogger("plangruppe.outbox")

BACKOFF_BASE = dt.timedelta(seconds=5)
BACKOFF_MAX = dt.timedelta(minutes=5)


def backoff(attempts: int) -> dt.timedelta:
    """5 s, 10 s, 20 s … at most 5 minutes between tries."""
    delay: dt.timedelta = BACKOFF_BASE * (2 ** min(attempts, 16))
    return min(delay, BACKOFF_MAX)


class OutboxWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        senders: Mapping[str, Sender],
        clock: Clock = utc_now,
        *,
        box: SecretBox | None = None,
    ) -> None:
        self._pool = pool
        self._senders = senders
        self._clock = clock
        self._box = box  # opens the sealed bodies of secret rows
        self._wake = asyncio.Event()

    async def run_once(self, limit: int = 100) -> int:
        """Deliver what is due now; returns how many were delivered. Secrets that are sent,
        given up or expired lose their body first (docs/secrets.md)."""
        async with self._pool.acquire() as conn:
            await outbox.forget_secrets(conn, self._clock())
        delivered = 0
        for _ in range(limit):
            outcome = await self._deliver_next()
            if outcome is None:
                break
            delivered += outcome
        return delivered

    async def _deliver_next(self) -> int | None:
        # One row per transaction: the row stays locked while it is handed over, so no
        # other worker can send it too, and a success is committed at once.
        async with self._pool.acquire() as conn, conn.transaction():
            due = await outbox.claim_due(conn, self._clock(), 1)
            if not due:
                return None
            message = due[0]
            try:
                await self._senders[message.channel].send(self._opened(message))
            except DeliveryError as exc:
                now = self._clock()
                log.warning(
                    "outbox %s: attempt %s failed: %s", message.id, message.attempts + 1, exc
                )
                await outbox.mark_failed(
                    conn, message.id, now, str(exc), now + backoff(message.attempts)
                )
                return 0
            await outbox.mark_sent(conn, message.id, self._clock())
            return 1

    def _opened(self, message: outbox.OutgoingMessage) -> outbox.OutgoingMessage:
        """The message with a sealed body opened, only for the hand-over."""
        if not (message.secret and is_sealed(message.body)):
            return message
        if self._box is None:
            raise DeliveryError("a sealed secret, and no PLANGRUPPE_SECRET_KEY to open it")
        try:
            return dataclasses.replace(message, body=self._box.open(message.body))
        except SecretKeyError as exc:
            raise DeliveryError(str(exc)) from None

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self, interval: float = 2.0) -> None:
        """Deliver continuously; a NOTIFY on plangruppe_outbox wakes the worker at once."""
        listener = await self._pool.acquire()

        def on_notify(*_: object) -> None:
            self._wake.set()

        try:
            await listener.add_listener("plangruppe_outbox", on_notify)
            while True:
                try:
                    await self.run_once()
                except (OSError, asyncpg.PostgresError) as exc:
                    log.error("outbox worker: %s", exc)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=interval)
        finally:
            await listener.remove_listener("plangruppe_outbox", on_notify)
            await self._pool.release(listener)
