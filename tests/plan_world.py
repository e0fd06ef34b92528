"""A plan world for access tests: one plan with a person in every role, built through the API.

``build_world(gateway, consent=..., plan=...)`` makes, with unique usernames:

- ``owner`` (planeier) and ``coordinator`` (koordinator): set by ``createPlan``, which the
  ``coordinating_unit`` user (global role COORDINATING_UNIT) calls;
- ``service_provider``, ``relative``, ``guardian``: added by the coordinator with
  ``addParticipant`` (each with a responsibility text and optional rights overrides);
- ``outsider``: an account with no part in the plan;
- ``system_admin``: global role SYSTEM_ADMIN, no part in the plan;

each with a session token. The consent is recorded by the coordinator (``recordConsent``,
given by the owner as SELF) and then, depending on ``consent``:

- ``"active"``: given 30 days ago, expires in a year;
- ``"expired"``: given 400 days ago, expired yesterday;
- ``"revoked"``: as active, then revoked (``revokeConsent``, by the coordinator unless
  ``revoked_by`` names someone else);
- ``"none"``: no consent is recorded.

``plan="ended"`` sets ``plans.status = 'ENDED'`` in the test database (endPlan comes later).
Explicit ``given_on``/``expires_on`` and per-participant ``consent_expires_on``
(``updateParticipant``) allow any date situation. ``reuse`` puts existing actors (from
another world) into roles of this one, for cross-plan situations.

Every person has every contact field filled in, so a ``null`` contact field always means
"hidden", never "empty".
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg

from db import accounts, persons
from resolvers import passwords
from resolvers.context import OSLO
from tests.support import PASSWORD, User, session_for

if TYPE_CHECKING:
    from tests.conftest import Gateway

OWNER, COORDINATOR = "owner", "coordinator"
SERVICE_PROVIDER, RELATIVE, GUARDIAN = "service_provider", "relative", "guardian"
OUTSIDER, SYSTEM_ADMIN, COORDINATING_UNIT = "outsider", "system_admin", "coordinating_unit"

# Every person in a world, in a stable order.
ROLES = (
    OWNER,
    COORDINATOR,
    SERVICE_PROVIDER,
    RELATIVE,
    GUARDIAN,
    OUTSIDER,
    SYSTEM_ADMIN,
    COORDINATING_UNIT,
)
# The world's people who take part in the plan, and their API Role.
PARTICIPANT_ROLE = {
    OWNER: "OWNER",
    COORDINATOR: "COORDINATOR",
    SERVICE_PROVIDER: "SERVICE_PROVIDER",
    RELATIVE: "RELATIVE",
    GUARDIAN: "GUARDIAN",
}
ADDED_ROLES = (SERVICE_PROVIDER, RELATIVE, GUARDIAN)
GLOBAL_ROLES: dict[str, tuple[str, ...]] = {
    SYSTEM_ADMIN: ("SYSTEM_ADMIN",),
    COORDINATING_UNIT: ("COORDINATING_UNIT",),
}
CONSENT_STATES = ("active", "expired", "revoked", "none")
PLAN_STATES = ("active", "ended")
SECTIONS = (
    "participants",
    "goals",
    "activities",
    "messages",
    "calendar",
    "documents",
    "linked_plans",
)


def api_name(section: str) -> str:
    """A section's name in AccessGrant and AccessGrantInput (linked_plans: linkedPlans)."""
    head, *rest = section.split("_")
    return head + "".join(word.capitalize() for word in rest)


GRANT_FIELDS = " ".join(api_name(s) for s in SECTIONS) + " editPerson print"
# PersonField -> the GraphQL field of Person that shows it.
PERSON_FIELD_NAMES = {
    "BIRTH_DATE": "birthDate",
    "WORKPLACE": "workplace",
    "EMAIL": "email",
    "MOBILE": "mobile",
    "PHONE": "phone",
    "FAX": "fax",
    "ADDRESS": "address",
}

CREATE_PLAN = """mutation($in: CreatePlanInput!) { createPlan(input: $in) {
  id owner { id } coordinator { id } } }"""
ADD_PARTICIPANT = """mutation($p: ID!, $who: ID!, $role: Role!, $resp: String,
  $rights: AccessGrantInput) {
  addParticipant(planId: $p, personId: $who, role: $role, responsibility: $resp, rights: $rights) {
    id } }"""
UPDATE_PARTICIPANT = """mutation($id: ID!, $on: Date) {
  updateParticipant(id: $id, consentExpiresOn: $on) { id } }"""
RECORD_CONSENT = """mutation($p: ID!, $in: ConsentInput!) { recordConsent(planId: $p, input: $in) {
  id } }"""
