"""Plans, consents, participants, visits and notification settings."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import asyncpg

from db.persons import PersonRow, search_key
from db.pool import Conn
from db.sql_rule import MESSAGE_BINDINGS, SqlRule
from resolvers.policy.facts import COORDINATOR, OWNER, ROLES

PLAN_COLUMNS = (
    "id, short_name, type, status, start_date, end_date, revision_date, service_unit_id,"
    " consent_id, last_archived_at, changed_at, created_at"
)
CONSENT_COLUMNS = (
    "id, plan_id, given_by, given_by_relation, given_on, expires_on, revoked_on, scope,"
    " default_grant, given_through"
)
PARTICIPANT_COLUMNS = (
    "id, plan_id, person_id, role, responsibility, rights, consent_expires_on, joined_on, left_on"
)

# The order a plan group is listed in: owner, coordinator, guardian, relatives, providers.
_ROLE_ORDER = "ARRAY[" + ", ".join(f"'{role}'" for role in ROLES) + "]"


@dataclass(frozen=True)
class PlanRow:
    id: uuid.UUID
    short_name: str
    type: str
    status: str
    start_date: dt.date
    end_date: dt.date | None
    revision_date: dt.date | None
    service_unit_id: uuid.UUID | None
    consent_id: uuid.UUID | None
    last_archived_at: dt.datetime | None
    changed_at: dt.datetime
    created_at: dt.datetime


@dataclass(frozen=True)
class ConsentRow:
    id: uuid.UUID
    plan_id: uuid.UUID
    given_by: uuid.UUID
    given_by_relation: str
    given_on: dt.date
    expires_on: dt.date
    revoked_on: dt.date | None
    scope: str | None
    default_grant: dict[str, Any]
    given_through: str = "PAPER"  # APP: given by the person in the app (giveConsent)


@dataclass(frozen=True)
class ParticipantRow:
    id: uuid.UUID
    plan_id: uuid.UUID
    person_id: uuid.UUID
    role: str
    responsibility: str | None
    rights: dict[str, Any]
    consent_expires_on: dt.date | None
    joined_on: dt.date
    left_on: dt.date | None


@dataclass(frozen=True)
class PlanView:
    """A plan as one viewer sees it: the row, its current consent, the viewer's membership."""

    plan: PlanRow
    consent: ConsentRow | None
    mine: ParticipantRow | None


@dataclass(frozen=True)
class SharedPlan:
    """A plan that the viewer and another person are both current participants of: the
    plan's consent, the viewer's participation, and the other person's role and own
    consent date in it."""

    ended: bool
    consent: ConsentRow | None
    mine: ParticipantRow
    their_id: uuid.UUID
    their_role: str
    their_expiry: dt.date | None


def _prefixed(prefix: str, columns: str) -> str:
    return ", ".join(f"{prefix}.{c.strip()} AS {prefix}_{c.strip()}" for c in columns.split(","))


@functools.cache
def _keys(prefix: str, columns: str) -> tuple[str, ...]:
    return tuple(f"{prefix}_{c.strip()}" for c in columns.split(","))


def _pick(record: asyncpg.Record, prefix: str, cls: type[Any], columns: str) -> Any:
    """The prefixed columns of a joined row as one dataclass; None for a missing (NULL) row."""
    keys = _keys(prefix, columns)
    if record[keys[0]] is None:
        return None
    return cls(*[record[k] for k in keys])


def _view(record: asyncpg.Record) -> PlanView:
    return PlanView(
        plan=_pick(record, "p", PlanRow, PLAN_COLUMNS),
        consent=_pick(record, "c", ConsentRow, CONSENT_COLUMNS),
        mine=_pick(record, "me", ParticipantRow, PARTICIPANT_COLUMNS),
    )


_VIEW_SELECT = (
    f"SELECT {_prefixed('p', PLAN_COLUMNS)}, {_prefixed('c', CONSENT_COLUMNS)},"
    f" {_prefixed('me', PARTICIPANT_COLUMNS)}"
    " FROM plans p LEFT JOIN consents c ON c.id = p.consent_id"
    " LEFT JOIN participants me ON me.plan_id = p.id AND me.person_id = $1 AND me.left_on IS NULL"
)


