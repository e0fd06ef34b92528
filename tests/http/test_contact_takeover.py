"""Account takeover through contact data (issue 9), end to end over real HTTP, SMTP and SMS.

An owner or coordinator may edit a co-participant's person. Before the fix, changing the
victim's e-mail or mobile to the attacker's own and then asking for a password reset (or
waiting for a login) sent the link and the one-time codes to the attacker. Now one-time
codes, reset links and notices go only to contact data the holder has confirmed, and a
change of a holder's e-mail or mobile waits for the holder to confirm it in their own
session. docs/accounts-and-contact-data.md describes the rules.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from db import persons
from tests.conftest import Gateway, Mailbox, SmsGateway
from tests.support import PASSWORD, User, error_codes, make_user, session_for, six_digit_code

CREATE_PLAN = """mutation($in: CreatePlanInput!) { createPlan(input: $in) { id } }"""
RECORD_CONSENT = """mutation($p: ID!, $in: ConsentInput!) {
  recordConsent(planId: $p, input: $in) { id } }"""
ADD = """mutation($p: ID!, $who: ID!, $role: Role!) {
  addParticipant(planId: $p, personId: $who, role: $role) { id } }"""
UPDATE_PERSON = """mutation($id: ID!, $in: PersonInput!) { updatePerson(id: $id, input: $in) {
  id workplace email mobile } }"""
PENDING = """query($id: ID!) { person(id: $id) {
  pendingContactChanges { field newValue requestedAt expiresAt } } }"""
MY_PENDING = "{ me { email mobile pendingContactChanges { field newValue } } }"
CONFIRM = """mutation($t: String!) { confirmContactChange(token: $t) { id email mobile
  pendingContactChanges { field } } }"""
LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { challengeId channel maskedDestination } }"""
VERIFY = """mutation($c: ID!, $code: String!) {
  verifyLoginCode(challengeId: $c, code: $code) { token person { id } } }"""
REQUEST_RESET = "mutation($v: String!) { requestPasswordReset(usernameOrEmail: $v) }"
RESET = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }"
CREATE_PERSON = """mutation($in: PersonInput!) { createPerson(input: $in) { id } }"""
CREATE_ACCOUNT = """mutation($p: ID!, $u: String!, $ch: OtpChannel!) {
  createAccount(personId: $p, username: $u, otpChannel: $ch) }"""

CONSENT_INPUT = {
    "givenByRelation": "SELF",
    "givenOn": "2026-11-01",
    "expiresOn": "2027-11-01",
    "defaultGrant": {"participants": "READ"},
}
EVIL_EMAIL = "angriper@evil.example"
EVIL_MOBILE = "+4799999001"
CONFIRM_LINK = re.compile(
    r"https://plan\.kommune\.example/confirm-contact\?token=([A-Za-z0-9_\-]+)"
)
ANY_TOKEN_LINK = re.compile(r"\?token=")
NEW_PASSWORD = "Sjøsprøyt-Lofoten73"


@dataclass
class World:
    """One active plan with consent: owner Ingrid, coordinator Ola, relative Rune (SMS codes);
    the coordinating unit that made the plan."""

    gateway: Gateway
    smtp: Mailbox
    sms: SmsGateway
    users: dict[str, User]
    tokens: dict[str, str]
    plan_id: str = ""

    async def post(
        self, who: str | None, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        token = self.tokens[who] if who else None
        return await self.gateway.client.post(query, variables, token=token)

    def pid(self, who: str) -> str:
        return str(self.users[who].person_id)

    def mails_to(self, address: str) -> list[str]:
        return self.smtp.bodies_to(address)

    def texts_to(self, number: str) -> list[str]:
        return [str(m["text"]) for m in self.sms.received if m["to"] == number]

    async def contact_in_db(self, who: str) -> tuple[Any, ...]:
        """persons.email/mobile and accounts.confirmed_email/mobile of one user."""
        async with self.gateway.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT p.email, p.mobile, a.confirmed_email, a.confirmed_mobile"
                " FROM persons p JOIN accounts a ON a.person_id = p.id WHERE p.id = $1",
                self.users[who].person_id,
            )
        assert row is not None
        return tuple(row)


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


