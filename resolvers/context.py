"""The per-request context: who is asking, the pool, the clock and the request's loaders."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import asyncpg

if TYPE_CHECKING:
    from gateway.settings import Settings
    from resolvers.loaders import Loaders

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

    def now(self) -> dt.datetime:
        return self.clock()

    def today(self) -> dt.date:
        return self.clock().astimezone(OSLO).date()
