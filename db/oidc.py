"""OpenID Connect: linked identities, logins under way, native apps' exchange codes."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from db.pool import Conn


@dataclass(frozen=True)
class PendingLogin:
    id: uuid.UUID
    browser_hash: bytes
    provider: str
    nonce: str
    code_verifier: str
    mode: str
    app_redirect: str | None
    return_to: str | None
    invitation_hash: bytes | None
    expires_at: dt.datetime
    used_at: dt.datetime | None


@dataclass(frozen=True)
class ExchangeCode:
    account_id: uuid.UUID
    provider: str
    auth_level: str | None
    id_token: str | None
    expires_at: dt.datetime
    used_at: dt.datetime | None


async def person_by_identity(
    conn: Conn, *, provider: str, subject: str | None, national_hmac: bytes | None
) -> uuid.UUID | None:
    """The person linked to a national identity number (any provider asserting it) or to
    this provider's subject."""
    if national_hmac is not None:
        found: uuid.UUID | None = await conn.fetchval(
            "SELECT person_id FROM oidc_identities WHERE national_hmac = $1", national_hmac
        )
        return found
    found = await conn.fetchval(
        "SELECT person_id FROM oidc_identities WHERE provider = $1 AND subject = $2",
        provider,
        subject,
    )
    return found


async def link(
    conn: Conn,
    *,
    person_id: uuid.UUID,
    provider: str | None,
    subject: str | None,
    national_hmac: bytes | None,
    now: dt.datetime,
    linked_by: uuid.UUID | None,
    how: str,
) -> bool:
    """Link an identity to a person; False when it is already linked (to anyone)."""
    status: str = await conn.execute(
        "INSERT INTO oidc_identities (provider, subject, national_hmac, person_id, linked_at,"
        " linked_by, how) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        None if national_hmac is not None else provider,
        None if national_hmac is not None else subject,
        national_hmac,
        person_id,
        now,
        linked_by,
        how,
    )
    return status.endswith(" 1")


async def unlink_person(conn: Conn, person_id: uuid.UUID) -> int:
    status: str = await conn.execute("DELETE FROM oidc_identities WHERE person_id = $1", person_id)
    return int(status.rsplit(" ", 1)[1])


async def linked_count(conn: Conn, person_id: uuid.UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM oidc_identities WHERE person_id = $1", person_id
    )
    return count


async def begin(
    conn: Conn,
    *,
    state_hash: bytes,
    browser_hash: bytes,
    provider: str,
    nonce: str,
    code_verifier: str,
    mode: str,
    app_redirect: str | None,
    return_to: str | None,
    invitation_hash: bytes | None,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    """A login under way; the expired ones (used or not) go at the same time, so the table
    holds at most the last few minutes' logins however often someone starts one."""
    await conn.execute("DELETE FROM oidc_logins WHERE expires_at < $1", now)
    await conn.execute("DELETE FROM login_exchange_codes WHERE expires_at < $1", now)
    await conn.execute(
        "INSERT INTO oidc_logins (state_hash, provider, nonce, code_verifier, mode,"
        " app_redirect, return_to, invitation_hash, created_at, expires_at, browser_hash)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        state_hash,
        provider,
        nonce,
        code_verifier,
        mode,
        app_redirect,
        return_to,
        invitation_hash,
        now,
        expires_at,
        browser_hash,
    )


async def take_login(conn: Conn, state_hash: bytes, now: dt.datetime) -> PendingLogin | None:
    """The login this state began, marked used in the same statement: a state works once."""
    record = await conn.fetchrow(
        "UPDATE oidc_logins SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL"
        " AND expires_at > $2 RETURNING id, browser_hash, provider, nonce, code_verifier,"
        " mode, app_redirect, return_to, invitation_hash, expires_at, used_at",
        state_hash,
        now,
    )
    return PendingLogin(**dict(record)) if record is not None else None


async def insert_exchange_code(
    conn: Conn,
    *,
    code_hash: bytes,
    account_id: uuid.UUID,
    provider: str,
    auth_level: str | None,
    id_token: str | None,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    await conn.execute(
        "INSERT INTO login_exchange_codes (code_hash, account_id, provider, auth_level,"
        " id_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        code_hash,
        account_id,
        provider,
        auth_level,
        id_token,
        now,
        expires_at,
    )


async def take_exchange_code(conn: Conn, code_hash: bytes, now: dt.datetime) -> ExchangeCode | None:
    """The exchange code's login, marked used in the same statement: single use."""
    record = await conn.fetchrow(
        "UPDATE login_exchange_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL"
        " AND expires_at > $2 RETURNING account_id, provider, auth_level, id_token, expires_at,"
        " used_at",
        code_hash,
        now,
    )
    return ExchangeCode(**dict(record)) if record is not None else None


async def current_plan_roles(conn: Conn, person_id: uuid.UUID, today: dt.date) -> set[str]:
    """The roles the person has in plans they currently take part in (not left, plan not
    ended)."""
    rows = await conn.fetch(
        "SELECT DISTINCT t.role FROM participants t JOIN plans p ON p.id = t.plan_id"
        " WHERE t.person_id = $1 AND (t.left_on IS NULL OR t.left_on > $2)"
        " AND p.status <> 'ENDED'",
        person_id,
        today,
    )
    return {r["role"] for r in rows}