async def views(
    conn: Conn, viewer_id: uuid.UUID | None, plan_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, PlanView]:
    records = await conn.fetch(_VIEW_SELECT + " WHERE p.id = ANY($2)", viewer_id, list(plan_ids))
    return {r["p_id"]: _view(r) for r in records}


async def views_taking_part(conn: Conn, viewer_id: uuid.UUID) -> dict[uuid.UUID, PlanView]:
    """The views of every plan the viewer currently takes part in (one statement)."""
    records = await conn.fetch(
        _VIEW_SELECT + " WHERE p.id IN (SELECT plan_id FROM participants"
        " WHERE person_id = $1 AND left_on IS NULL)",
        viewer_id,
    )
    return {r["p_id"]: _view(r) for r in records}


@dataclass(frozen=True)
class PlanFilter:
    owner_first_name: str | None = None
    owner_last_name: str | None = None
    include_ended: bool = False
    type: str | None = None
    revision_due_by: dt.date | None = None  # revisionDue: revision date on or before this day


async def page_for_participant(
    conn: Conn,
    viewer_id: uuid.UUID,
    flt: PlanFilter,
    first: int,
    after: tuple[dt.datetime, uuid.UUID] | None,
) -> tuple[list[PlanView], int]:
    """One page of the plans the viewer takes part in, oldest first, and the total count."""
    records = await conn.fetch(
        "WITH mine AS ("
        "  SELECT p.id FROM plans p"
        "  JOIN participants me ON me.plan_id = p.id AND me.person_id = $1 AND me.left_on IS NULL"
        f"  JOIN participants o ON o.plan_id = p.id AND o.role = '{OWNER}' AND o.left_on IS NULL"
        "  JOIN persons op ON op.id = o.person_id"
        "  WHERE ($2 OR p.status = 'ACTIVE') AND ($3::text IS NULL OR p.type = $3)"
        "  AND ($4::text IS NULL OR op.search_first LIKE $4 ESCAPE '\\')"
        "  AND ($5::text IS NULL OR op.search_last LIKE $5 ESCAPE '\\')"
        "  AND ($9::date IS NULL OR p.revision_date <= $9)),"
        " total AS (SELECT count(*) AS n FROM mine)"
        " SELECT total.n AS total, page.* FROM total LEFT JOIN LATERAL ("
        f" {_VIEW_SELECT}"
        "  WHERE p.id IN (SELECT id FROM mine)"
        "  AND ($6::timestamptz IS NULL OR (p.created_at, p.id) > ($6, $7::uuid))"
        "  ORDER BY p.created_at, p.id LIMIT $8) page ON true",
        viewer_id,
        flt.include_ended,
        flt.type,
        like_prefix(flt.owner_first_name),
        like_prefix(flt.owner_last_name),
        after[0] if after else None,
        after[1] if after else None,
        first,
        flt.revision_due_by,
    )
    total = int(records[0]["total"])
    return [_view(r) for r in records if r["p_id"] is not None], total


def like_prefix(value: str | None) -> str | None:
    if value is None:
        return None
    escaped = search_key(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


async def participants_of(
    conn: Conn, plan_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ParticipantRow]]:
    records = await conn.fetch(
        f"SELECT {PARTICIPANT_COLUMNS} FROM participants"
        " WHERE plan_id = ANY($1) AND left_on IS NULL"
        f" ORDER BY array_position({_ROLE_ORDER}, role), joined_on, id",
        list(plan_ids),
    )
    found: dict[uuid.UUID, list[ParticipantRow]] = {p: [] for p in plan_ids}
    for r in records:
        found[r["plan_id"]].append(ParticipantRow(**dict(r)))
    return found


@dataclass(frozen=True)
class Member:
    """A current participant with their person and the person's field visibility choices."""

    participant: ParticipantRow
    person: PersonRow
    visibility: dict[str, str]


_PERSON_COLUMNS = ", ".join(f.name for f in fields(PersonRow))


