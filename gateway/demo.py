"""A demo municipality for `plangruppe serve --demo`, made through the API's own code paths.

Two service units, three plans (active; consent running out within 30 days; ended and
archived) with goals, activities, messages, calendars and a document, and an account for
every role. README.md ("Demo accounts") says what each account shows; tests/test_demo.py
logs in as each and checks it.

Everything but the first administrator and the accounts' passwords is made by the resolver
functions the GraphQL mutations call, acting as the demo's own people, so the demo obeys the
same rules as real data. Seeding runs once per database: a second start finds the
`demo.seeded` entry in the audit log and creates nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import NamedTuple

import asyncpg

from db import accounts, audit, persons
from db.pool import Conn, create_pool
from gateway.demo_plans import Actor, Town, build_plans
from gateway.settings import ConfigError, Settings
from resolvers import passwords
from resolvers import persons as person_resolvers
from resolvers.admin import create_service_unit
from resolvers.context import Clock, utc_now

SEEDED = "demo.seeded"
# pg_advisory_xact_lock key: two processes starting the demo at once seed it once.
_LOCK_KEY = 0x706C616E_64656D6F  # "plandemo"
# No 0/O, 1/l/I: a password read off a terminal is typed without guessing.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105
_PASSWORD_LENGTH = 16

SERVICE_UNITS = {"health": "Helse og omsorg", "family": "Barn, unge og familie"}


class DemoAccount(NamedTuple):
    """A demo login, printed once when it is created."""

    username: str
    password: str


@dataclass(frozen=True)
class DemoPerson:
    """A person of the demo municipality; one with a username gets an account."""

    key: str
    first_name: str
    last_name: str
    position: str | None = None
    birth_date: dt.date | None = None
    username: str | None = None
    roles: tuple[str, ...] = ()
    workplace: str | None = None
    unit: str | None = None  # a key of SERVICE_UNITS

    @property
    def email(self) -> str | None:
        return f"{self.username}@example.no" if self.username else None


ADMIN = DemoPerson(
    "admin", "Tone", "Aasen", "Systemansvarlig", username="demo.admin", roles=("SYSTEM_ADMIN",)
)
PEOPLE = (
    ADMIN,
    DemoPerson(
        "unit",
        "Geir",
        "Lunde",
        "Leder, koordinerende enhet",
        username="demo.enhet",
        roles=("COORDINATING_UNIT",),
        unit="health",
    ),
    DemoPerson(
        "coordinator",
        "Marte",
        "Solberg",
        "Koordinator",
        username="demo.koordinator",
        workplace="Tildelingskontoret",
        unit="health",
    ),
    DemoPerson(
        "owner", "Emma", "Nilsen", birth_date=dt.date(1998, 3, 14), username="demo.planeier"
    ),
    DemoPerson(
        "relative", "Bjørn", "Nilsen", birth_date=dt.date(1969, 10, 2), username="demo.parorende"
    ),
    DemoPerson(
        "provider",
        "Ahmed",
        "Rahimi",
        "Fysioterapeut",
        username="demo.tjenesteyter",
        workplace="Friskliv og mestring",
        unit="health",
    ),
    DemoPerson(
        "reporter",
        "Hilde",
        "Bakke",
        "Rådgiver, analyse",
        username="demo.rapport",
        roles=("REPORTER",),
    ),
    # Without accounts: the other plans' owners, relatives and professionals.
    DemoPerson("jonas", "Jonas", "Haugen"),  # birth date: 12 years before the seed (_born)
    DemoPerson("lena", "Lena", "Haugen", birth_date=dt.date(1984, 1, 9)),
    DemoPerson("tor", "Tor", "Haugen", birth_date=dt.date(1982, 5, 27)),
    DemoPerson("siri", "Siri", "Eide", "Spesialpedagog", workplace="PP-tjenesten", unit="family"),
    DemoPerson(
        "mona", "Mona", "Dahl", "Helsesykepleier", workplace="Helsestasjonen", unit="family"
    ),
    DemoPerson("astrid", "Astrid", "Moe", birth_date=dt.date(1946, 8, 30)),
    DemoPerson("knut", "Knut", "Brekke", "Sykepleier", workplace="Hjemmetjenesten", unit="health"),
)
USERNAMES = tuple(p.username for p in PEOPLE if p.username)


def new_password(username: str, names: tuple[str, ...]) -> str:
    """A random password that meets the policy of resolvers/passwords.py."""
    while True:
        candidate = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(_PASSWORD_LENGTH))
        if not passwords.broken_rules(candidate, username=username, names=names):
            return candidate


async def seed(dsn: str, settings: Settings, clock: Clock = utc_now) -> list[DemoAccount] | None:
    """Seed the demo municipality once; its accounts with their passwords, or None when the
    database has it already. A database where an earlier seed stopped half-way is refused
    (ConfigError): the demo is meant for an empty data directory."""
    pool = await create_pool(dsn, min_size=1, max_size=5)
    try:
        async with pool.acquire() as lock, lock.transaction():
            await lock.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            if await lock.fetchval(
                "SELECT EXISTS (SELECT 1 FROM audit_log WHERE action = $1)", SEEDED
            ):
                return None
            if await accounts.by_username(lock, ADMIN.username or ""):
                raise ConfigError(
                    "this database holds part of a demo whose seeding was interrupted: start"
                    " with an empty PLANGRUPPE_DATA_DIR (or database) to seed the demo anew"
                )
            now = clock()
            created = await _seed(pool, settings, now)
            await audit.record(
                lock,
                at=now,
                actor_id=None,
                action=SEEDED,
                detail={"accounts": [a.username for a in created]},
            )
            return created
    finally:
        await pool.close()


async def _seed(pool: asyncpg.Pool, settings: Settings, now: dt.datetime) -> list[DemoAccount]:
    town = Town(pool, settings, now)
    created: list[DemoAccount] = []
    admin = await _first_admin(pool, town, created)
    units = {
        key: (await create_service_unit(town.as_(admin), name))[0]
        for key, name in SERVICE_UNITS.items()
    }
    actors = {ADMIN.key: admin}
    for person in PEOPLE[1:]:
        actors[person.key] = await _person(pool, town, admin, person, units, created)
    await build_plans(town, actors, units)
    return created


async def _first_admin(pool: asyncpg.Pool, town: Town, created: list[DemoAccount]) -> Actor:
    """The system administrator who makes the rest, as `plangruppe create-admin` does."""
    async with pool.acquire() as conn, conn.transaction():
        row = await persons.insert(
            conn,
            {
                "first_name": ADMIN.first_name,
                "last_name": ADMIN.last_name,
                "position": ADMIN.position,
                "email": ADMIN.email,
            },
        )
        await persons.set_global_roles(conn, row.id, ADMIN.roles)
        return await _account(conn, town, ADMIN, row.id, created)


async def _person(
    pool: asyncpg.Pool,
    town: Town,
    admin: Actor,
    person: DemoPerson,
    units: dict[str, uuid.UUID],
    created: list[DemoAccount],
) -> Actor:
    """createPerson and setGlobalRoles as the administrator, then the account."""
    values: dict[str, object] = {"firstName": person.first_name, "lastName": person.last_name}
    optional = {
        "position": person.position,
        "workplace": person.workplace,
        "email": person.email,
        "birthDate": person.birth_date or _born(town, person),
        "serviceUnitId": str(units[person.unit]) if person.unit else None,
    }
    values.update({k: v for k, v in optional.items() if v is not None})
    row = (await person_resolvers.create_person(town.as_(admin), values)).row
    if person.roles:
        await person_resolvers.set_global_roles(town.as_(admin), str(row.id), list(person.roles))
    if person.username is None:
        return Actor(row.id)
    async with pool.acquire() as conn:
        return await _account(conn, town, person, row.id, created)


def _born(town: Town, person: DemoPerson) -> dt.date | None:
    """Jonas stays a child (under 16) whenever the demo is seeded: his mother gives consent."""
    if person.key != "jonas":
        return None
    today = town.day(0)
    return dt.date(today.year - 12, 6, 20)


async def _account(
    conn: Conn, town: Town, person: DemoPerson, person_id: uuid.UUID, created: list[DemoAccount]
) -> Actor:
    """An account with a password and a confirmed e-mail (codes go there, or to the log).

    createAccount would send an invitation to set a password; a demo needs one at once."""
    assert person.username is not None
    password = new_password(person.username, (person.first_name, person.last_name))
    account = await accounts.insert(
        conn,
        person_id=person_id,
        username=person.username,
        otp_channel="EMAIL",
        password_hash=await passwords.hash_password(password),
        now=town.now,
        confirmed_email=person.email,
    )
    created.append(DemoAccount(person.username, password))
    return Actor(account.person_id, account.id, frozenset(person.roles))
