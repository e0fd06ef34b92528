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
    " totp_pending_secret, totp_last_counter, confirmed_email, confirmed_mobile,"
    " password_login_blocked_at, deactivated_at"
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
    # Contact data the holder has confirmed; codes, links and notices go only here.
    confirmed_email: str | None
    confirmed_mobile: str | None
    # Set at the ceiling of consecutive failures: the password alone opens no challenge.
    password_login_blocked_at: dt.datetime | None
    # A deactivated account cannot log in or reset; its sessions ended when it was set.
    deactivated_at: dt.datetime | None = None


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
    # The address an invitation went to; using the link confirms exactly this address.
    sent_to: str | None


def _account(record: asyncpg.Record | None) -> AccountRow | None:
    return AccountRow(**dict(record)) if record is not None else None


async def by_username(conn: Conn, username: str) -> AccountRow | None:
    return _account(
        await conn.fetchrow(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE lower(username) = lower($1)", username
        )
    )


async def by_username_or_email(conn: Conn, value: str) -> AccountRow | None:
    """By username, or by an e-mail address the holder has confirmed (never persons.email,
    which others may have typed)."""
    return _account(
        await conn.fetchrow(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts"
            " WHERE lower(username) = lower($1) OR lower(confirmed_email) = lower($1)"
            " ORDER BY lower(username) = lower($1) DESC LIMIT 1",
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
    confirmed_email: str | None = None,
    confirmed_mobile: str | None = None,
) -> AccountRow:
    """A new account. Contact data counts as confirmed only when the caller says so (an
    operator at the console); an invitation confirms its address when it is used."""
    account = _account(
        await conn.fetchrow(
            "INSERT INTO accounts (person_id, username, otp_channel, password_hash, created_at,"
            " password_changed_at, confirmed_email, confirmed_mobile)"
            f" VALUES ($1, $2, $3, $4, $5, $5, $6, $7) RETURNING {_ACCOUNT_COLUMNS}",
            person_id,
            username,
            otp_channel,
            password_hash,
            now,
            confirmed_email,
            confirmed_mobile,
        )
    )
    assert account is not None
    return account


async def set_password(
    conn: Conn, account_id: uuid.UUID, password_hash: str, now: dt.datetime
) -> None:
    """A new password; it also ends a block by consecutive failures (the holder proved
    themselves with a reset link or a live session)."""
    await conn.execute(
        "UPDATE accounts SET password_hash = $2, password_changed_at = $3,"
        " consecutive_failures = 0, password_login_blocked_at = NULL WHERE id = $1",
        account_id,
        password_hash,
        now,
    )


async def set_confirmed_contact(
    conn: Conn, account_id: uuid.UUID, field: str, value: str | None
) -> None:
    """Record what the holder has confirmed; field is EMAIL or MOBILE."""
    column = {"EMAIL": "confirmed_email", "MOBILE": "confirmed_mobile"}[field]
    await conn.execute(f"UPDATE accounts SET {column} = $2 WHERE id = $1", account_id, value)


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


@dataclass(frozen=True)
class TotpSecrets:
    account_id: uuid.UUID
    totp_secret: str | None
    totp_pending_secret: str | None


async def totp_secrets_for_update(conn: Conn, *, only_plain: bool) -> list[TotpSecrets]:
    """The stored TOTP secrets, locked; ``only_plain``: those not sealed yet (docs/secrets.md)."""
    records = await conn.fetch(
        "SELECT id AS account_id, totp_secret, totp_pending_secret FROM accounts"
        " WHERE CASE WHEN $1 THEN totp_secret NOT LIKE 'fernet:%'"
        "  OR totp_pending_secret NOT LIKE 'fernet:%'"
        "  ELSE totp_secret IS NOT NULL OR totp_pending_secret IS NOT NULL END"
        " ORDER BY id FOR UPDATE",
        only_plain,
    )
    return [TotpSecrets(**dict(r)) for r in records]


async def set_totp_secrets(
    conn: Conn, account_id: uuid.UUID, secret: str | None, pending: str | None
) -> None:
    await conn.execute(
        "UPDATE accounts SET totp_secret = $2, totp_pending_secret = $3 WHERE id = $1",
        account_id,
        secret,
        pending,
    )


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
    auth_method: str = "PASSWORD",
    auth_level: str | None = None,
    oidc_provider: str | None = None,
    id_token: str | None = None,
) -> uuid.UUID:
    session_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO sessions (account_id, token_hash, created_at, last_seen_at, expires_at,"
        " client_addr, auth_method, auth_level, oidc_provider, id_token)"
        " VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        account_id,
        token_hash,
        now,
        expires_at,
        client_addr,
        auth_method,
        auth_level,
        oidc_provider,
        id_token,
    )
    return session_id