async def members_of(
    conn: Conn, plan_ids: Sequence[uuid.UUID], *, only: SqlRule | None = None
) -> dict[uuid.UUID, list[Member]]:
    """Each plan's current participants (or only those the ``only`` rule picks, such as the
    owner and coordinator of the plan header) with their persons, in one round trip."""
    picked = only.sql({"mine_role": "pa.role"}) if only else "TRUE"
    records = await conn.fetch(
        f"SELECT {_prefixed('pa', PARTICIPANT_COLUMNS)}, {_prefixed('pe', _PERSON_COLUMNS)},"
        " coalesce((SELECT jsonb_object_agg(v.field, v.visibility)"
        "  FROM person_field_visibility v WHERE v.person_id = pe.id), '{}') AS visibility"
        " FROM participants pa JOIN persons pe ON pe.id = pa.person_id"
        " WHERE pa.plan_id = ANY($1) AND pa.left_on IS NULL"
        f" AND {picked}"
        f" ORDER BY array_position({_ROLE_ORDER}, pa.role), pa.joined_on, pa.id",
        list(plan_ids),
    )
    found: dict[uuid.UUID, list[Member]] = {p: [] for p in plan_ids}
    for r in records:
        participant = _pick(r, "pa", ParticipantRow, PARTICIPANT_COLUMNS)
        person = _pick(r, "pe", PersonRow, _PERSON_COLUMNS)
        found[participant.plan_id].append(Member(participant, person, r["visibility"]))
    return found


async def participants_by_ids(
    conn: Conn, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ParticipantRow]:
    records = await conn.fetch(
        f"SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE id = ANY($1)", list(ids)
    )
    return {r["id"]: ParticipantRow(**dict(r)) for r in records}


async def shared_plans(
    conn: Conn, viewer_id: uuid.UUID, person_ids: Sequence[uuid.UUID] | None = None
) -> dict[uuid.UUID, list[SharedPlan]]:
    """For each person (everyone the viewer shares a plan with, without ``person_ids``), the
    plans the viewer currently shares with them. One row per plan: the co-participants come
    as arrays, so a coordinator with many plans costs one short result."""
    records = await conn.fetch(
        f"SELECT p.status = 'ENDED' AS ended, {_prefixed('c', CONSENT_COLUMNS)},"
        f" {_prefixed('me', PARTICIPANT_COLUMNS)}, array_agg(th.person_id) AS th_person,"
        " array_agg(th.id) AS th_id, array_agg(th.role) AS th_role,"
        " array_agg(th.consent_expires_on) AS th_expiry"
        " FROM participants me JOIN plans p ON p.id = me.plan_id"
        " JOIN participants th ON th.plan_id = p.id AND th.left_on IS NULL"
        " LEFT JOIN consents c ON c.id = p.consent_id"
        " WHERE me.person_id = $1 AND me.left_on IS NULL"
        " AND ($2::uuid[] IS NULL OR th.person_id = ANY($2))"
        " GROUP BY p.id, c.id, me.id",
        viewer_id,
        None if person_ids is None else list(person_ids),
    )
    found: dict[uuid.UUID, list[SharedPlan]] = {p: [] for p in person_ids or ()}
    for r in records:
        consent = _pick(r, "c", ConsentRow, CONSENT_COLUMNS)
        mine = _pick(r, "me", ParticipantRow, PARTICIPANT_COLUMNS)
        for person, their_id, role, expiry in zip(
            r["th_person"], r["th_id"], r["th_role"], r["th_expiry"], strict=True
        ):
            found.setdefault(person, []).append(
                SharedPlan(r["ended"], consent, mine, their_id, role, expiry)
            )
    return found


async def is_coordinator_anywhere(conn: Conn, person_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM participants pa JOIN plans p ON p.id = pa.plan_id"
            f" WHERE pa.person_id = $1 AND pa.role = '{COORDINATOR}' AND pa.left_on IS NULL"
            " AND p.status = 'ACTIVE')",
            person_id,
        )
    )


# --- writes ------------------------------------------------------------------------------


