"""What `plangruppe` refuses before it starts anything (exit 2, one line, no traceback):
production without its own database, demo accounts in production, a port that is taken,
a database it cannot reach, and trusted proxies that are not addresses.

Real subprocesses against the test PostgreSQL, as tests/test_cli.py runs them.
"""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.settings import ConfigError, Settings
from tests.conftest import free_port, temporary_database, with_database
from tests.http.test_serve_process import stop_stray_postgres
from tests.test_cli import one_line_reason, recorded_migrations, run

# A complete production configuration but for the database (tests/test_settings.py).
PRODUCTION = {
    "PLANGRUPPE_ENV": "production",
    "SMTP_HOST": "smtp.kommune.example",
    "SMTP_STARTTLS": "true",
    "SMS_GATEWAY_URL": "https://sms.kommune.example/send",
    # A Fernet key: 32 random bytes, URL-safe base64; made for this run only.
    "PLANGRUPPE_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
}


@pytest.fixture
async def empty_dsn(pg_admin_dsn: str) -> AsyncIterator[str]:
    """A brand-new database with no tables: whatever touched it would leave migrations."""
    async with temporary_database(pg_admin_dsn, "empty") as dsn:
        yield dsn


@pytest.fixture(autouse=True)
def no_stray_database(tmp_path: Path) -> Iterator[None]:
    """Should a refusal come too late, the embedded database it started does not outlive it."""
    yield
    stop_stray_postgres(tmp_path / "data" / "pgdata")


def unreachable_dsn() -> str:
    """A database URL with a password, on a local port where nothing listens."""
    return f"postgresql://kari:hemmelig-passord@127.0.0.1:{free_port()}/plangruppe"


# --- production ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "0"], ["run-jobs", "--once"]])
def test_production_without_database_url_is_refused(tmp_path: Path, command: list[str]) -> None:
    """The embedded database lives in the data dir: in a container it dies with it."""
    out = run(tmp_path, *command, **PRODUCTION)
    assert out.returncode == 2, out.stderr
    assert "DATABASE_URL" in one_line_reason(out.stderr)
    assert not (tmp_path / "data").exists()  # no embedded database was made


async def test_serve_demo_is_refused_in_production(empty_dsn: str, tmp_path: Path) -> None:
    production = {**PRODUCTION, "DATABASE_URL": empty_dsn}
    out = run(tmp_path, "serve", "--demo", "--port", str(free_port()), **production)
    assert out.returncode == 2, out.stderr
    assert "--demo" in one_line_reason(out.stderr)
    assert "Demo accounts" not in out.stdout
    assert await recorded_migrations(empty_dsn) is None


async def test_a_complete_production_configuration_gets_past_these_checks(
    db_dsn: str, tmp_path: Path
) -> None:
    """The refusals above are for what is missing: `migrate` with everything set runs."""
    out = run(tmp_path, "migrate", **PRODUCTION, DATABASE_URL=db_dsn)
    assert out.returncode == 0, out.stderr


# --- the port -----------------------------------------------------------------------------------


async def test_a_taken_port_is_refused_before_the_database_and_the_demo(
    empty_dsn: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run(tmp_path, "serve", "--demo", "--port", str(port), DATABASE_URL=empty_dsn)
    assert out.returncode == 2, out.stderr
    reason = one_line_reason(out.stderr)
    assert f"127.0.0.1:{port}" in reason, reason
    assert "Demo accounts" not in out.stdout  # no passwords printed for a server that never ran
    assert await recorded_migrations(empty_dsn) is None  # the database was not touched


def test_a_taken_port_is_refused_before_the_embedded_database_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        out = run(tmp_path, "serve", "--demo", "--port", str(taken.getsockname()[1]))
    assert out.returncode == 2, out.stderr
    one_line_reason(out.stderr)
    assert not (tmp_path / "data").exists()


# --- a database that cannot be reached ----------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["migrate"], ["send-notifications", "--once"], ["run-jobs", "--once"]]
)
def test_an_unreachable_database_is_one_line_without_the_password(
    tmp_path: Path, command: list[str]
) -> None:
    dsn = unreachable_dsn()
    out = run(tmp_path, *command, DATABASE_URL=dsn)
    assert out.returncode == 2, out.stderr
    reason = one_line_reason(out.stderr)
    port = dsn.rsplit(":", 1)[1].split("/")[0]
    assert reason.startswith(f"plangruppe: cannot connect to the database at 127.0.0.1:{port}/"), (
        reason
    )
    assert "hemmelig-passord" not in out.stderr + out.stdout


def test_serve_with_an_unreachable_database_exits_2_without_a_traceback(tmp_path: Path) -> None:
    out = run(tmp_path, "serve", "--port", str(free_port()), DATABASE_URL=unreachable_dsn())
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("plangruppe: cannot connect to the database"), out.stderr
    assert "hemmelig-passord" not in out.stderr + out.stdout


def test_a_database_that_does_not_exist_is_one_line(pg_admin_dsn: str, tmp_path: Path) -> None:
    missing = with_database(pg_admin_dsn, "plangruppe_finnes_ikke")
    out = run(tmp_path, "migrate", DATABASE_URL=missing)
    assert out.returncode == 2, out.stderr
    reason = one_line_reason(out.stderr)
    assert "cannot connect to the database" in reason and "plangruppe_finnes_ikke" in reason


# --- trusted proxies ----------------------------------------------------------------------------


def test_no_proxy_is_trusted_by_default() -> None:
    assert Settings.from_env({}).trusted_proxies == ()
    assert Settings().trusted_proxies == ()


def test_trusted_proxies_are_addresses_and_networks() -> None:
    value = " 10.0.0.0/8, 192.168.1.10 ,::1, 2001:db8::/32,"
    assert Settings.from_env({"PLANGRUPPE_TRUSTED_PROXIES": value}).trusted_proxies == (
        "10.0.0.0/8",
        "192.168.1.10/32",
        "::1/128",
        "2001:db8::/32",
    )


@pytest.mark.parametrize("value", ["*", "proxy.kommune.example", "10.0.0.0/33", "10.0.0"])
def test_a_trusted_proxy_that_is_not_an_address_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="PLANGRUPPE_TRUSTED_PROXIES"):
        Settings.from_env({"PLANGRUPPE_TRUSTED_PROXIES": value})


def test_a_bad_trusted_proxy_exits_2(tmp_path: Path) -> None:
    out = run(tmp_path, "migrate", PLANGRUPPE_TRUSTED_PROXIES="*")
    assert out.returncode == 2
    assert "PLANGRUPPE_TRUSTED_PROXIES" in one_line_reason(out.stderr)


@pytest.mark.parametrize(
    "value",
    ['[{"name": "idporten"}]', "not json", '{"name": "idporten"}'],
)
def test_a_malformed_oidc_provider_exits_2_with_one_line(tmp_path: Path, value: str) -> None:
    out = run(tmp_path, "serve", "--port", "0", PLANGRUPPE_OIDC_PROVIDERS=value)
    assert out.returncode == 2, out.stderr
    assert "PLANGRUPPE_OIDC_PROVIDERS" in one_line_reason(out.stderr)