async def live_session(
    conn: Conn,
    token_hash: bytes,
    now: dt.datetime,
    idle: dt.timedelta,
    touch_every: dt.timedelta = dt.timedelta(minutes=1),
) -> SessionRow | None:
    """The session behind a token, with the person's global roles (one statement); None when
    unknown, revoked, idle or past its end. Using the session keeps it alive: its
    last_seen_at moves to now when it is older than ``touch_every``, so most requests only
    read (no write, no WAL flush); the idle limit is then exact to within ``touch_every``,
    and can only end a session early, never late."""
    record = await conn.fetchrow(
        "WITH found AS (SELECT s.id, s.account_id, a.person_id, s.created_at, s.last_seen_at,"
        " s.expires_at FROM sessions s JOIN accounts a ON a.id = s.account_id"
        " WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND a.deactivated_at IS NULL"
        " AND s.expires_at > $2 AND s.last_seen_at + $3 > $2),"
        " touched AS (UPDATE sessions s SET last_seen_at = $2 FROM found f"
        " WHERE s.id = f.id AND s.last_seen_at + $4 <= $2 RETURNING s.last_seen_at)"
        " SELECT f.id, f.account_id, f.person_id, f.created_at,"
        " coalesce((SELECT last_seen_at FROM touched), f.last_seen_at) AS last_seen_at,"
        " f.expires_at, ARRAY(SELECT role FROM person_global_roles g"
        "  WHERE g.person_id = f.person_id ORDER BY role) AS global_roles FROM found f",
        token_hash,
        now,
        idle,
        touch_every,
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
        " WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND a.deactivated_at IS NULL"
        " AND s.expires_at > $2 AND s.last_seen_at + $3 > $2",
        token_hash,
        now,
        idle,
    )
    return SessionRow(**dict(record)) if record is not None else None


async def touch_sessions(
    conn: Conn, session_ids: Sequence[uuid.UUID], now: dt.datetime, idle: dt.timedelta
) -> int:
    """Keep these sessions alive (open live subscriptions are activity): one statement for
    all of a process's subscribers. A session already ended, revoked or idle stays ended."""
    status = await conn.execute(
        "UPDATE sessions SET last_seen_at = $2 WHERE id = ANY($1::uuid[])"
        " AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at + $3 > $2"
        " AND last_seen_at < $2",
        list(session_ids),
        now,
        idle,
    )
    return int(status.split()[-1])


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
    sent_to: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO account_tokens (account_id, kind, token_hash, created_at, expires_at,"
        " sent_to) VALUES ($1, $2, $3, $4, $5, $6)",
        account_id,
        kind,
        token_hash,
        now,
        expires_at,
        sent_to,
    )


async def token_for_update(conn: Conn, token_hash: bytes) -> TokenRow | None:
    record = await conn.fetchrow(
        "SELECT id, account_id, kind, expires_at, used_at, sent_to FROM account_tokens"
        " WHERE token_hash = $1 FOR UPDATE",
        token_hash,
    )
    return TokenRow(**dict(record)) if record is not None else None


