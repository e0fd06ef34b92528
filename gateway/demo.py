"""A small demo municipality for `plangruppe serve --demo`."""

from __future__ import annotations

import datetime as dt
import secrets
import string

import asyncpg

from db import accounts, persons
from resolvers import passwords
from resolvers.context import utc_now

DEMO_PEOPLE = (
    # username, first, last, position, birth date, global roles
    (
        "kari.admin",
        "Kari",
        "Nordmann",
        "Systemansvarlig",
        None,
        ("SYSTEM_ADMIN", "COORDINATING_UNIT"),
    ),
    ("ola.koordinator", "Ola", "Hansen", "Koordinator", None, ()),
    ("ingrid.berg", "Ingrid", "Berg", None, dt.date(1990, 4, 12), ()),
    ("per.berg", "Per", "Berg", None, dt.date(1962, 9, 3), ()),
    ("sara.fysio", "Sara", "Lie", "Fysioterapeut", None, ()),
)


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(14))
        if not passwords.broken_rules(candidate, username=""):
            return candidate


async def seed(dsn: str) -> list[tuple[str, str]] | None:
    """Create the demo people once; returns (username, password) pairs, or None if present."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            if await accounts.by_username(conn, DEMO_PEOPLE[0][0]):
                return None
            created = []
            now = utc_now()
            for username, first, last, position, born, roles in DEMO_PEOPLE:
                person = await persons.insert(
                    conn,
                    {
                        "first_name": first,
                        "last_name": last,
                        "position": position,
                        "birth_date": born,
                        "email": f"{username}@demo.plangruppe.no",
                    },
                )
                password = _password()
                await accounts.insert(
                    conn,
                    person_id=person.id,
                    username=username,
                    otp_channel="EMAIL",
                    password_hash=await passwords.hash_password(password),
                    now=now,
                    confirmed_email=person.email,
                )
                await persons.set_global_roles(conn, person.id, roles)
                created.append((username, password))
            return created
    finally:
        await conn.close()
