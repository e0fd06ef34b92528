"""Everything held about one person, for innsyn (GDPR Art. 15), and the erasure of a person
who takes part in no plan (Art. 17)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from db.pool import Conn

# What the export holds, by section: one statement each, the person's id as $1. Secrets
# (password hashes, authenticator secrets, token hashes, the identity HMAC) are never part of
# it: they are not data about the person, and would help no one but an attacker.
_SECTIONS: dict[str, str] = {
    "person": (
        "SELECT id, first_name, last_name, birth_date, position, workplace, email, mobile,"
        " phone, fax, street, postcode, city, service_unit_id, search_restricted, created_at"
        " FROM persons WHERE id = $1"
    ),
    "fieldVisibility": (
        "SELECT field, visibility FROM person_field_visibility WHERE person_id = $1 ORDER BY field"
    ),
    "globalRoles": "SELECT role FROM person_global_roles WHERE person_id = $1 ORDER BY role",
    "account": (
        "SELECT username, otp_channel, confirmed_email, confirmed_mobile, deactivated_at,"
        " password_changed_at FROM accounts WHERE person_id = $1"
    ),
    "sessions": (
        "SELECT s.created_at, s.last_seen_at, s.expires_at, s.revoked_at, s.client_addr,"
        " s.auth_method, s.auth_level, s.oidc_provider FROM sessions s"
        " JOIN accounts a ON a.id = s.account_id WHERE a.person_id = $1 ORDER BY s.created_at"
    ),
    "linkedIdentities": (
        "SELECT coalesce(provider, 'national identity number') AS provider, how, linked_at"
        " FROM oidc_identities WHERE person_id = $1 ORDER BY linked_at"
    ),
    "participations": (
        "SELECT t.plan_id, p.short_name, t.role, t.responsibility, t.rights, t.joined_on,"
        " t.left_on, t.consent_expires_on FROM participants t JOIN plans p ON p.id = t.plan_id"
        " WHERE t.person_id = $1 ORDER BY t.joined_on"
    ),
    "messagesWritten": (
        "SELECT m.plan_id, m.created_at, m.body, m.edited_at, m.withdrawn_at FROM messages m"
        " JOIN participants t ON t.id = m.author_id WHERE t.person_id = $1 ORDER BY m.created_at"
    ),
    # The texts the person's messages had before they edited or withdrew them.
    "messageVersionsWritten": (
        "SELECT m.plan_id, m.created_at, v.replaced_at, v.body FROM message_versions v"
        " JOIN messages m ON m.id = v.message_id JOIN participants t ON t.id = m.author_id"
        " WHERE t.person_id = $1 ORDER BY m.created_at, v.id"
    ),
    "commentsWritten": (
        "SELECT c.plan_id, c.created_at, c.body FROM comments c"
        " JOIN participants t ON t.id = c.author_id WHERE t.person_id = $1 ORDER BY c.created_at"
    ),
    "documentsUploaded": (
        "SELECT d.plan_id, d.name, d.content_type, d.size_bytes, d.uploaded_at FROM documents d"
        " JOIN participants t ON t.id = d.uploaded_by WHERE t.person_id = $1"
        " ORDER BY d.uploaded_at"
    ),
    "consentsGiven": (
        "SELECT plan_id, given_by_relation, given_on, expires_on, revoked_on FROM consents"
        " WHERE given_by = $1 ORDER BY given_on"
    ),
    "readsOfMyData": (
        "SELECT at, viewer_id, plan_id, what FROM access_log_reads WHERE subject_id = $1"
        " ORDER BY at"
    ),
    "auditEntries": (
        "SELECT at, action, actor_id, target FROM audit_log"
        " WHERE actor_id = $1 OR target = $1::text ORDER BY id"
    ),
}


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


async def export(conn: Conn, person_id: uuid.UUID) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for section, sql in _SECTIONS.items():
        rows = [
            {k: _plain(v) for k, v in dict(r).items()} for r in await conn.fetch(sql, person_id)
        ]
        found[section] = rows[0] if section in ("person", "account") and rows else rows
        if section in ("globalRoles",):
            found[section] = [r["role"] for r in rows]
    return found


async def takes_part_anywhere(conn: Conn, person_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM participants WHERE person_id = $1)", person_id
        )
    )


async def erase(conn: Conn, person_id: uuid.UUID) -> bool:
    """Delete the person and what hangs on them (account, sessions, links, visibilities,
    identities: ON DELETE CASCADE); False when records that are kept still name them (the
    access and audit logs, a plan they created), in which case nothing is deleted."""
    try:
        async with conn.transaction():  # a savepoint inside the caller's transaction
            status: str = await conn.execute("DELETE FROM persons WHERE id = $1", person_id)
    except asyncpg.ForeignKeyViolationError:
        return False
    return status.endswith(" 1")
