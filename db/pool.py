"""The asyncpg pool, with every statement counted for the request that ran it."""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeAlias

import asyncpg
from asyncpg.connection import LoggedQuery
from asyncpg.pool import PoolConnectionProxy

# A plain connection or one borrowed from the pool: every query function takes either.
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy


@dataclass
class QueryCount:
    """Statements sent to PostgreSQL while this counter was current."""

    statements: int = 0


_counter: contextvars.ContextVar[QueryCount | None] = contextvars.ContextVar(
    "plangruppe_query_count", default=None
)


@contextmanager
def counting() -> Iterator[QueryCount]:
    """Count the statements run by this task and the tasks it starts."""
    count = QueryCount()
    token = _counter.set(count)
    try:
        yield count
    finally:
        _counter.reset(token)


def _log_query(record: LoggedQuery) -> None:
    count = _counter.get()
    if count is not None and record.query not in _HOUSEKEEPING:
        count.statements += 1


# The pool's own statements (the reset sent when a connection goes back to the pool) are
# not the request's: counting them would count acquires, not round trips of the request.
_HOUSEKEEPING: set[str] = set()


async def _init_connection(conn: Conn) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    # asyncpg looks up array types on first use, a few statements per connection; do it
    # here, once, rather than in the middle of some request.
    await conn.fetchrow(
        "SELECT '{}'::uuid[], '{}'::date[], '{}'::timestamptz[], '{}'::text[], '{}'::bigint[],"
        " '{}'::int[]"
    )
    # Added after the set-up, so a connection opened mid-request does not count it.
    _HOUSEKEEPING.add(conn.get_reset_query())
    conn.add_query_logger(_log_query)


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Skip the reset statement on release: a round trip per DataLoader batch otherwise.

    asyncpg still rolls back any open transaction and drops listener callbacks. This is
    safe because nothing here leaves session state behind: advisory locks are taken per
    transaction (pg_advisory_xact_lock), no SET outside a transaction, and whoever LISTENs on
    a pooled connection UNLISTENs (remove_listener) before giving it back.
    """


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        command_timeout=30,
        # A compiled read (resolvers/compiled/) is one statement of 10-50 kB: above asyncpg's
        # default 15 kB it was parsed and planned anew on every request (4 ms instead of
        # 0.3 ms). Prepared once per connection and shape, it is planned once.
        max_cacheable_statement_size=256 * 1024,
        statement_cache_size=512,
    )
    assert pool is not None
    return pool