REVOKE_CONSENT = """mutation($p: ID!) { revokeConsent(planId: $p) { id revokedOn } }"""

# The consent's default grant when a test names none (the access matrix's consent).
MATRIX_DEFAULT_GRANT: dict[str, object] = {
    "participants": "READ",
    "goals": "WRITE",
    "activities": "READ",
    "messages": "WRITE",
    "calendar": "READ",
    "documents": "NONE",
}


def today_of(gateway: Gateway) -> dt.date:
    """The Europe/Oslo date of the gateway's clock: the "today" of every access rule."""
    return gateway.clock().astimezone(OSLO).date()


@functools.cache
def _password_hash() -> str:
    # Hashed once: argon2 per user would make worlds slow, and nobody logs in here.
    return passwords.HASHER.hash(PASSWORD)


async def quick_user(
    pool: asyncpg.Pool,
    username: str,
    *,
    first_name: str,
    last_name: str,
    roles: tuple[str, ...] = (),
    now: dt.datetime,
    **person_fields: Any,
) -> User:
    """A person with an account, like tests.support.make_user but without hashing anew."""
    async with pool.acquire() as conn:
        person = await persons.insert(
            conn, {"first_name": first_name, "last_name": last_name, **person_fields}
        )
        account = await accounts.insert(
            conn,
            person_id=person.id,
            username=username,
            otp_channel="EMAIL",
            password_hash=_password_hash(),
            now=now,
            confirmed_email=person.email,
            confirmed_mobile=person.mobile,
        )
        await persons.set_global_roles(conn, person.id, roles)
    return User(
        account_id=account.id,
        person_id=person.id,
        username=username,
        email=person.email,
        mobile=person.mobile,
    )


def contact_fields(key: str, tag: str, n: int) -> dict[str, Any]:
    """Every contact field filled in, distinct per person."""
    return {
        "position": f"Stilling {key}",
        "birth_date": dt.date(1950 + n, 1 + n % 12, 1 + n % 28),
        "workplace": f"Arbeidssted {key}",
        "email": f"{key}.{tag}@example.no",
        "mobile": f"+47{91000000 + n:08d}",
        "phone": f"+47{51000000 + n:08d}",
        "fax": f"+47{52000000 + n:08d}",
        "street": f"Gate {n}",
        "postcode": f"{5000 + n:04d}",
        "city": "Bergen",
    }


@dataclass
class Actor:
    """One person of a world: their user, a live session token, their participant id here."""

    key: str
    user: User
    token: str

    @property
    def person_id(self) -> str:
        return str(self.user.person_id)


