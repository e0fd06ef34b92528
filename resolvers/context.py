"""The per-request context: who is asking, the pool, the clock and the request's loaders."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg

if TYPE_CHECKING:
    from gateway.settings import Settings
    from resolvers.loaders import Loaders

Clock = Callable[[], dt.datetime]


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
    extra: dict[str, object] = field(default_factory=dict)

    def now(self) -> dt.datetime:
        return self.clock()