async def insert_plan(conn: Conn, values: Mapping[str, object], now: dt.datetime) -> uuid.UUID:
    plan_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO plans (short_name, type, start_date, revision_date, service_unit_id,"
        " created_by, changed_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        values["short_name"],
        values["type"],
        values["start_date"],
        values.get("revision_date"),
        values.get("service_unit_id"),
        values.get("created_by"),
        now,
    )
    return plan_id


async def update_plan(
    conn: Conn, plan_id: uuid.UUID, values: Mapping[str, object], now: dt.datetime
) -> None:
    assignments = "".join(f", {c} = ${i}" for i, c in enumerate(values, start=3))
    await conn.execute(
        f"UPDATE plans SET changed_at = $2{assignments} WHERE id = $1",
        plan_id,
        now,
        *values.values(),
    )


async def touch(conn: Conn, plan_id: uuid.UUID, now: dt.datetime) -> None:
    """Something in the plan changed (plan endret)."""
    await conn.execute("UPDATE plans SET changed_at = $2 WHERE id = $1", plan_id, now)


async def insert_participant(
    conn: Conn,
    *,
    plan_id: uuid.UUID,
    person_id: uuid.UUID,
    role: str,
    responsibility: str | None,
    rights: Mapping[str, object],
    joined_on: dt.date,
    now: dt.datetime,
) -> ParticipantRow:
    record = await conn.fetchrow(
        "INSERT INTO participants (plan_id, person_id, role, responsibility, rights, joined_on,"
        f" created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {PARTICIPANT_COLUMNS}",
        plan_id,
        person_id,
        role,
        responsibility,
        dict(rights),
        joined_on,
        now,
    )
    assert record is not None
    return ParticipantRow(**dict(record))


async def update_participant(
    conn: Conn, participant_id: uuid.UUID, values: Mapping[str, object]
) -> ParticipantRow:
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(values, start=2))
    record = await conn.fetchrow(
        f"UPDATE participants SET {assignments} WHERE id = $1 RETURNING {PARTICIPANT_COLUMNS}",
        participant_id,
        *values.values(),
    )
    assert record is not None
    return ParticipantRow(**dict(record))


async def insert_consent(
    conn: Conn,
    plan_id: uuid.UUID,
    values: Mapping[str, object],
    now: dt.datetime,
    recorded_by: uuid.UUID,
) -> ConsentRow:
    record = await conn.fetchrow(
        "INSERT INTO consents (plan_id, given_by, given_by_relation, given_on, expires_on, scope,"
        " default_grant, recorded_at, recorded_by, given_through)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        f" RETURNING {CONSENT_COLUMNS}",
        plan_id,
        values["given_by"],
        values["given_by_relation"],
        values["given_on"],
        values["expires_on"],
        values.get("scope"),
        values["default_grant"],
        now,
        recorded_by,
        values.get("given_through", "PAPER"),
    )
    assert record is not None
    await conn.execute(
        "UPDATE plans SET consent_id = $2, changed_at = $3 WHERE id = $1",
        plan_id,
        record["id"],
        now,
    )
    return ConsentRow(**dict(record))


async def revoke_consent(conn: Conn, consent_id: uuid.UUID, today: dt.date) -> ConsentRow:
    record = await conn.fetchrow(
        "UPDATE consents SET revoked_on = coalesce(revoked_on, $2) WHERE id = $1"
        f" RETURNING {CONSENT_COLUMNS}",
        consent_id,
        today,
    )
    assert record is not None
    return ConsentRow(**dict(record))


async def lock_plan(conn: Conn, plan_id: uuid.UUID) -> None:
    """Serialise writers of one plan for the rest of the transaction."""
    await conn.execute("SELECT 1 FROM plans WHERE id = $1 FOR UPDATE", plan_id)


# --- visits, read state and notification settings ----------------------------------------


async def record_visit(
    conn: Conn, plan_id: uuid.UUID, person_id: uuid.UUID, now: dt.datetime
) -> None:
    await conn.execute(
        "INSERT INTO plan_visits (plan_id, person_id, visited_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (plan_id, person_id) DO UPDATE SET visited_at = EXCLUDED.visited_at",
        plan_id,
        person_id,
        now,
    )


