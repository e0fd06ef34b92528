"""The `plangruppe` command line, run as real subprocesses against real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from db import migrate
from resolvers import passwords
from tests.conftest import temporary_database

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "Fjordbris-Lofoten7"
ADMIN_ARGS = [
    "kari",
    "--email",
    "kari@example.no",
    "--first-name",
    "Kari",
    "--last-name",
    "Nordmann",
]


def cli_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """The caller's environment without any plangruppe settings, plus `variables`."""
    prefixes = ("PLANGRUPPE_", "SMTP_", "SMS_", "DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["PLANGRUPPE_DATA_DIR"] = str(tmp_path / "data")
    env.update(variables)
    return env


def run(
    tmp_path: Path, *args: str, stdin: str | None = None, **variables: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=cli_env(tmp_path, **variables),
        cwd=ROOT,
        timeout=120,
    )


def one_line_reason(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("plangruppe: "), stderr
    return lines[0]


@pytest.fixture
async def empty_dsn(pg_admin_dsn: str) -> AsyncIterator[str]:
    """A brand-new database with no tables at all."""
    async with temporary_database(pg_admin_dsn, "empty") as dsn:
        yield dsn


async def recorded_migrations(dsn: str) -> list[int] | None:
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
            return None
        return [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]
    finally:
        await conn.close()


# --- migrate -----------------------------------------------------------------------------------


async def test_migrate_on_an_empty_database(empty_dsn: str, tmp_path: Path) -> None:
    assert await recorded_migrations(empty_dsn) is None
    expected = sorted(m.version for m in migrate.available())
    assert expected and expected[0] == 1

    first = run(tmp_path, "migrate", DATABASE_URL=empty_dsn)
    assert first.returncode == 0, first.stderr
    assert sorted(await recorded_migrations(empty_dsn) or []) == expected

    conn = await asyncpg.connect(empty_dsn)
    try:
        for table in ("persons", "accounts", "sessions", "login_challenges", "outbox", "audit_log"):
            assert await conn.fetchval("SELECT to_regclass($1)", table) is not None, table
    finally:
        await conn.close()

    again = run(tmp_path, "migrate", DATABASE_URL=empty_dsn)
    assert again.returncode == 0, again.stderr
    assert sorted(await recorded_migrations(empty_dsn) or []) == expected
    # Nothing was embedded: DATABASE_URL was used.
    assert not (tmp_path / "data").exists()


async def test_an_edited_applied_migration_stops_migrate_with_exit_2(
    empty_dsn: str, tmp_path: Path
) -> None:
    """Each applied migration's SHA-256 is recorded; a file that no longer matches (here the
    record is made to differ, as an edited file would) stops migrate before anything runs.
    A database from before checksums gets them recorded on the next migrate."""
    assert run(tmp_path, "migrate", DATABASE_URL=empty_dsn).returncode == 0
    first = migrate.available()[0]
    conn = await asyncpg.connect(empty_dsn)
    try:
        recorded = await conn.fetchval(
            "SELECT checksum FROM schema_migrations WHERE version = $1", first.version
        )
        assert recorded == first.checksum
        await conn.execute("UPDATE schema_migrations SET checksum = NULL")
        assert run(tmp_path, "migrate", DATABASE_URL=empty_dsn).returncode == 0
        assert (
            await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE checksum IS NULL")
            == 0
        )
        await conn.execute(
            "UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = $1",
            first.version,
        )
    finally:
        await conn.close()
    edited = run(tmp_path, "migrate", DATABASE_URL=empty_dsn)
    assert edited.returncode == 2, edited.stderr
    line = one_line_reason(edited.stderr)
    assert f"{first.version:04d}_{first.name}" in line and "changed" in line, line
    served = run(tmp_path, "serve", "--port", "0", DATABASE_URL=empty_dsn)
    assert served.returncode == 2, served.stderr
    assert f"plangruppe: migration {first.version:04d}_{first.name} was changed" in served.stderr
    assert "Traceback" not in served.stderr


async def test_two_migrations_started_at_once_do_not_race(empty_dsn: str, tmp_path: Path) -> None:
    """Both processes queue on the advisory lock; we hold it until both wait, then let go."""
    holder = await asyncpg.connect(empty_dsn)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", migrate._LOCK_KEY)
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gateway",
                "migrate",
                env=cli_env(tmp_path, DATABASE_URL=empty_dsn),
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        async with asyncio.timeout(60):
            while (
                await holder.fetchval(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                    " WHERE l.locktype = 'advisory' AND NOT l.granted"
                    " AND d.datname = current_database()"
                )
                < 2
            ):
                assert all(p.returncode is None for p in processes)
                await asyncio.sleep(0.05)
        # Both are inside their transactions, waiting: nothing is applied yet.
        assert await recorded_migrations(empty_dsn) is None
        await holder.execute("SELECT pg_advisory_unlock($1)", migrate._LOCK_KEY)
    finally:
        await holder.close()

    async with asyncio.timeout(120):
        results = [await p.communicate() for p in processes]
    for process, (_out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err.decode()
    versions = await recorded_migrations(empty_dsn) or []
    assert sorted(versions) == sorted(m.version for m in migrate.available())
    assert len(versions) == len(set(versions))


# --- create-admin ------------------------------------------------------------------------------


async def admin_rows(dsn: str, username: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(
            "SELECT a.username, a.password_hash, a.otp_channel, p.id AS person_id,"
            " p.first_name, p.last_name, p.email,"
            " array(SELECT role FROM person_global_roles r WHERE r.person_id = p.id) AS roles"
            " FROM accounts a JOIN persons p ON p.id = a.person_id"
            " WHERE lower(a.username) = lower($1)",
            username,
        )
    finally:
        await conn.close()


async def test_create_admin_with_the_password_on_stdin(db_dsn: str, tmp_path: Path) -> None:
    out = run(
        tmp_path, "create-admin", *ADMIN_ARGS, stdin=ADMIN_PASSWORD + "\n", DATABASE_URL=db_dsn
    )
    assert out.returncode == 0, out.stderr
    assert "kari" in out.stdout
    assert ADMIN_PASSWORD not in out.stdout + out.stderr

    [row] = await admin_rows(db_dsn, "kari")
    assert row["roles"] == ["SYSTEM_ADMIN"]
    assert (row["first_name"], row["last_name"], row["email"]) == (
        "Kari",
        "Nordmann",
        "kari@example.no",
    )
    assert row["otp_channel"] == "EMAIL"
    assert row["password_hash"].startswith("$argon2id$")
    assert await passwords.verify(row["password_hash"], ADMIN_PASSWORD)
    assert not await passwords.verify(row["password_hash"], ADMIN_PASSWORD + "\n")

    conn = await asyncpg.connect(db_dsn)
    try:
        targets = await conn.fetch(
            "SELECT target FROM audit_log WHERE action = 'admin.created_by_cli'"
        )
    finally:
        await conn.close()
    assert [r["target"] for r in targets] == [str(row["person_id"])]


async def test_create_admin_with_the_password_in_the_environment(
    db_dsn: str, tmp_path: Path
) -> None:
    out = run(
        tmp_path,
        "create-admin",
        *ADMIN_ARGS,
        DATABASE_URL=db_dsn,
        PLANGRUPPE_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    assert out.returncode == 0, out.stderr
    [row] = await admin_rows(db_dsn, "kari")
    assert row["roles"] == ["SYSTEM_ADMIN"]
    assert await passwords.verify(row["password_hash"], ADMIN_PASSWORD)


@pytest.mark.parametrize(
    "password",
    ["kort1A", "alllowercase123", "Kari-Fjellet-2026", "Nordmann-Tur-2026", "ingen-tall-Her"],
)
async def test_create_admin_refuses_a_weak_password(
    db_dsn: str, tmp_path: Path, password: str
) -> None:
    out = run(tmp_path, "create-admin", *ADMIN_ARGS, stdin=password + "\n", DATABASE_URL=db_dsn)
    assert out.returncode == 2, out.stderr
    reason = one_line_reason(out.stderr)
    assert "password" in reason.lower()
    assert password not in out.stderr
    assert await admin_rows(db_dsn, "kari") == []


@pytest.mark.parametrize("username", ["kari", "KARI"])
async def test_create_admin_refuses_a_taken_username(
    db_dsn: str, tmp_path: Path, username: str
) -> None:
    first = run(tmp_path, "create-admin", *ADMIN_ARGS, stdin=ADMIN_PASSWORD, DATABASE_URL=db_dsn)
    assert first.returncode == 0, first.stderr
    args = [username, *ADMIN_ARGS[1:]]
    args[args.index("--email") + 1] = "kari2@example.no"
    again = run(tmp_path, "create-admin", *args, stdin=ADMIN_PASSWORD, DATABASE_URL=db_dsn)
    assert again.returncode != 0
    assert "taken" in one_line_reason(again.stderr)
    rows = await admin_rows(db_dsn, "kari")
    assert [r["email"] for r in rows] == ["kari@example.no"]


async def test_create_admin_refuses_a_bad_username(db_dsn: str, tmp_path: Path) -> None:
    args = ["k", *ADMIN_ARGS[1:]]
    out = run(tmp_path, "create-admin", *args, stdin=ADMIN_PASSWORD, DATABASE_URL=db_dsn)
    assert out.returncode == 2
    assert "username" in one_line_reason(out.stderr)


# --- configuration and usage errors ------------------------------------------------------------


async def test_a_configuration_error_exits_2_with_one_line(empty_dsn: str, tmp_path: Path) -> None:
    out = run(tmp_path, "migrate", DATABASE_URL=empty_dsn, PLANGRUPPE_ENV="production")
    assert out.returncode == 2
    assert "SMTP_HOST" in one_line_reason(out.stderr)
    # Refused before touching the database.
    assert await recorded_migrations(empty_dsn) is None


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"SMTP_PORT": "smtp"}, "SMTP_PORT"),
        ({"PLANGRUPPE_OTP_CHANNELS": "FAX"}, "PLANGRUPPE_OTP_CHANNELS"),
        ({"DATABASE_URL": "mysql://db.example/plan"}, "DATABASE_URL"),
    ],
)
def test_other_configuration_errors_exit_2(
    tmp_path: Path, variables: dict[str, str], named: str
) -> None:
    out = run(tmp_path, "migrate", **variables)
    assert out.returncode == 2
    assert named in one_line_reason(out.stderr)
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("args", [["frobnicate"], [], ["create-admin"]])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    out = run(tmp_path, *args)
    assert out.returncode == 2
    assert "usage:" in out.stderr
    assert not (tmp_path / "data").exists()


# --- schema ------------------------------------------------------------------------------------


def test_schema_prints_the_sdl(tmp_path: Path) -> None:
    out = run(tmp_path, "schema")
    assert out.returncode == 0, out.stderr
    assert "type Query {" in out.stdout
    assert "type Mutation {" in out.stdout
    assert "login(username: String!, password: String!): LoginChallenge!" in out.stdout
    # No database needed, none started.
    assert not (tmp_path / "data").exists()


# --- help ----------------------------------------------------------------------------------------


def settings_read_from_the_environment() -> set[str]:
    """Every variable the code reads: Settings.from_env's get("…") and os.environ.get("…")."""
    names: set[str] = set()
    for source in ("gateway/settings.py", "gateway/cli.py"):
        text = (ROOT / source).read_text()
        names |= set(re.findall(r"""\bget\(\s*["']([A-Z][A-Z0-9_]+)["']""", text))
    return names


def test_help_points_to_the_docs_and_lists_every_setting(tmp_path: Path) -> None:
    out = run(tmp_path, "--help")
    assert out.returncode == 0, out.stderr
    variables = settings_read_from_the_environment()
    assert {"DATABASE_URL", "PLANGRUPPE_ENV", "PLANGRUPPE_ADMIN_PASSWORD"} <= variables
    listed = set(re.findall(r"^  ([A-Z][A-Z0-9_]+) ", out.stdout, flags=re.M))
    assert listed == variables
    named_docs = set(re.findall(r"docs/[\w-]+\.md", out.stdout))
    assert {"docs/README.md", "docs/first-day.md", "docs/operations.md"} <= named_docs
    for page in named_docs:
        assert (ROOT / page).is_file(), page
    # No database needed, none started.
    assert not (tmp_path / "data").exists()


def test_operations_page_documents_every_setting() -> None:
    configuration = (ROOT / "docs" / "operations.md").read_text().split("## Configuration")[1]
    table = configuration.split("\n## ")[0]
    missing = [v for v in settings_read_from_the_environment() if f"`{v}`" not in table]
    assert missing == []


def test_schema_markdown_prints_the_reference(tmp_path: Path) -> None:
    out = run(tmp_path, "schema", "--markdown")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# API reference\n")
    assert "### Plan\n" in out.stdout
    assert not (tmp_path / "data").exists()