@dataclass
class PlanWorld:
    gateway: Gateway
    plan_id: str
    short_name: str
    actors: dict[str, Actor]
    participant_ids: dict[str, str]
    responsibilities: dict[str, str]
    consent_state: str
    plan_state: str
    consent_id: str | None = None
    consent_given_on: dt.date | None = None
    consent_expires_on: dt.date | None = None
    consent_revoked_on: dt.date | None = None
    participant_expiry: dict[str, dt.date] = field(default_factory=dict)
    rights: dict[str, dict[str, object]] = field(default_factory=dict)
    default_grant: dict[str, object] = field(default_factory=dict)

    def token(self, key: str) -> str:
        return self.actors[key].token

    def person_id(self, key: str) -> str:
        return self.actors[key].person_id

    def takes_part(self, key: str) -> bool:
        return key in self.participant_ids

    async def post(
        self, key: str, query: str, variables: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run one GraphQL document as the given person."""
        return await self.gateway.client.post(query, dict(variables or {}), token=self.token(key))

    async def renew_sessions(self) -> None:
        """Fresh sessions at the clock's current time (after clock.advance past the idle limit)."""
        for actor in self.actors.values():
            actor.token = await session_for(self.gateway.pool, actor.user, self.gateway.clock())

    async def end_plan(self) -> None:
        """The plan's ENDED state, set in the database (endPlan is a later issue)."""
        async with self.gateway.pool.acquire() as conn:
            await conn.execute(
                "UPDATE plans SET status = 'ENDED' WHERE id = $1", uuid.UUID(self.plan_id)
            )
        self.plan_state = "ended"


def ok(body: dict[str, Any], what: str) -> dict[str, Any]:
    assert "errors" not in body, (what, body)
    data: dict[str, Any] = body["data"]
    return data


async def build_world(
    gateway: Gateway,
    *,
    consent: str = "active",
    plan: str = "active",
    default_grant: Mapping[str, object] | None = None,
    rights: Mapping[str, Mapping[str, object]] | None = None,
    given_on: dt.date | None = None,
    expires_on: dt.date | None = None,
    consent_expires_on: Mapping[str, dt.date] | None = None,
    revoked_by: str = COORDINATOR,
    reuse: Mapping[str, Actor] | None = None,
    tag: str | None = None,
) -> PlanWorld:
    """One plan with everyone in it (see the module docstring)."""
    assert consent in CONSENT_STATES, consent
    assert plan in PLAN_STATES, plan
    pool = gateway.pool
    tag = tag or uuid.uuid4().hex[:10]
    today = today_of(gateway)
    now = gateway.clock()
    reuse = dict(reuse or {})

    actors: dict[str, Actor] = {}
    for n, key in enumerate(ROLES):
        if key in reuse:
            actors[key] = reuse[key]
            continue
        user = await quick_user(
            pool,
            f"{key.replace('_', '')}-{tag}",
            first_name=key.split("_")[0].capitalize(),
            last_name=f"W{tag}",
            roles=GLOBAL_ROLES.get(key, ()),
            now=now,
            **contact_fields(key, tag, n),
        )
        actors[key] = Actor(key, user, await session_for(pool, user, now))

    short_name = f"Plan {tag}"
    created = ok(
        await gateway.client.post(
            CREATE_PLAN,
            {
                "in": {
                    "ownerId": actors[OWNER].person_id,
                    "coordinatorId": actors[COORDINATOR].person_id,
                    "shortName": short_name,
                    "type": "IP",
                    "startDate": (today - dt.timedelta(days=500)).isoformat(),
                }
            },
            token=actors[COORDINATING_UNIT].token,
        ),
        "createPlan",
    )["createPlan"]
    plan_id = created["id"]
    world = PlanWorld(
        gateway=gateway,
        plan_id=plan_id,
        short_name=short_name,
        actors=actors,
        participant_ids={OWNER: created["owner"]["id"], COORDINATOR: created["coordinator"]["id"]},
        responsibilities={},
        consent_state=consent,
        plan_state="active",
        rights={k: dict(v) for k, v in (rights or {}).items()},
    )

    for key in ADDED_ROLES:
        text = f"Ansvar for {key} i {tag}"
        added = ok(
            await world.post(
                COORDINATOR,
                ADD_PARTICIPANT,
                {
                    "p": plan_id,
                    "who": actors[key].person_id,
                    "role": PARTICIPANT_ROLE[key],
                    "resp": text,
                    "rights": world.rights.get(key),
                },
            ),
            f"addParticipant {key}",
        )["addParticipant"]
        world.participant_ids[key] = added["id"]
        world.responsibilities[key] = text

    if consent != "none":
        if consent == "expired":
            given = given_on or today - dt.timedelta(days=400)
            expires = expires_on or today - dt.timedelta(days=1)
        else:
            given = given_on or today - dt.timedelta(days=30)
            expires = expires_on or today + dt.timedelta(days=365)
        grant = dict(MATRIX_DEFAULT_GRANT if default_grant is None else default_grant)
        recorded = ok(
            await world.post(
                COORDINATOR,
                RECORD_CONSENT,
                {
                    "p": plan_id,
                    "in": {
                        "givenById": actors[OWNER].person_id,
                        "givenByRelation": "SELF",
                        "givenOn": given.isoformat(),
                        "expiresOn": expires.isoformat(),
                        "defaultGrant": grant,
                    },
                },
            ),
            "recordConsent",
        )["recordConsent"]
        world.consent_id = recorded["id"]
        world.consent_given_on, world.consent_expires_on = given, expires
        world.default_grant = grant

    for key, on in (consent_expires_on or {}).items():
        ok(
            await world.post(
                COORDINATOR,
                UPDATE_PARTICIPANT,
                {"id": world.participant_ids[key], "on": on.isoformat()},
            ),
            f"updateParticipant {key}",
        )
        world.participant_expiry[key] = on

    if consent == "revoked":
        revoked = ok(await world.post(revoked_by, REVOKE_CONSENT, {"p": plan_id}), "revokeConsent")[
            "revokeConsent"
        ]
        world.consent_revoked_on = dt.date.fromisoformat(revoked["revokedOn"])

    if plan == "ended":
        await world.end_plan()
    return world


def errors_by_path(body: Mapping[str, Any]) -> dict[tuple[Any, ...], tuple[str, str | None]]:
    """Each error of a response as path -> (code, reason); a path must not repeat."""
    found: dict[tuple[Any, ...], tuple[str, str | None]] = {}
    for error in body.get("errors") or []:
        path = tuple(error.get("path") or ())
        assert path not in found, body
        ext = error.get("extensions") or {}
        found[path] = (str(ext.get("code")), ext.get("reason"))
    return found
