"""Secrets at rest (docs/secrets.md): nothing in the database lets its reader log in.

One-time codes and reset/invitation links are sealed while they wait in the outbox, cleared once
delivered or expired, and never sent late; TOTP secrets are sealed with PLANGRUPPE_SECRET_KEY,
which rotates; production refuses to start without it. Real PostgreSQL, SMTP, SMS and HTTP.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pyotp
import pytest

from db import migrate, outbox, persons
from db.pool import create_pool
from gateway.outbox import backoff
from gateway.settings import ConfigError, Settings
from resolvers import passwords
from resolvers.secret_box import KEY_FILE, SecretBox, SecretKeyError, generate_key
from tests.conftest import (
    Gateway,
    Mailbox,
    SmsGateway,
    free_port,
    running_gateway,
    temporary_database,
)
from tests.support import (
    START,
    FakeClock,
    User,
    error_codes,
    make_user,
    session_for,
    six_digit_code,
    token_from_link,
)

LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { challengeId channel } }"""
VERIFY = """mutation($c: ID!, $code: String!) {
  verifyLoginCode(challengeId: $c, code: $code) { token person { id } } }"""
REQUEST_RESET = "mutation($v: String!) { requestPasswordReset(usernameOrEmail: $v) }"
RESET = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }"
CREATE_ACCOUNT = """mutation($p: ID!, $u: String!, $ch: OtpChannel!) {
  createAccount(personId: $p, username: $u, otpChannel: $ch) }"""
SETUP_APP = "mutation { setupAuthenticatorApp { provisioningUri } }"
CONFIRM_APP = "mutation($code: String!) { confirmAuthenticatorApp(code: $code) }"

MOBILE = "+4791234567"
NEW_PASSWORD = "Sjøsprøyt-Lofoten73"
ROOT = Path(__file__).resolve().parent.parent

# Column types whose text could hold a code or a token.
_TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "ARRAY", "bytea")


async def places_holding(pool: asyncpg.Pool, needle: str) -> list[str]:
    """Every table.column of the database (public schema) whose value contains ``needle``."""
    columns = await pool.fetch(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
        " JOIN information_schema.tables t"
        "  ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
        " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
        " AND c.data_type = ANY($1::text[])",
        list(_TEXT_TYPES),
    )
    assert len(columns) > 20, columns  # the search really looks at the schema
    found = []
    for column in columns:
        name = f'"{column["table_name"]}"."{column["column_name"]}"'
        if column["data_type"] == "bytea":
            condition = f"position(convert_to($1, 'UTF8') in {name}) > 0"
        else:
            condition = f"strpos({name}::text, $1) > 0"
        if await pool.fetchval(
            f'SELECT count(*) FROM "{column["table_name"]}" WHERE {condition}', needle
        ):
            found.append(name)
    return found


