"""What is kept how long (docs/operations.md, "Retention"): expired sessions, challenges and
links, login attempts, idempotency keys and delivered mail go once their time has passed.
The access log and the audit log are not touched here: they are kept for years and are
append-only for the application's role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from db.pool import Conn


@dataclass(frozen=True)
class Retention:
    """Days kept after the row stopped mattering (each a setting: PLANGRUPPE_RETAIN_*)."""

    sessions_days: int = 30  # sessions, login challenges, links, OIDC logins: after expiry
    login_attempts_days: int = 90  # login attempts and reset requests
    idempotency_days: int = 7
    outbox_days: int = 30  # sent (or given up) mail and SMS


async def purge(
    conn: Conn, now: dt.datetime, keep: Retention, session_idle: dt.timedelta
) -> dict[str, int]:
    """Delete what is past its retention; how many rows went, by table."""
    ended = now - dt.timedelta(days=keep.sessions_days)
    attempts = now - dt.timedelta(days=keep.login_attempts_days)
    statements = {
        "sessions": (
            "DELETE FROM sessions WHERE least(expires_at, coalesce(revoked_at, expires_at),"
            " last_seen_at + $2) < $1",
            (ended, session_idle),
        ),
        "login_challenges": ("DELETE FROM login_challenges WHERE expires_at < $1", (ended,)),
        "login_channel_changes": (
            "DELETE FROM login_channel_changes WHERE expires_at < $1",
            (ended,),
        ),
        "account_tokens": ("DELETE FROM account_tokens WHERE expires_at < $1", (ended,)),
        "oidc_logins": ("DELETE FROM oidc_logins WHERE expires_at < $1", (ended,)),
        "login_exchange_codes": (
            "DELETE FROM login_exchange_codes WHERE expires_at < $1",
            (ended,),
        ),
        "login_attempts": ("DELETE FROM login_attempts WHERE at < $1", (attempts,)),
        "password_reset_requests": (
            "DELETE FROM password_reset_requests WHERE at < $1",
            (attempts,),
        ),
        "idempotency_keys": (
            "DELETE FROM idempotency_keys WHERE created_at < $1",
            (now - dt.timedelta(days=keep.idempotency_days),),
        ),
        "outbox": (
            "DELETE FROM outbox WHERE coalesce(sent_at, failed_at) < $1",
            (now - dt.timedelta(days=keep.outbox_days),),
        ),
    }
    gone: dict[str, int] = {}
    for table, (sql, args) in statements.items():
        status: str = await conn.execute(sql, *args)
        gone[table] = int(status.split()[-1])
    return gone
