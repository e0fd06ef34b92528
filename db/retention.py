"""What is kept how long (docs/operations.md, "Retention"): expired sessions, challenges and
links, login attempts, idempotency keys and delivered mail go once their time has passed.
The access log and the audit log are not touched here: they are kept for years and are
append-only for the application's role."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from db.pool import Conn


@dataclass(frozen=True)
class Retention:
    """Days kept after the row stopped mattering (each a setting: PLANGRUPPE_RETAIN_*)."""

    sessions_days: int = 30  # sessions, login challenges, links, OIDC logins: after expiry
    login_attempts_days: int = 90  # login attempts and reset requests
    idempotency_days: int = 7
    outbox_days: int = 30  # sent (or given up) mail and SMS
    plan_content_years: int = 10  # an ended plan's content, after its end date


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


async def purge_plan_content(
    conn: Conn, today: dt.date, now: dt.datetime, keep: Retention, limit: int = 50
) -> list[uuid.UUID]:
    """The content of plans that ended more than ``plan_content_years`` ago: messages,
    comments, calendar entries, documents, activities and goals. The plan's header, its
    participants and its sealed archives (which hold all of it) stay. A few plans a run,
    each locked while it is emptied."""
    cut_off = today.replace(year=today.year - keep.plan_content_years)
    ids = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM plans WHERE status = 'ENDED' AND end_date < $1"
            " AND content_purged_at IS NULL ORDER BY end_date, id LIMIT $2"
            " FOR UPDATE SKIP LOCKED",
            cut_off,
            limit,
        )
    ]
    if not ids:
        return []
    for sql in (
        "DELETE FROM comments WHERE plan_id = ANY($1)",
        "DELETE FROM messages WHERE plan_id = ANY($1)",
        "DELETE FROM calendar_entries WHERE plan_id = ANY($1)",
        "DELETE FROM documents WHERE plan_id = ANY($1)",
        "DELETE FROM activities WHERE plan_id = ANY($1)",
        # Sub-goals first: a goal's parent must outlive it.
        "DELETE FROM goals WHERE plan_id = ANY($1) AND parent_id IS NOT NULL",
        "DELETE FROM goals WHERE plan_id = ANY($1)",
    ):
        await conn.execute(sql, ids)
    await conn.execute("UPDATE plans SET content_purged_at = $2 WHERE id = ANY($1)", ids, now)
    return ids