@pytest.fixture
async def world(gateway: Gateway, smtp: Mailbox, sms: SmsGateway) -> World:
    pool = gateway.pool
    people: dict[str, dict[str, Any]] = {
        "enhet": {"roles": ("COORDINATING_UNIT",)},
        "ingrid": {"first_name": "Ingrid", "last_name": "Berg", "mobile": "+4791000001"},
        "ola": {"first_name": "Ola", "last_name": "Nordby", "mobile": "+4791000002"},
        "rune": {
            "first_name": "Rune",
            "last_name": "Dahl",
            "mobile": "+4791000003",
            "channel": "SMS",
        },
    }
    users = {name: await make_user(pool, name, **kw) for name, kw in people.items()}
    tokens = {name: await session_for(pool, u) for name, u in users.items()}
    w = World(gateway, smtp, sms, users, tokens)
    created = await w.post(
        "enhet",
        CREATE_PLAN,
        {
            "in": {
                "ownerId": w.pid("ingrid"),
                "shortName": "Ingrids plan",
                "type": "IP",
                "startDate": "2026-11-01",
                "coordinatorId": w.pid("ola"),
            }
        },
    )
    w.plan_id = ok(created)["createPlan"]["id"]
    consent = CONSENT_INPUT | {"givenById": w.pid("ingrid")}
    ok(await w.post("ola", RECORD_CONSENT, {"p": w.plan_id, "in": consent}))
    ok(await w.post("ola", ADD, {"p": w.plan_id, "who": w.pid("rune"), "role": "RELATIVE"}))
    await gateway.deliver()  # what building the plan sent
    smtp.messages.clear()
    sms.received.clear()
    return w


async def log_in_by_code(w: World, user: User, *, expect_channel: str) -> str:
    """The holder logs in; the code is read where it went (their confirmed address)."""
    await w.gateway.deliver()  # whatever was waiting, so that the next delivery is the code
    body = await w.gateway.client.post(LOGIN, {"u": user.username, "p": user.password})
    challenge = ok(body)["login"]
    assert challenge["channel"] == expect_channel, challenge
    assert await w.gateway.deliver() == 1
    if expect_channel == "EMAIL":
        assert user.email is not None
        text = w.mails_to(user.email)[-1]
    else:
        assert user.mobile is not None
        text = w.texts_to(user.mobile)[-1]
    body = await w.gateway.client.post(
        VERIFY, {"c": challenge["challengeId"], "code": six_digit_code(text)}
    )
    token: str = ok(body)["verifyLoginCode"]["token"]
    return token


def confirm_token(text: str) -> str:
    match = CONFIRM_LINK.search(text)
    assert match, text
    return match.group(1)


