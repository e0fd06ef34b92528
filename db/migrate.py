"""Numbered SQL migrations, applied in one transaction under an advisory lock. Each applied
migration's SHA-256 is recorded; a migration file changed after it was applied stops
`migrate` (and every start) instead of leaving databases that differ under one version."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from db.pool import Conn

# Any constant shared by every gateway process; two processes starting at once queue here.
_LOCK_KEY = 0x706C616E67727570


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


class MigrationChanged(Exception):
    """An applied migration's file no longer has the checksum recorded when it ran."""

    def __init__(self, migration: Migration) -> None:
        super().__init__(
            f"migration {migration.version:04d}_{migration.name} was changed after it was"
            " applied (its SHA-256 differs from the one recorded); put the released file back"
            " and make the change as a new migration"
        )
        self.migration = migration


def available() -> list[Migration]:
    folder = resources.files("db") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(
                Migration(int(number), rest.removesuffix(".sql"), entry.read_text("utf-8"))
            )
    return sorted(found, key=lambda m: m.version)


async def apply(conn: Conn) -> list[int]:
    """Apply the pending migrations; returns the versions applied now."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        await conn.execute("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text")
        done = {
            r["version"]: r["checksum"]
            for r in await conn.fetch("SELECT version, checksum FROM schema_migrations")
        }
        applied = []
        for migration in available():
            if migration.version in done:
                recorded = done[migration.version]
                if recorded is None:  # applied before checksums were kept: recorded now
                    await conn.execute(
                        "UPDATE schema_migrations SET checksum = $2 WHERE version = $1",
                        migration.version,
                        migration.checksum,
                    )
                elif recorded != migration.checksum:
                    raise MigrationChanged(migration)
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
            applied.append(migration.version)
        return applied