async def use_token(conn: Conn, token_id: uuid.UUID, now: dt.datetime) -> None:
    await conn.execute("UPDATE account_tokens SET used_at = $2 WHERE id = $1", token_id, now)


# --- throttling ---------------------------------------------------------------------------
# Failures are counted per (submitted username, client address) and per client address; the
# account itself has only a count of consecutive failures (resolvers/auth.py has the rules).


async def lock_client_addr(conn: Conn, purpose: str, client_addr: str) -> None:
    """Serialise one client address's attempts until the transaction ends, so that attempts
    sent at once cannot all pass a limit that each one alone would reach."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        f"plangruppe.{purpose}:{client_addr}",
    )


async def record_attempt(
    conn: Conn,
    *,
    username_key: str,
    account_id: uuid.UUID | None,
    client_addr: str,
    success: bool,
    now: dt.datetime,
) -> None:
    await conn.execute(
        "INSERT INTO login_attempts (at, username_key, account_id, client_addr, success)"
        " VALUES ($1, $2, $3, $4, $5)",
        now,
        username_key,
        account_id,
        client_addr,
        success,
    )


async def full_since(
    conn: Conn,
    *,
    username_key: str,
    client_addr: str,
    since: dt.datetime,
    name_limit: int,
    addr_limit: int,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """For (name, address) and for the address: the time of the limit-th latest failure after
    ``since``, or None while there are fewer. A bucket is full until that time + the window."""
    record = await conn.fetchrow(
        "SELECT (SELECT at FROM login_attempts WHERE NOT success AND username_key = $1"
        "   AND client_addr = $2 AND at > $3 ORDER BY at DESC OFFSET $4 - 1 LIMIT 1) AS by_name,"
        " (SELECT at FROM login_attempts WHERE NOT success AND client_addr = $2 AND at > $3"
        "   ORDER BY at DESC OFFSET $5 - 1 LIMIT 1) AS by_addr",
        username_key,
        client_addr,
        since,
        name_limit,
        addr_limit,
    )
    assert record is not None
    return record["by_name"], record["by_addr"]


async def count_consecutive_failure(
    conn: Conn, account_id: uuid.UUID, *, ceiling: int, now: dt.datetime
) -> bool:
    """One more failure in a row; at the ceiling the password alone stops opening challenges.
    True for exactly the failure that reached the ceiling (the counter only climbs until a new
    password resets it)."""
    count: int = await conn.fetchval(
        "UPDATE accounts SET consecutive_failures = consecutive_failures + 1,"
        " password_login_blocked_at = CASE WHEN consecutive_failures + 1 >= $2"
        "  THEN coalesce(password_login_blocked_at, $3) ELSE password_login_blocked_at END"
        " WHERE id = $1 RETURNING consecutive_failures",
        account_id,
        ceiling,
        now,
    )
    return count == ceiling


async def clear_consecutive_failures(conn: Conn, account_id: uuid.UUID) -> None:
    """A complete login (password and code) ends a run of failures."""
    await conn.execute(
        "UPDATE accounts SET consecutive_failures = 0 WHERE id = $1 AND consecutive_failures > 0",
        account_id,
    )


# --- password reset requests --------------------------------------------------------------


async def reset_requests_since(conn: Conn, client_addr: str, since: dt.datetime) -> int:
    """Reset requests from this address after ``since`` (those past the address limit)."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM password_reset_requests WHERE client_addr = $1 AND at > $2",
        client_addr,
        since,
    )
    return count


async def reset_mails_since(conn: Conn, account_id: uuid.UUID, since: dt.datetime) -> int:
    """Reset mails sent for the account after ``since``. Locks the account's row, so that two
    requests at once cannot both take the last mail of the quota."""
    count: int = await conn.fetchval(
        "SELECT (SELECT count(*) FROM password_reset_requests r"
        "  WHERE r.account_id = a.id AND r.sent AND r.at > $2)"
        " FROM accounts a WHERE a.id = $1 FOR UPDATE OF a",
        account_id,
        since,
    )
    return count