# --- the attack -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attacker", "victim"),
    [
        ("ingrid", "rune"),  # the owner against a relative
        ("ola", "rune"),  # the coordinator against a relative
        ("ingrid", "ola"),  # the owner against the coordinator
    ],
)
async def test_takeover_through_contact_data_fails(
    world: World, attacker: str, victim: str
) -> None:
    w = world
    target = w.users[victim]
    assert target.email and target.mobile
    channel = "SMS" if victim == "rune" else "EMAIL"
    before = await w.contact_in_db(victim)
    assert before == (target.email, target.mobile, target.email, target.mobile)

    # 1. The attacker puts their own address and number on the victim. Their other edit
    # applies at once; the contact data does not.
    body = await w.post(
        attacker,
        UPDATE_PERSON,
        {
            "id": w.pid(victim),
            "in": {"email": EVIL_EMAIL, "mobile": EVIL_MOBILE, "workplace": "Et annet sted"},
        },
    )
    row = ok(body)["updatePerson"]
    assert row["workplace"] == "Et annet sted"
    assert (row["email"], row["mobile"]) == (target.email, target.mobile)
    assert await w.contact_in_db(victim) == before

    # 2. A password reset asked for by the victim's username and by the attacker's address.
    for value in (target.username, EVIL_EMAIL, EVIL_EMAIL.upper()):
        assert ok(await w.post(None, REQUEST_RESET, {"v": value})) == {"requestPasswordReset": True}
    await w.gateway.deliver()

    # The attacker's address got one confirmation link and nothing else; their number the
    # same by SMS. Neither carries a code or a reset link.
    [evil_mail] = w.mails_to(EVIL_EMAIL)
    [evil_text] = w.texts_to(EVIL_MOBILE)
    for text in (evil_mail, evil_text):
        assert CONFIRM_LINK.search(text), text
        assert len(ANY_TOKEN_LINK.findall(text)) == 1
        assert "reset-password" not in text and "set-password" not in text
        assert not re.search(r"(?<!\d)\d{6}(?!\d)", CONFIRM_LINK.sub("", text)), text
    # The victim heard of both requests at the confirmed address and number, and got the
    # one reset link (asked for by username).
    to_victim = w.mails_to(target.email)
    assert sum("e-postadressen" in t for t in to_victim) == 1
    assert sum("mobilnummeret" in t for t in to_victim) == 1
    assert sum("reset-password?token=" in t for t in to_victim) == 1
    assert any("plangruppe" in t for t in w.texts_to(target.mobile))
    for text in [*to_victim, evil_mail, evil_text]:
        assert "Ingrids plan" not in text  # never plan content

    # The holder sees what waits for them; the attacker never sees the pending address.
    mine = ok(await w.post(victim, MY_PENDING))["me"]
    assert sorted((c["field"], c["newValue"]) for c in mine["pendingContactChanges"]) == [
        ("EMAIL", EVIL_EMAIL),
        ("MOBILE", EVIL_MOBILE),
    ]
    seen = await w.post(attacker, PENDING, {"id": w.pid(victim)})
    assert seen["data"]["person"]["pendingContactChanges"] is None
    assert EVIL_EMAIL not in str(seen) and EVIL_MOBILE not in str(seen)
    assert error_codes(seen) == ["FORBIDDEN"]

    # 3. The attacker opens the links: not logged in, then in their own session. Refused,
    # and a link opened by another account is dead, even for the holder.
    for link_text in (evil_mail, evil_text):
        token = confirm_token(link_text)
        assert error_codes(await w.post(None, CONFIRM, {"t": token})) == ["UNAUTHENTICATED"]
        refused = await w.post(attacker, CONFIRM, {"t": token})
        assert error_codes(refused) == ["FORBIDDEN"]
        assert refused["errors"][0]["extensions"]["reason"] == "ROLE_REQUIRED"
        assert refused["data"] is None
        assert error_codes(await w.post(victim, CONFIRM, {"t": token})) == ["CODE_EXPIRED"]
    assert await w.contact_in_db(victim) == before
    mine = ok(await w.post(victim, MY_PENDING))["me"]
    assert mine["pendingContactChanges"] == []

    # 4. The victim logs in: the code goes to the confirmed address or number, the account
    # stays theirs.
    session = await log_in_by_code(w, target, expect_channel=channel)
    body = await w.gateway.client.post("{ me { id email } }", token=session)
    assert ok(body)["me"] == {"id": w.pid(victim), "email": target.email}

    # Nothing more ever reached the attacker.
    await w.gateway.deliver()
    assert len(w.mails_to(EVIL_EMAIL)) == 1
    assert len(w.texts_to(EVIL_MOBILE)) == 1
    async with w.gateway.pool.acquire() as conn:
        sent_to_attacker = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE recipient IN ($1, $2)", EVIL_EMAIL, EVIL_MOBILE
        )
        audited = await conn.fetch(
            "SELECT action FROM audit_log WHERE target = $1 AND action LIKE 'contact.%'"
            " ORDER BY id",
            w.pid(victim),
        )
    assert sent_to_attacker == 2
    assert [r["action"] for r in audited] == [
        "contact.change_requested",
        "contact.change_requested",
        "contact.confirm_refused",
        "contact.confirm_refused",
    ]


# --- the holder's own change ------------------------------------------------------------------