@dataclass(frozen=True)
class UnreadFacts:
    """One of the newest messages of a plan that the viewer has not read, with its addressing."""

    author_id: uuid.UUID
    recipient_ids: frozenset[uuid.UUID] | None


@dataclass(frozen=True)
class PlanMarks:
    """The viewer's marks on a plan: last visit (plan endret) and unread messages (ny melding)."""

    visited_at: dt.datetime | None
    unread: list[UnreadFacts]


async def marks(
    conn: Conn, viewer_id: uuid.UUID, plan_ids: Sequence[uuid.UUID], *, visible: SqlRule
) -> dict[uuid.UUID, PlanMarks]:
    """Both list columns in one statement. Unread: others' messages newer than the viewer's
    read mark that the ``visible`` rule (policy's message row filter) shows the viewer, the
    newest ten per plan."""
    row_filter = visible.sql(MESSAGE_BINDINGS | {"mine_id": "me.id", "mine_role": "me.role"})
    records = await conn.fetch(
        "SELECT pid.id AS plan_id, v.visited_at, m.author_id, m.recipients"
        " FROM unnest($2::uuid[]) AS pid(id)"
        " LEFT JOIN plan_visits v ON v.plan_id = pid.id AND v.person_id = $1"
        " LEFT JOIN participants me ON me.plan_id = pid.id AND me.person_id = $1"
        "  AND me.left_on IS NULL"
        " LEFT JOIN LATERAL (SELECT m.author_id, CASE WHEN m.to_all THEN NULL ELSE"
        "   (SELECT array_agg(participant_id) FROM message_recipients WHERE message_id = m.id)"
        "   END AS recipients FROM messages m"
        "   WHERE me.id IS NOT NULL AND m.plan_id = pid.id AND m.author_id <> me.id"
        f"   AND {row_filter}"
        "   AND m.created_at > coalesce((SELECT read_until FROM"
        "   message_reads r WHERE r.plan_id = pid.id AND r.person_id = $1), '-infinity')"
        "   ORDER BY m.created_at DESC LIMIT 10) m ON true",
        viewer_id,
        list(plan_ids),
    )
    found: dict[uuid.UUID, PlanMarks] = {}
    for r in records:
        plan_marks = found.setdefault(r["plan_id"], PlanMarks(r["visited_at"], []))
        if r["author_id"] is not None:
            recipients = frozenset(r["recipients"]) if r["recipients"] is not None else None
            plan_marks.unread.append(UnreadFacts(r["author_id"], recipients))
    return found


async def notification_settings(
    conn: Conn, participant_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, tuple[bool, bool]]]:
    records = await conn.fetch(
        "SELECT participant_id, event, sms, email FROM notification_settings"
        " WHERE participant_id = ANY($1)",
        list(participant_ids),
    )
    found: dict[uuid.UUID, dict[str, tuple[bool, bool]]] = {p: {} for p in participant_ids}
    for r in records:
        found[r["participant_id"]][r["event"]] = (r["sms"], r["email"])
    return found


async def set_notification(
    conn: Conn, participant_id: uuid.UUID, event: str, sms: bool, email: bool
) -> None:
    await conn.execute(
        "INSERT INTO notification_settings (participant_id, event, sms, email)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (participant_id, event)"
        " DO UPDATE SET sms = EXCLUDED.sms, email = EXCLUDED.email",
        participant_id,
        event,
        sms,
        email,
    )


async def service_units(conn: Conn) -> list[tuple[uuid.UUID, str]]:
    return [
        (r["id"], r["name"])
        for r in await conn.fetch("SELECT id, name FROM service_units ORDER BY name")
    ]


async def service_unit_exists(conn: Conn, unit_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM service_units WHERE id = $1)", unit_id)
    )


# _pick builds rows positionally: the column lists must follow the dataclasses' field order.
for _cls, _columns in (
    (PlanRow, PLAN_COLUMNS),
    (ConsentRow, CONSENT_COLUMNS),
    (ParticipantRow, PARTICIPANT_COLUMNS),
):
    assert [c.strip() for c in _columns.split(",")] == [f.name for f in fields(_cls)], _cls
