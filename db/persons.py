"""Persons and their global roles."""

from __future__ import annotations

import datetime as dt
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
    " street, postcode, city, service_unit_id"
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


def _row(record: asyncpg.Record) -> PersonRow:
    return PersonRow(**dict(record))


async def by_ids(conn: Conn, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PersonRow]:
    records = await conn.fetch(f"SELECT {_COLUMNS} FROM persons WHERE id = ANY($1)", list(ids))
    return {r["id"]: _row(r) for r in records}


async def by_id(conn: Conn, person_id: uuid.UUID) -> PersonRow | None:
    return (await by_ids(conn, [person_id])).get(person_id)


async def insert(conn: Conn, values: dict[str, object]) -> PersonRow:
    columns = list(values)
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    record = await conn.fetchrow(
        f"INSERT INTO persons ({', '.join(columns)}) VALUES ({placeholders}) RETURNING {_COLUMNS}",
        *values.values(),
    )
    assert record is not None
    return _row(record)


async def update(conn: Conn, person_id: uuid.UUID, values: dict[str, object]) -> PersonRow:
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