async def test_holder_confirms_own_new_email_then_codes_go_there(world: World) -> None:
    w = world
    ola = w.users["ola"]
    old, new = str(ola.email), "ola.nordby@ny.example"

    row = ok(await w.post("ola", UPDATE_PERSON, {"id": w.pid("ola"), "in": {"email": new}}))
    assert row["updatePerson"]["email"] == old  # not yet
    mine = ok(await w.post("ola", MY_PENDING))["me"]
    assert mine["email"] == old
    assert mine["pendingContactChanges"] == [{"field": "EMAIL", "newValue": new}]
    # The link to the new address; a notice by mail and by SMS to the confirmed ones.
    assert await w.gateway.deliver() == 3
    [link_mail] = w.mails_to(new)
    [notice] = w.mails_to(old)
    assert "e-postadressen" in notice and "?token=" not in notice
    [sms_notice] = w.texts_to(str(ola.mobile))
    assert "e-postadressen" in sms_notice and "?token=" not in sms_notice

    # Until confirmed, codes and reset links keep going to the old address.
    assert ok(await w.post(None, REQUEST_RESET, {"v": new})) == {"requestPasswordReset": True}
    assert await w.gateway.deliver() == 0
    await log_in_by_code(w, ola, expect_channel="EMAIL")
    assert len(w.mails_to(new)) == 1

    # Ola confirms in his session.
    body = ok(await w.post("ola", CONFIRM, {"t": confirm_token(link_mail)}))
    assert body["confirmContactChange"] == {
        "id": w.pid("ola"),
        "email": new,
        "mobile": ola.mobile,
        "pendingContactChanges": [],
    }
    assert await w.contact_in_db("ola") == (new, ola.mobile, new, ola.mobile)
    assert await w.gateway.deliver() == 1
    assert "e-postadressen" in w.mails_to(old)[-1]  # the old address hears it changed
    # The link works once.
    again = await w.post("ola", CONFIRM, {"t": confirm_token(link_mail)})
    assert error_codes(again) == ["CODE_EXPIRED"]

    # From now on the new address gets the codes and the reset links; the old one nothing.
    sent_to_old = len(w.mails_to(old))
    moved = User(ola.person_id, ola.account_id, ola.username, new, ola.mobile, PASSWORD)
    await log_in_by_code(w, moved, expect_channel="EMAIL")
    for value in (new, old):
        assert ok(await w.post(None, REQUEST_RESET, {"v": value})) == {"requestPasswordReset": True}
    assert await w.gateway.deliver() == 1
    assert "reset-password?token=" in w.mails_to(new)[-1]
    assert len(w.mails_to(old)) == sent_to_old
    async with w.gateway.pool.acquire() as conn:
        actions = [
            r["action"]
            for r in await conn.fetch(
                "SELECT action FROM audit_log WHERE target = $1 AND action LIKE 'contact.%'"
                " ORDER BY id",
                w.pid("ola"),
            )
        ]
    assert actions == ["contact.change_requested", "contact.confirmed"]


async def test_holder_confirms_own_new_mobile_then_sms_codes_go_there(world: World) -> None:
    w = world
    rune = w.users["rune"]
    old, new = str(rune.mobile), "+4791000077"
    ok(await w.post("rune", UPDATE_PERSON, {"id": w.pid("rune"), "in": {"mobile": "910 00 077"}}))
    assert await w.gateway.deliver() == 3  # link by SMS to new; notice by SMS to old and mail
    [link_text] = w.texts_to(new)
    assert "mobilnummeret" in w.mails_to(str(rune.email))[-1]
    await log_in_by_code(w, rune, expect_channel="SMS")  # still the old number
    assert len(w.texts_to(new)) == 1

    body = ok(await w.post("rune", CONFIRM, {"t": confirm_token(link_text)}))
    assert body["confirmContactChange"]["mobile"] == new
    assert await w.contact_in_db("rune") == (rune.email, new, rune.email, new)
    sent_to_old = len(w.texts_to(old))
    moved = User(rune.person_id, rune.account_id, rune.username, rune.email, new, PASSWORD)
    await log_in_by_code(w, moved, expect_channel="SMS")
    assert len(w.texts_to(old)) == sent_to_old


