"""Accounts, login challenges, sessions, reset/invitation tokens and login attempts."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from db.pool import Conn

_ACCOUNT_COLUMNS = (
    "id, person_id, username, password_hash, otp_channel, totp_secret,"
    " totp_pending_secret, totp_last_counter"
)


@dataclass(frozen=True)
class AccountRow:
    id: uuid.UUID
    person_id: uuid.UUID
    username: str
    password_hash: str | None
    otp_channel: str
    totp_secret: str | None
    totp_pending_secret: str | None
    totp_last_counter: int | None


@dataclass(frozen=True)
class ChallengeRow:
    id: uuid.UUID
    account_id: uuid.UUID
    channel: str
    code_hash: str | None
    expires_at: dt.datetime
    attempts: int
    used_at: dt.datetime | None


@dataclass(frozen=True)
class SessionRow:
    id: uuid.UUID
    account_id: uuid.UUID
    person_id: uuid.UUID
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    global_roles: list[str]


@dataclass(frozen=True)
class TokenRow:
    id: uuid.UUID
    account_id: uuid.UUID
    kind: str
    expires_at: dt.datetime
    used_at: dt.datetime | None


def _account(record: asyncpg.Record | None) -> AccountRow | None:
    return AccountRow(**dict(record)) if record is not None else None


async def by_username(conn: Conn, username: str) -> AccountRow | None:
    return _account(
        await conn.fetchrow(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE lower(username) = lower($1)", username
        )
    )


async def by_username_or_email(conn: Conn, value: str) -> AccountRow | None:
    return _account(
        await conn.fetchrow(
            f"SELECT {', '.join('a.' + c.strip() for c in _ACCOUNT_COLUMNS.split(','))}"
            " FROM accounts a JOIN persons p ON p.id = a.person_id"
            " WHERE lower(a.username) = lower($1) OR lower(p.email) = lower($1)"
            " ORDER BY lower(a.username) = lower($1) DESC LIMIT 1",
            value,
        )
    )


async def by_id(conn: Conn, account_id: uuid.UUID) -> AccountRow | None:
    return _account(
        await conn.fetchrow(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = $1", account_id)
    )


async def by_person(conn: Conn, person_id: uuid.UUID) -> AccountRow | None:
    return _account(
        await conn.fetchrow(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE person_id = $1", person_id
        )
    )


async def otp_channels_by_person(
    conn: Conn, person_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    records = await conn.fetch(
        "SELECT person_id, otp_channel FROM accounts WHERE person_id = ANY($1)", list(person_ids)
    )
    return {r["person_id"]: r["otp_channel"] for r in records}


async def insert(
    conn: Conn,
    *,
    person_id: uuid.UUID,
    username: str,
    otp_channel: str,
    password_hash: str | None,
    now: dt.datetime,
) -> AccountRow:
    account = _account(
        await conn.fetchrow(
            "INSERT INTO accounts (person_id, username, otp_channel, password_hash, created_at,"
            f" password_changed_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING {_ACCOUNT_COLUMNS}",
            person_id,
            username,
            otp_channel,
            password_hash,
            now,
        )
    )
    assert account is not None
    return account


async def set_password(
    conn: Conn, account_id: uuid.UUID, password_hash: str, now: dt.datetime
) -> None:
    await conn.execute(
        "UPDATE accounts SET password_hash = $2, password_changed_at = $3 WHERE id = $1",
        account_id,
        password_hash,
        now,
    )


async def rehash_password(conn: Conn, account_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute(
        "UPDATE accounts SET password_hash = $2 WHERE id = $1", account_id, password_hash
    )


async def set_pending_totp(conn: Conn, account_id: uuid.UUID, secret: str) -> None:
    await conn.execute(
        "UPDATE accounts SET totp_pending_secret = $2 WHERE id = $1", account_id, secret
    )


async def activate_totp(conn: Conn, account_id: uuid.UUID, counter: int) -> None:
    await conn.execute(
        "UPDATE accounts SET totp_secret = totp_pending_secret, totp_pending_secret = NULL,"
        " otp_channel = 'APP', totp_last_counter = $2 WHERE id = $1",
        account_id,
        counter,
    )


async def claim_totp_counter(conn: Conn, account_id: uuid.UUID, counter: int) -> bool:
    """Record a used TOTP time step; False when it (or a later one) was used before (replay)."""
    status: str = await conn.execute(
        "UPDATE accounts SET totp_last_counter = $2 WHERE id = $1"
        " AND (totp_last_counter IS NULL OR totp_last_counter < $2)",
        account_id,
        counter,
    )
    return status == "UPDATE 1"


# --- login challenges ---------------------------------------------------------------------


async def insert_challenge(
    conn: Conn,
    *,
    challenge_id: uuid.UUID,
    account_id: uuid.UUID,
    channel: str,
    code_hash: str | None,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    await conn.execute(
        "INSERT INTO login_challenges (id, account_id, channel, code_hash, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        challenge_id,
        account_id,
        channel,
        code_hash,
        now,
        expires_at,
    )


async def challenge_for_update(conn: Conn, challenge_id: uuid.UUID) -> ChallengeRow | None:
    record = await conn.fetchrow(
        "SELECT id, account_id, channel, code_hash, expires_at, attempts, used_at"
        " FROM login_challenges WHERE id = $1 FOR UPDATE",
        challenge_id,
    )
    return ChallengeRow(**dict(record)) if record is not None else None


async def count_challenge_failure(conn: Conn, challenge_id: uuid.UUID) -> int:
    attempts: int = await conn.fetchval(
        "UPDATE login_challenges SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts",
        challenge_id,
    )
    return attempts


async def use_challenge(conn: Conn, challenge_id: uuid.UUID, now: dt.datetime) -> None:
    await conn.execute("UPDATE login_challenges SET used_at = $2 WHERE id = $1", challenge_id, now)


# --- sessions -----------------------------------------------------------------------------


async def insert_session(
    conn: Conn,
    *,
    account_id: uuid.UUID,
    token_hash: bytes,
    now: dt.datetime,
    expires_at: dt.datetime,
    client_addr: str | None,
) -> uuid.UUID:
    session_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO sessions (account_id, token_hash, created_at, last_seen_at, expires_at,"
        " client_addr) VALUES ($1, $2, $3, $3, $4, $5) RETURNING id",
        account_id,
        token_hash,
        now,
        expires_at,
        client_addr,
    )
    return session_id


async def live_session(
    conn: Conn, token_hash: bytes, now: dt.datetime, idle: dt.timedelta
) -> SessionRow | None:
    """The session behind a token, touched, with the person's global roles (one statement);
    None when unknown, revoked, idle or past its end."""
    record = await conn.fetchrow(
        "UPDATE sessions s SET last_seen_at = $2 FROM accounts a"
        " WHERE s.token_hash = $1 AND a.id = s.account_id AND s.revoked_at IS NULL"
        " AND s.expires_at > $2 AND s.last_seen_at + $3 > $2"
        " RETURNING s.id, s.account_id, a.person_id, s.created_at, s.last_seen_at, s.expires_at,"
        " ARRAY(SELECT role FROM person_global_roles g WHERE g.person_id = a.person_id"
        "  ORDER BY role) AS global_roles",
        token_hash,
        now,
        idle,
    )
    return SessionRow(**dict(record)) if record is not None else None


async def peek_session(
    conn: Conn, token_hash: bytes, now: dt.datetime, idle: dt.timedelta
) -> SessionRow | None:
    """Like live_session, but only reads (no write per live event)."""
    record = await conn.fetchrow(
        "SELECT s.id, s.account_id, a.person_id, s.created_at, s.last_seen_at, s.expires_at,"
        " ARRAY(SELECT role FROM person_global_roles g WHERE g.person_id = a.person_id"
        "  ORDER BY role) AS global_roles"
        " FROM sessions s JOIN accounts a ON a.id = s.account_id"
        " WHERE s.token_hash = $1 AND s.revoked_at IS NULL"
        " AND s.expires_at > $2 AND s.last_seen_at + $3 > $2",
        token_hash,
        now,
        idle,
    )
    return SessionRow(**dict(record)) if record is not None else None


async def revoke_session(conn: Conn, session_id: uuid.UUID, now: dt.datetime) -> None:
    await conn.execute(
        "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", session_id, now
    )


async def revoke_sessions(
    conn: Conn,
    account_id: uuid.UUID,
    now: dt.datetime,
    *,
    keep: uuid.UUID | None = None,
) -> int:
    status: str = await conn.execute(
        "UPDATE sessions SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL"
        " AND id IS DISTINCT FROM $3",
        account_id,
        now,
        keep,
    )
    return int(status.split()[-1])


# --- reset and invitation tokens ----------------------------------------------------------


async def insert_token(
    conn: Conn,
    *,
    account_id: uuid.UUID,
    kind: str,
    token_hash: bytes,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    await conn.execute(
        "INSERT INTO account_tokens (account_id, kind, token_hash, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        account_id,
        kind,
        token_hash,
        now,
        expires_at,
    )


async def token_for_update(conn: Conn, token_hash: bytes) -> TokenRow | None:
    record = await conn.fetchrow(
        "SELECT id, account_id, kind, expires_at, used_at FROM account_tokens"
        " WHERE token_hash = $1 FOR UPDATE",
        token_hash,
    )
    return TokenRow(**dict(record)) if record is not None else None


async def use_token(conn: Conn, token_id: uuid.UUID, now: dt.datetime) -> None:
    await conn.execute("UPDATE account_tokens SET used_at = $2 WHERE id = $1", token_id, now)


# --- throttling ---------------------------------------------------------------------------


async def record_attempt(
    conn: Conn,
    *,
    account_id: uuid.UUID | None,
    client_addr: str | None,
    success: bool,
    now: dt.datetime,
) -> None:
    await conn.execute(
        "INSERT INTO login_attempts (at, account_id, client_addr, success) VALUES ($1, $2, $3, $4)",
        now,
        account_id,
        client_addr,
        success,
    )


async def failures_since(
    conn: Conn,
    *,
    account_id: uuid.UUID | None,
    client_addr: str | None,
    since: dt.datetime,
) -> tuple[list[dt.datetime], list[dt.datetime]]:
    """Times of failed attempts in the window: (for the account, for the address), oldest first."""
    records = await conn.fetch(
        "SELECT at, coalesce(account_id = $1, false) AS by_account,"
        " coalesce(client_addr = $2, false) AS by_addr FROM login_attempts"
        " WHERE NOT success AND at > $3 AND (account_id = $1 OR client_addr = $2) ORDER BY at",
        account_id,
        client_addr,
        since,
    )
    by_account = [r["at"] for r in records if r["by_account"]]
    by_addr = [r["at"] for r in records if r["by_addr"]]
    return by_account, by_addr
