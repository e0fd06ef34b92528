"""Persons and their global roles."""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from db.pool import Conn

CONTACT_COLUMNS = (
    "birth_date",
    "workplace",
    "email",
    "mobile",
    "phone",
    "fax",
    "street",
    "postcode",
    "city",
)
_COLUMNS = (
    "id, first_name, last_name, position, birth_date, workplace, email, mobile, phone, fax,"
    " street, postcode, city, service_unit_id, search_restricted"
)


@dataclass(frozen=True)
class PersonRow:
    id: uuid.UUID
    first_name: str
    last_name: str
    position: str | None
    birth_date: dt.date | None
    workplace: str | None
    email: str | None
    mobile: str | None
    phone: str | None
    fax: str | None
    street: str | None
    postcode: str | None
    city: str | None
    service_unit_id: uuid.UUID | None
    search_restricted: bool = False  # «Begrens søk»


def _row(record: asyncpg.Record) -> PersonRow:
    return PersonRow(**dict(record))


async def by_ids(conn: Conn, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PersonRow]:
    records = await conn.fetch(f"SELECT {_COLUMNS} FROM persons WHERE id = ANY($1)", list(ids))
    return {r["id"]: _row(r) for r in records}


async def by_id(conn: Conn, person_id: uuid.UUID) -> PersonRow | None:
    return (await by_ids(conn, [person_id])).get(person_id)


def search_key(name: str) -> str:
    """Names are searched by prefix, case-insensitively, folded in Python so that æ/ø/å
    behave the same whatever the database's locale, and in Unicode NFC so that "Å" typed as
    A + combining ring is the same letter as "Å"."""
    return unicodedata.normalize("NFC", name.strip().lower())


def _with_search_keys(values: dict[str, object]) -> dict[str, object]:
    values = dict(values)
    if isinstance(values.get("first_name"), str):
        values["search_first"] = search_key(str(values["first_name"]))
    if isinstance(values.get("last_name"), str):
        values["search_last"] = search_key(str(values["last_name"]))
    return values


async def insert(conn: Conn, values: dict[str, object]) -> PersonRow:
    values = _with_search_keys(values)
    columns = list(values)
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    record = await conn.fetchrow(
        f"INSERT INTO persons ({', '.join(columns)}) VALUES ({placeholders}) RETURNING {_COLUMNS}",
        *values.values(),
    )
    assert record is not None
    return _row(record)


async def update(conn: Conn, person_id: uuid.UUID, values: dict[str, object]) -> PersonRow:
    values = _with_search_keys(values)
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(values, start=2))
    record = await conn.fetchrow(
        f"UPDATE persons SET {assignments} WHERE id = $1 RETURNING {_COLUMNS}",
        person_id,
        *values.values(),
    )
    assert record is not None
    return _row(record)


async def global_roles(conn: Conn, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    records = await conn.fetch(
        "SELECT person_id, role FROM person_global_roles WHERE person_id = ANY($1) ORDER BY role",
        list(person_ids),
    )
    roles: dict[uuid.UUID, list[str]] = {p: [] for p in person_ids}
    for r in records:
        roles[r["person_id"]].append(r["role"])
    return roles


async def set_global_roles(conn: Conn, person_id: uuid.UUID, roles: Sequence[str]) -> None:
    await conn.execute("DELETE FROM person_global_roles WHERE person_id = $1", person_id)
    await conn.executemany(
        "INSERT INTO person_global_roles (person_id, role) VALUES ($1, $2)",
        [(person_id, role) for role in sorted(set(roles))],
    )


def prefix_range(prefix: str) -> tuple[str, str | None]:
    """The search keys that start with ``prefix``, as a range [low, high) in byte ("C")
    order, which an index can seek; high is None when no key is past them."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop()) + 1
        if last == 0xD800:  # surrogates are not text
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix, "".join(chars) + chr(last)
    return prefix, None


async def search(
    conn: Conn,
    *,
    first_name: str | None,
    last_name: str | None,
    birth_date: dt.date | None,
    limit: int,
) -> list[PersonRow]:
    """Persons by name prefixes (compared as search keys) and birth date, by last name,
    first name and id in byte order: an index in that order (persons_search_order_idx)
    serves the page, so a page of 20 reads about 20 index entries at any size. Each
    combination of criteria is its own statement (a generic plan keeps its index bounds)."""
    where: list[str] = []
    args: list[object] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    for column, name in (("search_last", last_name), ("search_first", first_name)):
        if name is None:
            continue
        low, high = prefix_range(search_key(name))
        where.append(f'{column} COLLATE "C" >= {arg(low)}')
        if high is not None:
            where.append(f'{column} COLLATE "C" < {arg(high)}')
    if birth_date is not None:
        where.append(f"birth_date = {arg(birth_date)}")
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM persons WHERE {' AND '.join(where) or 'TRUE'}"
        ' ORDER BY search_last COLLATE "C", search_first COLLATE "C", id'
        f" LIMIT {arg(limit)}",
        *args,
    )
    return [_row(r) for r in records]


async def same_names(conn: Conn, first_name: str, last_name: str) -> list[PersonRow]:
    """Persons with the same first and last name (trimmed, case-insensitive, NFC), oldest
    first: the candidates for DUPLICATE_PERSON / POSSIBLE_DUPLICATE."""
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM persons WHERE search_first = $1 AND search_last = $2"
        " ORDER BY created_at, id",
        search_key(first_name),
        search_key(last_name),
    )
    return [_row(r) for r in records]


async def visibilities(
    conn: Conn, person_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, str]]:
    records = await conn.fetch(
        "SELECT person_id, field, visibility FROM person_field_visibility"
        " WHERE person_id = ANY($1)",
        list(person_ids),
    )
    found: dict[uuid.UUID, dict[str, str]] = {p: {} for p in person_ids}
    for r in records:
        found[r["person_id"]][r["field"]] = r["visibility"]
    return found


async def set_visibility(conn: Conn, person_id: uuid.UUID, field: str, visibility: str) -> None:
    await conn.execute(
        "INSERT INTO person_field_visibility (person_id, field, visibility) VALUES ($1, $2, $3)"
        " ON CONFLICT (person_id, field) DO UPDATE SET visibility = EXCLUDED.visibility",
        person_id,
        field,
        visibility,
    )


async def set_search_restricted(conn: Conn, person_id: uuid.UUID, restricted: bool) -> None:
    await conn.execute(
        "UPDATE persons SET search_restricted = $2 WHERE id = $1", person_id, restricted
    )


async def sharing_current_plan(
    conn: Conn, viewer_id: uuid.UUID, person_ids: Sequence[uuid.UUID], today: dt.date
) -> set[uuid.UUID]:
    """Those of the persons who take part in a current plan with the viewer."""
    records = await conn.fetch(
        "SELECT DISTINCT t.person_id FROM participants t"
        " JOIN participants me ON me.plan_id = t.plan_id AND me.person_id = $1"
        " JOIN plans p ON p.id = t.plan_id AND p.status = 'ACTIVE'"
        " WHERE t.person_id = ANY($2) AND (t.left_on IS NULL OR t.left_on > $3)"
        " AND (me.left_on IS NULL OR me.left_on > $3)",
        viewer_id,
        list(person_ids),
        today,
    )
    return {r["person_id"] for r in records}