async def test_a_confirmation_link_expires_and_a_newer_confirmation_cancels_the_rest(
    world: World,
) -> None:
    w = world
    ingrid = w.users["ingrid"]
    for address in ("forste@ny.example", "andre@ny.example"):
        ok(await w.post("ingrid", UPDATE_PERSON, {"id": w.pid("ingrid"), "in": {"email": address}}))
    # The coordinator asks for a third address too (a different requester: kept apart).
    ok(await w.post("ola", UPDATE_PERSON, {"id": w.pid("ingrid"), "in": {"email": EVIL_EMAIL}}))
    await w.gateway.deliver()
    first, second = (
        confirm_token(w.mails_to(a)[0]) for a in ("forste@ny.example", "andre@ny.example")
    )
    third = confirm_token(w.mails_to(EVIL_EMAIL)[0])
    # Ingrid's second request replaced her first.
    assert error_codes(await w.post("ingrid", CONFIRM, {"t": first})) == ["CODE_EXPIRED"]
    mine = ok(await w.post("ingrid", MY_PENDING))["me"]["pendingContactChanges"]
    assert sorted(c["newValue"] for c in mine) == sorted(["andre@ny.example", EVIL_EMAIL])

    ok(await w.post("ingrid", CONFIRM, {"t": second}))
    # Confirming one cancels the other open change of the same field.
    assert error_codes(await w.post("ingrid", CONFIRM, {"t": third})) == ["CODE_EXPIRED"]
    assert (await w.contact_in_db("ingrid"))[0::2] == ("andre@ny.example", "andre@ny.example")

    # A link is good for 7 days.
    ok(
        await w.post(
            "ingrid", UPDATE_PERSON, {"id": w.pid("ingrid"), "in": {"email": "tredje@ny.example"}}
        )
    )
    await w.gateway.deliver()
    late = confirm_token(w.mails_to("tredje@ny.example")[0])
    w.gateway.clock.advance(days=7, minutes=1)
    w.tokens["ingrid"] = await session_for(w.gateway.pool, ingrid, w.gateway.clock.now)
    assert error_codes(await w.post("ingrid", CONFIRM, {"t": late})) == ["CODE_EXPIRED"]
    assert (await w.contact_in_db("ingrid"))[0] == "andre@ny.example"
    assert ok(await w.post("ingrid", MY_PENDING))["me"]["pendingContactChanges"] == []


# --- invitations ------------------------------------------------------------------------------


async def test_invitation_goes_to_the_typed_address_and_confirms_only_that(world: World) -> None:
    w = world
    typed_email, typed_mobile = "pia@example.no", "+4791000055"
    body = await w.post(
        "ola",
        CREATE_PERSON,
        {
            "in": {
                "firstName": "Pia",
                "lastName": "Lund",
                "email": typed_email,
                "mobile": typed_mobile,
            }
        },
    )
    pia_id = ok(body)["createPerson"]["id"]
    ok(await w.post("ola", ADD, {"p": w.plan_id, "who": pia_id, "role": "SERVICE_PROVIDER"}))
    await w.gateway.deliver()  # Pia hears she was added (not a secret, no account yet)
    w.smtp.messages.clear()
    body = await w.post("ola", CREATE_ACCOUNT, {"p": pia_id, "u": "pia", "ch": "SMS"})
    assert ok(body) == {"createAccount": True}
    # The first invitation goes to the address the coordinator typed, audited with it; the
    # typed mobile gets a confirmation link, not a code.
    assert await w.gateway.deliver() == 2
    [invitation] = w.mails_to(typed_email)
    assert "set-password?token=" in invitation
    [mobile_link] = w.texts_to(typed_mobile)
    assert CONFIRM_LINK.search(mobile_link)
    async with w.gateway.pool.acquire() as conn:
        detail = await conn.fetchval(
            "SELECT detail FROM audit_log WHERE action = 'account.created' AND target = $1",
            pia_id,
        )
        confirmed = await conn.fetchrow(
            "SELECT confirmed_email, confirmed_mobile FROM accounts WHERE person_id = $1",
            uuid.UUID(pia_id),
        )
    assert detail["invitedAddress"] == typed_email
    assert tuple(confirmed) == (None, None)  # nothing confirmed before the link is used

    # Before Pia uses it, the coordinator swaps her address: pending, and it stays pending.
    ok(await w.post("ola", UPDATE_PERSON, {"id": pia_id, "in": {"email": EVIL_EMAIL}}))
    await w.gateway.deliver()
    assert len(w.mails_to(EVIL_EMAIL)) == 1
    assert w.mails_to(typed_email) == [invitation]  # nothing confirmed to notify yet
    token = re.search(r"\?token=([A-Za-z0-9_\-]+)", invitation)
    assert token
    assert ok(await w.post(None, RESET, {"t": token.group(1), "p": NEW_PASSWORD})) == {
        "resetPassword": True
    }
    async with w.gateway.pool.acquire() as conn:
        after = await conn.fetchrow(
            "SELECT p.email, a.confirmed_email, a.confirmed_mobile FROM persons p"
            " JOIN accounts a ON a.person_id = p.id WHERE p.id = $1",
            uuid.UUID(pia_id),
        )
    assert tuple(after) == (typed_email, typed_email, None)

    # A reset by the attacker's address sends nothing; the SMS channel is not usable until
    # the mobile is confirmed, so the code goes by e-mail to the invited address.
    assert ok(await w.post(None, REQUEST_RESET, {"v": EVIL_EMAIL})) == {
        "requestPasswordReset": True
    }
    assert await w.gateway.deliver() == 0
    pia = User(uuid.UUID(pia_id), uuid.UUID(int=0), "pia", typed_email, typed_mobile, NEW_PASSWORD)
    w.tokens["pia"] = await log_in_by_code(w, pia, expect_channel="EMAIL")
    # The coordinator cannot confirm Pia's mobile for her; Pia can.
    refused = await w.post("ola", CONFIRM, {"t": confirm_token(mobile_link)})
    assert error_codes(refused) == ["FORBIDDEN"]
    assert error_codes(await w.post("pia", CONFIRM, {"t": confirm_token(mobile_link)})) == [
        "CODE_EXPIRED"
    ]
    # A fresh request, confirmed by Pia herself, makes SMS codes work.
    ok(await w.post("pia", UPDATE_PERSON, {"id": pia_id, "in": {"mobile": typed_mobile}}))
    await w.gateway.deliver()
    body = ok(await w.post("pia", CONFIRM, {"t": confirm_token(w.texts_to(typed_mobile)[-1])}))
    assert body["confirmContactChange"]["mobile"] == typed_mobile
    await log_in_by_code(w, pia, expect_channel="SMS")
    assert len(w.mails_to(EVIL_EMAIL)) == 1


