"""Archives are the plan's record for the owner's side; everyone else prints (issue 9).

An archive (``GET /plans/{id}/archives/{archiveId}.json|.pdf``) is the whole plan: messages
to others, every responsibility, the consent. It is for the coordinator, the owner and
whoever represents the owner (policy.represents_owner: a verge at any age, a parent while
the owner is under 16 by the Oslo date). Anyone else, a participant with the print right
included, gets 404 as for an archive that does not exist, and prints what they may read now
(print.pdf). The same predicate decides the consent document, revoking consent and the list
of archives.

Real HTTP against real PostgreSQL; plans come from tests/plan_world.py.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from tests.conftest import Gateway
from tests.http.test_lifecycle import (
    ARCHIVE,
    POST_MESSAGE,
    get,
    pdf_text,
    seed,
)
from tests.plan_world import (
    COORDINATOR,
    GUARDIAN,
    OUTSIDER,
    OWNER,
    RECORD_CONSENT,
    RELATIVE,
    REVOKE_CONSENT,
    SERVICE_PROVIDER,
    PlanWorld,
    build_world,
    errors_by_path,
    ok,
    today_of,
)

WORDS = {
    "goal": "Fjellgaaing",
    "activity": "Turlagskveld",
    "comment": "Kommentarfjell",
    "message": "Felleshilsen",
    "calendar": "Moetekveld",
    "document": "vedtak.txt",
}
TO_SOMEONE_ELSE = "Hemmeligbrev"  # a message to the relative alone
# What the print-right participant may read: goals and messages, nothing else.
DEFAULT_GRANT = {
    "participants": "NONE",
    "goals": "READ",
    "activities": "NONE",
    "messages": "READ",
    "calendar": "NONE",
    "documents": "NONE",
}
RECORD = """query($p: ID!) { plan(id: $p) {
  consent { id givenByRelation givenBy { id } } archives { id } } }"""


async def world_with_archive(gateway: Gateway) -> tuple[PlanWorld, str]:
    world = await build_world(
        gateway, default_grant=DEFAULT_GRANT, rights={SERVICE_PROVIDER: {"print": True}}
    )
    await seed(world, WORDS)
    ok(
        await world.post(
            COORDINATOR,
            POST_MESSAGE,
            {"p": world.plan_id, "b": TO_SOMEONE_ELSE, "to": [world.participant_ids[RELATIVE]]},
        ),
        "postMessage",
    )
    archived = ok(await world.post(COORDINATOR, ARCHIVE, {"p": world.plan_id}), "archivePlan")
    return world, archived["archivePlan"]["id"]


def paths(world: PlanWorld, archive_id: str) -> list[str]:
    return [f"/plans/{world.plan_id}/archives/{archive_id}.{kind}" for kind in ("json", "pdf")]


async def statuses(world: PlanWorld, archive_id: str, who: str) -> list[int]:
    return [
        (await get(world.gateway, path, world.token(who))).status_code
        for path in paths(world, archive_id)
    ]


async def record_of(world: PlanWorld, who: str) -> tuple[dict[str, Any], dict[Any, Any]]:
    body = await world.post(who, RECORD, {"p": world.plan_id})
    return body["data"]["plan"], errors_by_path(body)


async def test_a_print_right_participant_gets_404_on_archives_and_prints_what_they_may_read(
    gateway: Gateway,
) -> None:
    world, archive_id = await world_with_archive(gateway)

    # The owner's side gets the whole record, the message to someone else included.
    for who in (COORDINATOR, OWNER, GUARDIAN):
        assert await statuses(world, archive_id, who) == [200, 200], who
        doc = await get(gateway, paths(world, archive_id)[0], world.token(who))
        bodies = [m["body"] for m in json.loads(doc.content)["messages"]]
        assert TO_SOMEONE_ELSE in bodies and "consent" in json.loads(doc.content), who

    # The print right opens print.pdf, not the archive: 404 exactly as for no archive.
    for path in paths(world, archive_id):
        refused = await get(gateway, path, world.token(SERVICE_PROVIDER))
        missing = await get(
            gateway, path.replace(archive_id, str(uuid.uuid4())), world.token(SERVICE_PROVIDER)
        )
        assert (refused.status_code, refused.text) == (missing.status_code, missing.text)
        assert refused.status_code == 404, refused.text
    for who in (RELATIVE, OUTSIDER):
        assert await statuses(world, archive_id, who) == [404, 404], who

    printed = await get(gateway, f"/plans/{world.plan_id}/print.pdf", world.token(SERVICE_PROVIDER))
    assert printed.status_code == 200, printed.text
    text = pdf_text(printed.content)
    for shown in (WORDS["goal"], WORDS["comment"], WORDS["message"]):
        assert shown in text, (shown, text)
    for hidden in (
        TO_SOMEONE_ELSE,
        WORDS["activity"],
        WORDS["calendar"],
        WORDS["document"],
        world.responsibilities[RELATIVE],
        "Samtykke",
        "Plangruppa",
    ):
        assert hidden not in text, (hidden, text)

    # The list of archives and the consent document follow the same rule.
    plan, errors = await record_of(world, SERVICE_PROVIDER)
    assert plan["archives"] is None and plan["consent"] is None
    assert errors == {
        ("plan", "archives"): ("FORBIDDEN", "ROLE_REQUIRED"),
        ("plan", "consent"): ("FORBIDDEN", "ROLE_REQUIRED"),
    }
    plan, errors = await record_of(world, GUARDIAN)
    assert errors == {} and [a["id"] for a in plan["archives"]] == [archive_id]


async def set_birth_date(world: PlanWorld, born: dt.date) -> None:
    async with world.gateway.pool.acquire() as conn:
        await conn.execute(
            "UPDATE persons SET birth_date = $2 WHERE id = $1",
            uuid.UUID(world.person_id(OWNER)),
            born,
        )


async def consent_by_parent(world: PlanWorld, parent: str) -> None:
    today = today_of(world.gateway)
    ok(
        await world.post(
            COORDINATOR,
            RECORD_CONSENT,
            {
                "p": world.plan_id,
                "in": {
                    "givenById": world.person_id(parent),
                    "givenByRelation": "PARENT",
                    "givenOn": (today - dt.timedelta(days=1)).isoformat(),
                    "expiresOn": (today + dt.timedelta(days=365)).isoformat(),
                    "defaultGrant": DEFAULT_GRANT,
                },
            },
        ),
        "recordConsent",
    )


async def test_a_parent_represents_the_owner_until_the_16th_birthday_by_the_oslo_date(
    gateway: Gateway,
) -> None:
    world, archive_id = await world_with_archive(gateway)
    today = today_of(gateway)
    # The owner turns 16 tomorrow (Oslo date of the clock, 09:00 UTC).
    tomorrow = today + dt.timedelta(days=1)
    await set_birth_date(world, tomorrow.replace(year=tomorrow.year - 16))

    # A relative of a minor who is not named as parent is not the owner's side.
    assert await statuses(world, archive_id, RELATIVE) == [404, 404]
    _, errors = await record_of(world, RELATIVE)
    assert set(errors.values()) == {("FORBIDDEN", "ROLE_REQUIRED")}

    # Named by the consent as the owner's parent: the whole record, consent and archives.
    await consent_by_parent(world, RELATIVE)
    assert await statuses(world, archive_id, RELATIVE) == [200, 200]
    plan, errors = await record_of(world, RELATIVE)
    assert errors == {}, errors
    assert plan["consent"]["givenByRelation"] == "PARENT"
    assert plan["consent"]["givenBy"]["id"] == world.person_id(RELATIVE)
    assert [a["id"] for a in plan["archives"]] == [archive_id]
    # The print right is still no key to the archive.
    assert await statuses(world, archive_id, SERVICE_PROVIDER) == [404, 404]

    # 23:30 UTC is already tomorrow in Oslo: the owner is 16 and speaks for themself.
    gateway.clock.now = dt.datetime.combine(today, dt.time(23, 30), dt.UTC)
    assert today_of(gateway) == tomorrow
    await world.renew_sessions()
    assert await statuses(world, archive_id, RELATIVE) == [404, 404]
    plan, errors = await record_of(world, RELATIVE)
    assert plan["consent"] is None and plan["archives"] is None
    assert errors == {
        ("plan", "archives"): ("FORBIDDEN", "ROLE_REQUIRED"),
        ("plan", "consent"): ("FORBIDDEN", "ROLE_REQUIRED"),
    }
    body = await world.post(RELATIVE, REVOKE_CONSENT, {"p": world.plan_id})
    assert body["data"] is None
    assert errors_by_path(body) == {("revokeConsent",): ("FORBIDDEN", "ROLE_REQUIRED")}
    # A verge represents the owner at any age.
    assert await statuses(world, archive_id, GUARDIAN) == [200, 200]


async def test_a_parent_of_a_minor_may_revoke_the_consent(gateway: Gateway) -> None:
    world = await build_world(gateway, default_grant=DEFAULT_GRANT)
    await set_birth_date(world, today_of(gateway) - dt.timedelta(days=10 * 365))
    await consent_by_parent(world, RELATIVE)
    body = await world.post(SERVICE_PROVIDER, REVOKE_CONSENT, {"p": world.plan_id})
    assert errors_by_path(body) == {("revokeConsent",): ("FORBIDDEN", "ROLE_REQUIRED")}
    revoked = ok(await world.post(RELATIVE, REVOKE_CONSENT, {"p": world.plan_id}), "revoke")
    assert revoked["revokeConsent"]["revokedOn"] == today_of(gateway).isoformat()


async def test_an_owner_without_a_birth_date_is_not_taken_for_a_minor(gateway: Gateway) -> None:
    world, archive_id = await world_with_archive(gateway)
    async with gateway.pool.acquire() as conn:
        await conn.execute(
            "UPDATE persons SET birth_date = NULL WHERE id = $1", uuid.UUID(world.person_id(OWNER))
        )
    await consent_by_parent(world, RELATIVE)
    assert await statuses(world, archive_id, RELATIVE) == [404, 404]
    assert await statuses(world, archive_id, OWNER) == [200, 200]
