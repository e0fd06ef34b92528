"""The per-request context: who is asking, the pool, the clock and the request's loaders."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import asyncpg

from db.access_log import Read
from resolvers.loaders import Loaders

if TYPE_CHECKING:
    from gateway.settings import Settings

Clock = Callable[[], dt.datetime]

# Consent and plan dates are Norwegian calendar dates.
OSLO = ZoneInfo("Europe/Oslo")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Viewer:
    """The authenticated caller: a person with a session (or, later, a reporting tool's key)."""

    person_id: uuid.UUID
    account_id: uuid.UUID | None
    session_id: uuid.UUID | None
    global_roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ApiKeyViewer:
    """A reporting tool's API key: roles, no person."""

    key_id: uuid.UUID
    name: str
    roles: frozenset[str]


@dataclass
class Context:
    pool: asyncpg.Pool
    settings: Settings
    clock: Clock
    viewer: Viewer | None
    client_addr: str | None
    loaders: Loaders
    request: Any = None
    response: Any = None
    bus: Any = None  # db.bus.MessageBus of this process, for subscriptions
    token: str | None = None
    connection_params: dict[str, object] | None = None  # graphql-transport-ws connection_init
    api_key: ApiKeyViewer | None = None  # a reporting tool instead of a person
    reads: set[Read] = field(default_factory=set)  # for the access log, flushed per request
    compiled: bool = False  # serve covered root fields through resolvers/compiled/
    compiled_roots: int = 0  # how many root fields the compiled path answered (tests, bench)

    def record_read(
        self, plan_id: uuid.UUID | None, subject_id: uuid.UUID | None, what: str
    ) -> None:
        """Innsyn i logg: remember that the viewer read this (one row per request)."""
        if self.viewer is not None:
            self.reads.add(Read(plan_id, subject_id, what))

    def reload_loaders(self) -> None:
        """After a write, the rest of this request reads everything anew."""
        self.loaders = Loaders(self.pool, self.viewer.person_id if self.viewer else None)

    def now(self) -> dt.datetime:
        return self.clock()

    def today(self) -> dt.date:
        return self.clock().astimezone(OSLO).date()