async def test_contact_of_a_person_without_account_changes_at_once(world: World) -> None:
    w = world
    body = await w.post(
        "ola", CREATE_PERSON, {"in": {"firstName": "Per", "lastName": "Uten", "email": "per@a.no"}}
    )
    per_id = ok(body)["createPerson"]["id"]
    ok(await w.post("ola", ADD, {"p": w.plan_id, "who": per_id, "role": "RELATIVE"}))
    async with w.gateway.pool.acquire() as conn:
        assert await persons.by_id(conn, uuid.UUID(per_id)) is not None
    body = await w.post("ola", UPDATE_PERSON, {"id": per_id, "in": {"email": "per@b.no"}})
    assert ok(body)["updatePerson"]["email"] == "per@b.no"
    await w.gateway.deliver()
    for address in ("per@a.no", "per@b.no"):
        assert all("?token=" not in t for t in w.mails_to(address))


async def test_removing_a_holders_mobile_waits_for_the_holder_and_the_email_stays(
    world: World,
) -> None:
    w = world
    rune = w.users["rune"]
    assert rune.email and rune.mobile
    # Nobody can take away an account holder's e-mail: links and notices go there.
    for who in ("ola", "rune"):
        body = await w.post(who, UPDATE_PERSON, {"id": w.pid("rune"), "in": {"email": None}})
        assert error_codes(body) == ["BAD_USER_INPUT"]
        assert body["errors"][0]["extensions"]["field"] == "email"
    # The coordinator removes Rune's mobile: it stays until Rune confirms, and his SMS codes
    # keep coming to it.
    row = ok(await w.post("ola", UPDATE_PERSON, {"id": w.pid("rune"), "in": {"mobile": None}}))
    assert row["updatePerson"]["mobile"] == rune.mobile
    assert await w.gateway.deliver() == 2  # the link to Rune's confirmed e-mail; an SMS notice
    [link_mail] = w.mails_to(rune.email)
    assert "fjerne mobilnummeret" in link_mail
    await log_in_by_code(w, rune, expect_channel="SMS")
    # Rune confirms: the mobile is gone, and codes go by e-mail to his confirmed address.
    body = ok(await w.post("rune", CONFIRM, {"t": confirm_token(link_mail)}))
    assert body["confirmContactChange"]["mobile"] is None
    assert await w.contact_in_db("rune") == (rune.email, None, rune.email, None)
    await log_in_by_code(w, rune, expect_channel="EMAIL")
