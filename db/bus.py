"""The LISTEN/NOTIFY bus: one dedicated connection per gateway process.

A committed message fires ``NOTIFY plangruppe_messages '<seq>:<id>:<plan>'`` (ids only), an
edit or a withdrawal ``NOTIFY plangruppe_message_changes '<change_seq>:<id>:<plan>'``.
Every process listens, loads each message once and hands it to its local subscribers: new
messages to messageAdded's, changes to messageChanged's.
Access changes fire ``plangruppe_access`` so subscribers re-check at once. When the
listening connection drops, the bus reconnects and catches up from the last delivered
message and change: nothing committed meanwhile is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from dataclasses import dataclass, field

import asyncpg

from db import messages
from db.messages import MessageRow
from db.pool import Conn

log = logging.getLogger("plangruppe.bus")

MESSAGES = "plangruppe_messages"
CHANGES = "plangruppe_message_changes"
ACCESS = "plangruppe_access"
# Commits may land out of sequence order; catch-up looks this far back and skips duplicates.
CATCH_UP_WINDOW = 1000
REMEMBERED = 20_000


@dataclass(eq=False)
class Subscription:
    """One subscriber's inbox: messages, and a flag to re-check access. ``session_id`` and
    ``account_id`` say whose it is, so an access change re-checks only the subscriptions it
    can concern."""

    plan_id: uuid.UUID | None
    session_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    # With plan_id None: the plans the subscriber takes part in, the only ones whose messages
    # can reach them (None: every plan's message is handed over, to be checked).
    plans: frozenset[uuid.UUID] | None = None
    # False: new messages (messageAdded); True: edits and withdrawals (messageChanged).
    changes: bool = False
    queue: asyncio.Queue[MessageRow | None] = field(default_factory=asyncio.Queue)

    def wants(self, plan_id: uuid.UUID) -> bool:
        if self.plan_id is not None:
            return self.plan_id == plan_id
        return self.plans is None or plan_id in self.plans

    def recheck(self) -> None:
        self.queue.put_nowait(None)


async def notify_access_changed(conn: Conn, what: str) -> None:
    """Tell every process's subscribers to re-check their access (a removal, a revoked
    consent, a logout …). Sent on commit, like any NOTIFY. ``what`` is ``plan:<id>``,
    ``session:<id>`` or ``account:<id>``: only the subscriptions it can concern re-check
    (anything else re-checks them all)."""
    await conn.execute("SELECT pg_notify($1, $2)", ACCESS, what)


def _target(what: str) -> tuple[str, uuid.UUID | None]:
    """``plan:<id>``, ``session:<id>`` or ``account:<id>`` as (kind, id); ("", None) else."""
    kind, _, raw = what.partition(":")
    try:
        return kind, uuid.UUID(raw)
    except ValueError:
        return "", None


class MessageBus:
    def __init__(self, dsn: str, pool: asyncpg.Pool, *, reconnect_delay: float = 0.5) -> None:
        self._dsn = dsn
        self._pool = pool
        self._reconnect_delay = reconnect_delay
        self._subscriptions: set[Subscription] = set()
        # (is a change, seq or change_seq, message id)
        self._pending: asyncio.Queue[tuple[bool, int, uuid.UUID]] = asyncio.Queue()
        # New messages by id, changes by change_seq: each handed over once.
        self._delivered: set[uuid.UUID | int] = set()
        self._order: deque[uuid.UUID | int] = deque()
        self._last_seq = 0
        self._last_change_seq = 0
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = asyncio.Event()
        self.reconnects = 0

    # --- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        async with self._pool.acquire() as conn:
            self._last_seq = await messages.last_seq(conn)
            self._last_change_seq = await messages.last_change_seq(conn)
        await self._connect()
        self._tasks = [
            asyncio.create_task(self._supervise(), name="bus-supervisor"),
            asyncio.create_task(self._dispatch(), name="bus-dispatch"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
        for sub in list(self._subscriptions):
            sub.recheck()

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        conn.add_termination_listener(lambda _c: self._lost.set())
        await conn.add_listener(MESSAGES, self._on_message)
        await conn.add_listener(CHANGES, self._on_change)
        await conn.add_listener(ACCESS, self._on_access)
        self._conn = conn
        self._lost.clear()
        self.connected.set()

    async def _supervise(self) -> None:
        while True:
            await self._lost.wait()
            self.connected.clear()
            log.warning("LISTEN connection lost; reconnecting")
            while True:
                try:
                    await self._connect()
                    break
                except (OSError, asyncpg.PostgresError) as exc:
                    log.warning("LISTEN reconnect failed: %s", exc)
                    await asyncio.sleep(self._reconnect_delay)
            self.reconnects += 1
            await self._catch_up()
            for sub in list(self._subscriptions):
                sub.recheck()

    async def _catch_up(self) -> None:
        async with self._pool.acquire() as conn:
            missed = await messages.after_seq(conn, max(0, self._last_seq - CATCH_UP_WINDOW))
            changed = await messages.changed_after(
                conn, max(0, self._last_change_seq - CATCH_UP_WINDOW)
            )
        for row in missed:
            if row.id not in self._delivered:
                self._fan_out(row)
        for row in changed:
            if row.change_seq not in self._delivered:
                self._fan_out_change(row)

    # --- incoming ------------------------------------------------------------------------

    def _on_message(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            seq, message_id, _plan = str(payload).split(":")
            self._pending.put_nowait((False, int(seq), uuid.UUID(message_id)))
        except ValueError:
            log.error("malformed notification %r", payload)

    def _on_change(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            change_seq, message_id, _plan = str(payload).split(":")
            self._pending.put_nowait((True, int(change_seq), uuid.UUID(message_id)))
        except ValueError:
            log.error("malformed notification %r", payload)

    def _on_access(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        kind, key = _target(str(payload))
        for sub in self._concerned(kind, key):
            if kind == "plan" and sub.plan_id is None:
                # Perhaps newly in that plan: hand its messages over (to be checked) until
                # the re-check has read the plans again, so none is missed meanwhile.
                sub.plans = None
            sub.recheck()

    def _concerned(self, kind: str, key: uuid.UUID | None) -> list[Subscription]:
        """The subscriptions an access change can concern: a plan's reach its subscribers and
        those who follow all their plans; a session's or an account's reach theirs; any
        other change reaches all."""
        subs = list(self._subscriptions)
        if kind == "plan":
            return [s for s in subs if s.plan_id is None or s.plan_id == key]
        if kind == "session":
            return [s for s in subs if s.session_id == key]
        if kind == "account":
            return [s for s in subs if s.account_id == key]
        return subs

    async def _dispatch(self) -> None:
        """Load each notified message once (in batches) and fan it out locally; a change is
        handed over with the message as it is now (a later change of it is then skipped)."""
        while True:
            batch = [await self._pending.get()]
            while not self._pending.empty():
                batch.append(self._pending.get_nowait())
            wanted = list(
                dict.fromkeys(
                    mid
                    for change, seq, mid in batch
                    if (seq if change else mid) not in self._delivered
                )
            )
            if not wanted:
                continue
            try:
                async with self._pool.acquire() as conn:
                    found = await messages.by_ids(conn, wanted)
            except (OSError, asyncpg.PostgresError) as exc:
                log.error("could not load notified messages: %s", exc)
                self._lost.set()  # the catch-up after reconnecting will bring them
                continue
            added = {mid for change, _seq, mid in batch if not change}
            changed = {mid for change, _seq, mid in batch if change}
            for row in sorted(found.values(), key=lambda r: r.seq):
                if row.id in added and row.id not in self._delivered:
                    self._fan_out(row)
                if row.id in changed and row.change_seq not in self._delivered:
                    self._fan_out_change(row)

    def _fan_out(self, row: MessageRow) -> None:
        self._remember(row.id)
        self._last_seq = max(self._last_seq, row.seq)
        for sub in list(self._subscriptions):
            if not sub.changes and sub.wants(row.plan_id):
                sub.queue.put_nowait(row)

    def _fan_out_change(self, row: MessageRow) -> None:
        assert row.change_seq is not None
        self._remember(row.change_seq)
        self._last_change_seq = max(self._last_change_seq, row.change_seq)
        for sub in list(self._subscriptions):
            if sub.changes and sub.wants(row.plan_id):
                sub.queue.put_nowait(row)

    def _remember(self, key: uuid.UUID | int) -> None:
        self._delivered.add(key)
        self._order.append(key)
        if len(self._order) > REMEMBERED:
            self._delivered.discard(self._order.popleft())

    # --- subscribers ---------------------------------------------------------------------

    def subscribe(
        self,
        plan_id: uuid.UUID | None,
        *,
        session_id: uuid.UUID | None = None,
        account_id: uuid.UUID | None = None,
        changes: bool = False,
    ) -> Subscription:
        sub = Subscription(plan_id, session_id, account_id, changes=changes)
        self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def session_ids(self) -> set[uuid.UUID]:
        """The sessions with a subscription open in this process."""
        return {s.session_id for s in self._subscriptions if s.session_id is not None}

    def listener_pid(self) -> int | None:
        """The backend pid of the LISTEN connection (for pg_terminate_backend in tests)."""
        return self._conn.get_server_pid() if self._conn else None