async def outbox_rows(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM outbox ORDER BY id")


async def post(
    gateway: Gateway, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    return await gateway.client.post(query, variables, token=token)


async def log_in_by_email(gateway: Gateway, smtp: Mailbox, user: User) -> tuple[str, str]:
    """(code, session token) of a login whose code came by e-mail."""
    challenge = (await post(gateway, LOGIN, {"u": user.username, "p": user.password}))["data"][
        "login"
    ]
    assert challenge["channel"] == "EMAIL", challenge
    assert await gateway.deliver() == 1
    code = six_digit_code(smtp.messages[-1].get_content())
    body = await post(gateway, VERIFY, {"c": challenge["challengeId"], "code": code})
    assert "errors" not in body, body
    return code, body["data"]["verifyLoginCode"]["token"]


# --- codes and links in the outbox ------------------------------------------------------------


async def test_no_code_or_link_token_is_left_in_the_database_after_delivery(
    gateway: Gateway, smtp: Mailbox, sms: SmsGateway
) -> None:
    secrets: list[str] = []

    # A login code by e-mail, and one by SMS.
    mail_user = await make_user(gateway.pool, "nora")
    mail_code, _ = await log_in_by_email(gateway, smtp, mail_user)
    secrets.append(mail_code)
    sms_user = await make_user(gateway.pool, "kari", mobile=MOBILE, channel="SMS")
    challenge = (await post(gateway, LOGIN, {"u": "kari", "p": sms_user.password}))["data"]["login"]
    # Waiting in the outbox, the code is sealed, not in clear.
    [waiting] = [r for r in await outbox_rows(gateway.pool) if r["sent_at"] is None]
    assert waiting["secret"] and waiting["body"].startswith("fernet:")
    assert await gateway.deliver() == 1
    sms_code = six_digit_code(sms.received[-1]["text"])
    secrets.append(sms_code)

    # A password reset link.
    assert (await post(gateway, REQUEST_RESET, {"v": "nora"}))["data"] == {
        "requestPasswordReset": True
    }
    assert await gateway.deliver() == 1
    reset_token = token_from_link(smtp.messages[-1].get_content())
    secrets.append(reset_token)

    # An invitation link.
    admin = await make_user(gateway.pool, "sysadmin", roles=("SYSTEM_ADMIN",))
    admin_token = await session_for(gateway.pool, admin, gateway.clock())
    async with gateway.pool.acquire() as conn:
        invited = await persons.insert(
            conn, {"first_name": "Siv", "last_name": "Berg", "email": "siv@example.no"}
        )
    body = await post(
        gateway,
        CREATE_ACCOUNT,
        {"p": str(invited.id), "u": "siv.berg", "ch": "EMAIL"},
        admin_token,
    )
    assert body == {"data": {"createAccount": True}}, body
    assert await gateway.deliver() == 1
    invitation_token = token_from_link(smtp.messages[-1].get_content())
    secrets.append(invitation_token)

    for secret in secrets:
        assert await places_holding(gateway.pool, secret) == [], secret
    rows = await outbox_rows(gateway.pool)
    assert len(rows) == 4
    for r in rows:
        assert r["secret"] and r["sent_at"] is not None and r["body"] == "", dict(r)

    # Clearing the outbox broke nothing: the SMS code, the reset and the invitation still work.
    body = await post(gateway, VERIFY, {"c": challenge["challengeId"], "code": sms_code})
    assert "errors" not in body, body
    for token in (reset_token, invitation_token):
        body = await post(gateway, RESET, {"t": token, "p": NEW_PASSWORD})
        assert body == {"data": {"resetPassword": True}}, body


async def test_a_code_that_expires_undelivered_is_never_sent_and_its_body_is_cleared(
    gateway: Gateway, smtp: Mailbox, clock: FakeClock
) -> None:
    user = await make_user(gateway.pool, "odd")
    smtp.stop()
    challenge = (await post(gateway, LOGIN, {"u": "odd", "p": user.password}))["data"]["login"]
    assert await gateway.deliver() == 0  # the mail server is down: retried later
    smtp.start()
    clock.advance(minutes=5, seconds=1)
    assert await gateway.deliver() == 0
    assert smtp.messages == []
    clock.advance(hours=1)
    assert await gateway.deliver() == 0
    assert smtp.messages == []
    [row] = await outbox_rows(gateway.pool)
    assert row["body"] == "" and row["sent_at"] is None
    assert row["failed_at"] is not None and row["last_error"] == outbox.EXPIRED

    # The next try answers clearly: that challenge has expired; a new login sends a new code.
    body = await post(gateway, VERIFY, {"c": challenge["challengeId"], "code": "123456"})
    assert error_codes(body) == ["CODE_EXPIRED"]
    again = (await post(gateway, LOGIN, {"u": "odd", "p": user.password}))["data"]["login"]
    assert again["challengeId"] != challenge["challengeId"]
    assert await gateway.deliver() == 1
    code = six_digit_code(smtp.messages[-1].get_content())
    body = await post(gateway, VERIFY, {"c": again["challengeId"], "code": code})
    assert body["data"]["verifyLoginCode"]["person"]["id"] == str(user.person_id), body


async def test_an_sms_code_left_by_a_stopped_worker_is_dropped(
    gateway: Gateway, sms: SmsGateway, clock: FakeClock
) -> None:
    user = await make_user(gateway.pool, "kari", mobile=MOBILE, channel="SMS")
    await post(gateway, LOGIN, {"u": "kari", "p": user.password})
    clock.advance(minutes=5)  # the worker never ran within the code's five minutes
    assert await gateway.deliver() == 0
    assert sms.received == []
    [row] = await outbox_rows(gateway.pool)
    assert row["body"] == "" and row["failed_at"] == clock.now


async def test_a_code_whose_next_retry_is_past_its_expiry_is_given_up_at_once(
    gateway: Gateway, smtp: Mailbox, clock: FakeClock
) -> None:
    user = await make_user(gateway.pool, "per")
    smtp.stop()
    await post(gateway, LOGIN, {"u": "per", "p": user.password})
    tries = 0
    while tries < 20:  # bounded: a regression fails instead of looping for three days
        tries += 1
        assert await gateway.deliver() == 0
        [row] = await outbox_rows(gateway.pool)
        if row["failed_at"] is not None:
            break
        assert row["body"].startswith("fernet:")
        clock.now = row["next_attempt_at"]
    # 5+10+20+40+80 s have passed; the next wait (160 s) would end after the five minutes.
    assert tries == 6
    assert sum(backoff(n).total_seconds() for n in range(5)) < 300
    assert sum(backoff(n).total_seconds() for n in range(6)) > 300
    assert clock.now < row["expires_at"]
    assert row["body"] == "" and row["sent_at"] is None


# --- TOTP secrets ----------------------------------------------------------------------------


async def test_totp_secrets_are_sealed_and_the_app_still_logs_in(
    gateway: Gateway, smtp: Mailbox, clock: FakeClock
) -> None:
    user = await make_user(gateway.pool, "lars")
    _, token = await log_in_by_email(gateway, smtp, user)
    uri = (await post(gateway, SETUP_APP, {}, token))["data"]["setupAuthenticatorApp"][
        "provisioningUri"
    ]
    [secret] = parse_qs(urlsplit(uri).query)["secret"]
    pending = await gateway.pool.fetchval(
        "SELECT totp_pending_secret FROM accounts WHERE id = $1", user.account_id
    )
    assert pending.startswith("fernet:") and secret not in pending
    assert await places_holding(gateway.pool, secret) == []

    code = pyotp.TOTP(secret).at(clock.now)
    body = await post(gateway, CONFIRM_APP, {"code": code}, token)
    assert body == {"data": {"confirmAuthenticatorApp": True}}, body
    stored = await gateway.pool.fetchval(
        "SELECT totp_secret FROM accounts WHERE id = $1", user.account_id
    )
    assert stored.startswith("fernet:") and stored != secret
    assert gateway.settings.secret_box.open(stored) == secret
    assert await places_holding(gateway.pool, secret) == []

    clock.advance(seconds=30)
    challenge = (await post(gateway, LOGIN, {"u": "lars", "p": user.password}))["data"]["login"]
    assert challenge["channel"] == "APP"
    body = await post(
        gateway, VERIFY, {"c": challenge["challengeId"], "code": pyotp.TOTP(secret).at(clock.now)}
    )
    assert body["data"]["verifyLoginCode"]["person"]["id"] == str(user.person_id), body


# --- key rotation ----------------------------------------------------------------------------


def run_cli(tmp_path: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    prefixes = ("PLANGRUPPE_", "SMTP_", "SMS_", "DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env |= {"PLANGRUPPE_DATA_DIR": str(tmp_path / "data"), **variables}
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


async def app_user(pool: asyncpg.Pool, username: str, sealed_secret: str) -> User:
    user = await make_user(pool, username)
    await pool.execute(
        "UPDATE accounts SET totp_secret = $2, otp_channel = 'APP' WHERE id = $1",
        user.account_id,
        sealed_secret,
    )
    return user


async def app_login_works(gateway: Gateway, user: User, secret: str) -> bool:
    gateway.clock.advance(seconds=30)  # a fresh time step: no replay
    challenge = (await post(gateway, LOGIN, {"u": user.username, "p": user.password}))["data"][
        "login"
    ]
    assert challenge["channel"] == "APP"
    code = pyotp.TOTP(secret).at(gateway.clock())
    body = await post(gateway, VERIFY, {"c": challenge["challengeId"], "code": code})
    return "errors" not in body


async def test_rotation_old_rows_open_under_new_old_and_the_command_reseals_them(
    pool: asyncpg.Pool,
    settings: Settings,
    clock: FakeClock,
    smtp: Mailbox,
    db_dsn: str,
    tmp_path: Path,
) -> None:
    old, new = generate_key(), generate_key()
    secret = pyotp.random_base32()
    user = await app_user(pool, "lars", SecretBox([old]).seal(secret))
    # A reset mail waiting (the mail server is down) was sealed under the old key too.
    smtp.stop()
    async for gateway in running_gateway(pool, settings, clock, secret_keys=(old,)):
        await post(gateway, REQUEST_RESET, {"v": "lars"})
        assert await gateway.deliver() == 0

    async for gateway in running_gateway(pool, settings, clock, secret_keys=(new, old)):
        assert await app_login_works(gateway, user, secret)

    # Without the old key nothing opens, and the command refuses to rewrite anything.
    refused = run_cli(tmp_path, "rotate-secrets", DATABASE_URL=db_dsn, PLANGRUPPE_SECRET_KEY=new)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip().count("\n") == 0 and "PLANGRUPPE_SECRET_KEY" in refused.stderr
    assert old not in refused.stderr and new not in refused.stderr
    stored = await pool.fetchval("SELECT totp_secret FROM accounts WHERE id = $1", user.account_id)
    assert SecretBox([old]).open(stored) == secret

    out = run_cli(
        tmp_path, "rotate-secrets", DATABASE_URL=db_dsn, PLANGRUPPE_SECRET_KEY=f"{new},{old}"
    )
    assert out.returncode == 0, out.stderr
    assert "re-encrypted 2 " in out.stdout  # the TOTP secret and the waiting mail
    stored = await pool.fetchval("SELECT totp_secret FROM accounts WHERE id = $1", user.account_id)
    assert SecretBox([new]).open(stored) == secret
    with pytest.raises(SecretKeyError):
        SecretBox([old]).open(stored)
    [mail] = await outbox_rows(pool)
    with pytest.raises(SecretKeyError):
        SecretBox([old]).open(mail["body"])

    # The old key can go: the app logs in and the waiting mail is delivered under the new key.
    smtp.start()
    clock.advance(minutes=1)
    async for gateway in running_gateway(pool, settings, clock, secret_keys=(new,)):
        assert await app_login_works(gateway, user, secret)
        assert await gateway.deliver() == 1
        token_from_link(smtp.messages[-1].get_content())


# --- the key itself --------------------------------------------------------------------------

PRODUCTION = {
    "PLANGRUPPE_ENV": "production",
    "DATABASE_URL": "postgresql://plan@db.kommune.example/plangruppe",
    "SMTP_HOST": "smtp.kommune.example",
    "SMTP_STARTTLS": "true",
    "SMS_GATEWAY_URL": "https://sms.kommune.example/send",
}


def test_production_without_the_key_refuses_to_start(db_dsn: str, tmp_path: Path) -> None:
    port = str(free_port())
    out = run_cli(tmp_path, "serve", "--port", port, **{**PRODUCTION, "DATABASE_URL": db_dsn})
    assert out.returncode == 2, out.stderr
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("plangruppe: ") and "PLANGRUPPE_SECRET_KEY" in line
    assert not (tmp_path / "data" / KEY_FILE).exists()  # never made up in production


def test_a_malformed_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    bad = "not-a-key-" + generate_key()[:20]
    out = run_cli(tmp_path, "migrate", PLANGRUPPE_SECRET_KEY=f"{generate_key()},{bad}")
    assert out.returncode == 2
    [line] = out.stderr.strip().splitlines()
    assert "PLANGRUPPE_SECRET_KEY: key 2 " in line and bad not in line
    with pytest.raises(ConfigError, match="PLANGRUPPE_SECRET_KEY"):
        Settings.from_env({"PLANGRUPPE_SECRET_KEY": bad})


def test_production_with_a_key_seals_with_it_and_makes_no_file(tmp_path: Path) -> None:
    key = generate_key()
    settings = Settings.from_env(
        {**PRODUCTION, "PLANGRUPPE_SECRET_KEY": key, "PLANGRUPPE_DATA_DIR": str(tmp_path)}
    )
    assert SecretBox([key]).open(settings.secret_box.seal("abc")) == "abc"
    assert key not in repr(settings)
    assert list(tmp_path.iterdir()) == []


def test_the_development_key_is_made_once_in_the_data_dir_and_reused(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path / "data")
    sealed = first.secret_box.seal("JBSWY3DPEHPK3PXP")
    key_file = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == [KEY_FILE]  # no drafts left
    content = key_file.read_text()
    # The next start (a new process, new settings) reads the same key and opens old values.
    again = replace(first)
    assert again.secret_box.open(sealed) == "JBSWY3DPEHPK3PXP"
    assert key_file.read_text() == content
    # A key from the environment wins over the file.
    other = replace(first, secret_keys=(generate_key(),))
    with pytest.raises(SecretKeyError):
        other.secret_box.open(sealed)


# --- rows from before this version -------------------------------------------------------------


@pytest.fixture
async def old_dsn(pg_admin_dsn: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A database migrated to just before secrets at rest (0007)."""
    every = migrate.available()
    async with temporary_database(pg_admin_dsn, "pre7") as dsn:
        with monkeypatch.context() as patch:
            patch.setattr(migrate, "available", lambda: [m for m in every if m.version < 7])
            conn = await asyncpg.connect(dsn)
            try:
                await migrate.apply(conn)
            finally:
                await conn.close()
        yield dsn


async def test_rows_stored_in_clear_before_are_cleared_or_sealed(
    old_dsn: str, settings: Settings, smtp: Mailbox, clock: FakeClock
) -> None:
    secret = pyotp.random_base32()
    conn = await asyncpg.connect(old_dsn)
    try:
        now: dt.datetime = await conn.fetchval("SELECT now()")
        person_id = await conn.fetchval(
            "INSERT INTO persons (first_name, last_name, email) VALUES ('Lars', 'Li',"
            " 'lars@example.no') RETURNING id"
        )
        await conn.execute(
            "INSERT INTO accounts (person_id, username, password_hash, otp_channel, totp_secret)"
            " VALUES ($1, 'lars', $2, 'APP', $3)",
            person_id,
            await passwords.hash_password(NEW_PASSWORD),
            secret,
        )
        reset = "https://x/r?token=AbC_1"
        legacy = [
            # (channel, subject, body, minutes old, sent)
            ("EMAIL", "Engangskode for innlogging i plangruppe", "Koden er 482913.", 1, True),
            ("SMS", "", "Engangskode for plangruppe: 771204. Gjelder fem minutter.", 10, False),
            ("EMAIL", "Tilbakestill passordet ditt i plangruppe", reset, 1, True),
            ("EMAIL", "Du er invitert til plangruppe", "https://x/s?token=DeF-2", 0, False),
            ("EMAIL", "Ny melding i plangruppe", "Du har fått en ny melding.", 1, True),
        ]
        for channel, subject, body, age, sent in legacy:
            created = now - dt.timedelta(minutes=age)
            await conn.execute(
                "INSERT INTO outbox (channel, recipient, subject, body, created_at,"
                " next_attempt_at, sent_at) VALUES ($1, 'lars@example.no', $2, $3, $4, $4, $5)",
                channel,
                subject,
                body,
                created,
                created if sent else None,
            )
        await migrate.apply(conn)  # 0007 and anything after it
        rows = await conn.fetch("SELECT * FROM outbox ORDER BY id")
    finally:
        await conn.close()

    sent_code, expired_sms, sent_reset, waiting_invitation, event = rows
    for cleared in (sent_code, expired_sms, sent_reset):
        assert cleared["secret"] and cleared["body"] == "", dict(cleared)
    assert expired_sms["failed_at"] is not None and expired_sms["last_error"] == outbox.EXPIRED
    assert waiting_invitation["secret"] and waiting_invitation["sent_at"] is None
    assert waiting_invitation["expires_at"] == now + dt.timedelta(days=7)
    assert not event["secret"] and event["body"] == "Du har fått en ny melding."

    # The gateway's first start seals what is still in clear; the worker opens it to send.
    pool = await create_pool(old_dsn, min_size=1, max_size=4)
    try:
        clock.now = now + dt.timedelta(seconds=1)
        async for gateway in running_gateway(pool, settings, clock):
            stored = await pool.fetchval("SELECT totp_secret FROM accounts")
            assert stored.startswith("fernet:")
            for needle in (secret, "DeF-2", "482913", "771204", "AbC_1"):
                assert await places_holding(pool, needle) == [], needle
            assert await gateway.deliver() == 1
            assert token_from_link(smtp.messages[-1].get_content()) == "DeF-2"
            account_id = await pool.fetchval("SELECT id FROM accounts")
            lars = User(person_id, account_id, "lars", None, None, NEW_PASSWORD)
            assert await app_login_works(gateway, lars, secret)
    finally:
        await pool.close()


async def test_the_outbox_row_api_keeps_plain_rows_plain(pool: asyncpg.Pool) -> None:
    """Ordinary notifications are no secret: stored as they are, kept after sending."""
    async with pool.acquire() as conn:
        outbox_id = await outbox.enqueue(
            conn, channel="EMAIL", recipient="a@example.no", subject="S", body="B", now=START
        )
        await outbox.mark_sent(conn, outbox_id, START)
        await outbox.forget_secrets(conn, START + dt.timedelta(days=30))
    row = await pool.fetchrow("SELECT * FROM outbox WHERE id = $1", outbox_id)
    assert row is not None and not row["secret"] and row["body"] == "B"