async def record_reset_request(
    conn: Conn,
    *,
    client_addr: str,
    account_id: uuid.UUID | None,
    sent: bool,
    now: dt.datetime,
) -> None:
    await conn.execute(
        "INSERT INTO password_reset_requests (at, client_addr, account_id, sent)"
        " VALUES ($1, $2, $3, $4)",
        now,
        client_addr,
        account_id,
        sent,
    )


async def session_provider_logout(
    conn: Conn, session_id: uuid.UUID
) -> tuple[str | None, str | None]:
    """The provider a session was opened with and its sealed ID token (RP-initiated logout)."""
    record = await conn.fetchrow(
        "SELECT oidc_provider, id_token FROM sessions WHERE id = $1", session_id
    )
    if record is None:
        return None, None
    return record["oidc_provider"], record["id_token"]


async def set_deactivated(conn: Conn, account_id: uuid.UUID, at: dt.datetime | None) -> None:
    """Deactivate (at a time) or reactivate (None) an account."""
    await conn.execute("UPDATE accounts SET deactivated_at = $2 WHERE id = $1", account_id, at)


async def invitation_sent_to(conn: Conn, account_id: uuid.UUID) -> str | None:
    """Where the account's latest invitation went (the address its use confirms)."""
    found: str | None = await conn.fetchval(
        "SELECT sent_to FROM account_tokens WHERE account_id = $1 AND kind = 'INVITATION'"
        " ORDER BY created_at DESC LIMIT 1",
        account_id,
    )
    return found


async def withdraw_tokens(conn: Conn, account_id: uuid.UUID, kind: str, now: dt.datetime) -> None:
    """Unused links of this kind stop working (a new one replaces them)."""
    await conn.execute(
        "UPDATE account_tokens SET used_at = $3 WHERE account_id = $1 AND kind = $2"
        " AND used_at IS NULL",
        account_id,
        kind,
        now,
    )


@dataclass(frozen=True)
class ChannelChangeRow:
    id: uuid.UUID
    account_id: uuid.UUID
    channel: str
    code_hash: str
    expires_at: dt.datetime
    attempts: int
    used_at: dt.datetime | None


async def insert_channel_change(
    conn: Conn,
    *,
    change_id: uuid.UUID,
    account_id: uuid.UUID,
    channel: str,
    code_hash: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    await conn.execute(
        "INSERT INTO login_channel_changes (id, account_id, channel, code_hash, created_at,"
        " expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        change_id,
        account_id,
        channel,
        code_hash,
        now,
        expires_at,
    )


async def channel_changes_since(conn: Conn, account_id: uuid.UUID, since: dt.datetime) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM login_channel_changes WHERE account_id = $1 AND created_at > $2",
        account_id,
        since,
    )
    return count


async def channel_change_for_update(conn: Conn, change_id: uuid.UUID) -> ChannelChangeRow | None:
    record = await conn.fetchrow(
        "SELECT id, account_id, channel, code_hash, expires_at, attempts, used_at"
        " FROM login_channel_changes WHERE id = $1 FOR UPDATE",
        change_id,
    )
    return ChannelChangeRow(**dict(record)) if record is not None else None


async def count_channel_change_failure(conn: Conn, change_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE login_channel_changes SET attempts = attempts + 1 WHERE id = $1", change_id
    )


async def use_channel_change(conn: Conn, change: ChannelChangeRow, now: dt.datetime) -> None:
    """The code matched: the account's login channel is the new one."""
    await conn.execute(
        "UPDATE login_channel_changes SET used_at = $2 WHERE id = $1", change.id, now
    )
    await conn.execute(
        "UPDATE accounts SET otp_channel = $2 WHERE id = $1", change.account_id, change.channel
    )
