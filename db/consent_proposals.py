"""Consents proposed by the coordinator, given by the person named (giveConsent), and the
owner side's own reminder before a consent expires."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from db.pool import Conn


@dataclass(frozen=True)
class ProposalRow:
    id: uuid.UUID
    plan_id: uuid.UUID
    given_by: uuid.UUID
    given_by_relation: str
    expires_on: dt.date
    scope: str | None
    default_grant: dict[str, Any]
    proposed_at: dt.datetime
    closed_at: dt.datetime | None


_COLUMNS = (
    "id, plan_id, given_by, given_by_relation, expires_on, scope, default_grant, proposed_at,"
    " closed_at"
)


async def propose(
    conn: Conn,
    *,
    plan_id: uuid.UUID,
    given_by: uuid.UUID,
    relation: str,
    expires_on: dt.date,
    scope: str | None,
    default_grant: dict[str, Any],
    proposed_by: uuid.UUID,
    now: dt.datetime,
) -> ProposalRow:
    """A new proposal; an open one before it is closed (withdrawn) first."""
    await conn.execute(
        "UPDATE consent_proposals SET closed_at = $2 WHERE plan_id = $1 AND closed_at IS NULL",
        plan_id,
        now,
    )
    record = await conn.fetchrow(
        "INSERT INTO consent_proposals (plan_id, given_by, given_by_relation, expires_on, scope,"
        " default_grant, proposed_by, proposed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        f" RETURNING {_COLUMNS}",
        plan_id,
        given_by,
        relation,
        expires_on,
        scope,
        default_grant,
        proposed_by,
        now,
    )
    assert record is not None
    return ProposalRow(**dict(record))


async def open_for_update(conn: Conn, proposal_id: uuid.UUID) -> ProposalRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM consent_proposals WHERE id = $1 FOR UPDATE", proposal_id
    )
    return ProposalRow(**dict(record)) if record is not None else None


async def open_of_plan(conn: Conn, plan_id: uuid.UUID) -> ProposalRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM consent_proposals WHERE plan_id = $1 AND closed_at IS NULL",
        plan_id,
    )
    return ProposalRow(**dict(record)) if record is not None else None


async def close(
    conn: Conn, proposal_id: uuid.UUID, consent_id: uuid.UUID, now: dt.datetime
) -> None:
    await conn.execute(
        "UPDATE consent_proposals SET closed_at = $2, consent_id = $3 WHERE id = $1",
        proposal_id,
        now,
        consent_id,
    )


async def claim_owner_reminders(
    conn: Conn, today: dt.date, now: dt.datetime, within_days: int = 30
) -> list[tuple[uuid.UUID, int, str | None]]:
    """Current consents that expire within ``within_days`` and whose giver (the owner, or a
    parent or verge) has not been reminded: (consent, days left, the giver's e-mail)."""
    records = await conn.fetch(
        "WITH due AS (SELECT c.id, c.expires_on, c.given_by FROM plans p"
        " JOIN consents c ON c.id = p.consent_id"
        " WHERE p.status = 'ACTIVE' AND c.revoked_on IS NULL"
        " AND c.expires_on >= $1 AND c.expires_on <= $1 + $3::int),"
        " claimed AS (INSERT INTO consent_owner_reminders (consent_id, sent_at)"
        "  SELECT id, $2 FROM due ON CONFLICT DO NOTHING RETURNING consent_id)"
        " SELECT d.id, d.expires_on - $1 AS days_left, pe.email FROM due d"
        " JOIN claimed k ON k.consent_id = d.id JOIN persons pe ON pe.id = d.given_by",
        today,
        now,
        within_days,
    )
    return [(r["id"], int(r["days_left"]), r["email"]) for r in records]
