"""Login throttling that an attacker cannot turn against the account holder (issue 9).

Failed logins are counted per (submitted username, client address) and per client address,
the same for known and unknown names; an account has only a ceiling of 100 consecutive
failures, past which the password alone opens no challenge until the holder sets a new one
through the reset link mailed to their confirmed address. requestPasswordReset is throttled
per address and per account and always answers true.

The gateway under test sees every HTTP client as 127.0.0.1: that is the holder's own address
here. Attempts from other addresses run through `schema.execute` with a Context whose
client_addr is set, built as gateway/app.py builds it. Time moves with the FakeClock.
"""

from __future__ import annotations

import asyncio
import functools
import unicodedata
from typing import Any

import strawberry

from resolvers import jobs
from resolvers.context import Context
from resolvers.loaders import Loaders
from schema import build_schema
from tests.conftest import Gateway, Mailbox
from tests.support import error_codes, make_user, token_from_link
from tests.test_auth_rules import (
    LOGIN,
    NEW_PASSWORD,
    REQUEST_RESET,
    RESET,
    VERIFY,
    assert_code,
    assert_no_leak,
    gql,
    log_in,
    mails_to,
    me_id,
    other_code,
    start_login,
)

WRONG = "Feil-Passord-123"
BLOCK_SUBJECT = "Innlogging med passord er sperret"


@functools.cache
def _schema() -> strawberry.Schema:
    return build_schema()


async def from_addr(
    gateway: Gateway, addr: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """One anonymous request as if from ``addr``: the resolvers see that client address."""
    context = Context(
        pool=gateway.pool,
        settings=gateway.settings,
        clock=gateway.clock,
        viewer=None,
        client_addr=addr,
        loaders=Loaders(gateway.pool, None),
    )
    result = await _schema().execute(query, variable_values=variables, context_value=context)
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [e.formatted for e in result.errors]
    assert_no_leak(body)
    return body


def attacker(n: int) -> str:
    """The n-th of many addresses an attacker rotates through (TEST-NET-3)."""
    return f"203.0.113.{n % 250 + 1}" if n < 250 else f"198.51.100.{n % 250 + 1}"


async def scalar(gateway: Gateway, sql: str, *args: Any) -> Any:
    async with gateway.pool.acquire() as conn:
        return await conn.fetchval(sql, *args)


# --- the holder is not locked out by anyone else --------------------------------------------


async def test_failures_from_other_addresses_do_not_lock_the_holder_out(
    gateway: Gateway, smtp: Mailbox
) -> None:
    user = await make_user(gateway.pool, "astrid")
    for n in range(5):  # 50 wrong passwords on her name within minutes, from 5 addresses
        for _ in range(10):
            body = await from_addr(gateway, attacker(n), LOGIN, {"u": "astrid", "p": WRONG})
            assert_code(body, "INVALID_CREDENTIALS")
            gateway.clock.advance(seconds=5)
        # Each of those addresses is throttled for her name, even with the right password.
        body = await from_addr(gateway, attacker(n), LOGIN, {"u": "astrid", "p": user.password})
        assert_code(body, "RATE_LIMITED")

    # From her own address the right password opens a challenge, and the code a session.
    token = await log_in(gateway, smtp, user)
    assert await me_id(gateway, token) == str(user.person_id)


async def test_ten_failures_per_name_and_address_then_rate_limited(
    gateway: Gateway, smtp: Mailbox
) -> None:
    user = await make_user(gateway.pool, "bjarne")
    for _ in range(10):  # one every 30 seconds: the first leaves the window 15 minutes on
        assert_code(await gql(gateway, LOGIN, {"u": "bjarne", "p": WRONG}), "INVALID_CREDENTIALS")
        gateway.clock.advance(seconds=30)

    body = await gql(gateway, LOGIN, {"u": "bjarne", "p": user.password})
    error = assert_code(body, "RATE_LIMITED")
    assert body["data"] is None
    assert error["extensions"]["retryAfterSeconds"] == 10 * 60
    # The same name typed differently is the same name.
    for variant in (" BJARNE ", "Bjarne"):
        assert_code(await gql(gateway, LOGIN, {"u": variant, "p": WRONG}), "RATE_LIMITED")

    # Only that (name, address): another name from here, and this name from elsewhere, are
    # ordinary failures.
    assert_code(await gql(gateway, LOGIN, {"u": "noen.andre", "p": WRONG}), "INVALID_CREDENTIALS")
    body = await from_addr(gateway, attacker(0), LOGIN, {"u": "bjarne", "p": WRONG})
    assert_code(body, "INVALID_CREDENTIALS")

    # A second before the first failure leaves the window: still limited, for one second.
    gateway.clock.advance(seconds=10 * 60 - 1)
    error = assert_code(await gql(gateway, LOGIN, {"u": "bjarne", "p": WRONG}), "RATE_LIMITED")
    assert error["extensions"]["retryAfterSeconds"] == 1
    gateway.clock.advance(seconds=1)
    token = await log_in(gateway, smtp, user)
    assert await me_id(gateway, token) == str(user.person_id)


async def test_fifty_failures_per_address_then_rate_limited(
    gateway: Gateway, smtp: Mailbox
) -> None:
    user = await make_user(gateway.pool, "cecilie")
    addr = attacker(7)
    for i in range(50):  # five tries at each of ten names: no name reaches its own limit
        body = await from_addr(gateway, addr, LOGIN, {"u": f"navn{i % 10}", "p": WRONG})
        assert_code(body, "INVALID_CREDENTIALS")
        gateway.clock.advance(seconds=6)

    for name, password in (("helt.ny", WRONG), ("cecilie", user.password)):
        body = await from_addr(gateway, addr, LOGIN, {"u": name, "p": password})
        error = assert_code(body, "RATE_LIMITED")
        assert error["extensions"]["retryAfterSeconds"] == 15 * 60 - 50 * 6
    # Nobody else's address is affected.
    assert await me_id(gateway, await log_in(gateway, smtp, user)) == str(user.person_id)


async def test_attempts_sent_at_once_cannot_pass_the_limit_together(gateway: Gateway) -> None:
    await make_user(gateway.pool, "dorte")
    bodies = await asyncio.gather(
        *(gql(gateway, LOGIN, {"u": "dorte", "p": WRONG}) for _ in range(20))
    )
    codes = sorted(code for body in bodies for code in error_codes(body))
    assert codes == ["INVALID_CREDENTIALS"] * 10 + ["RATE_LIMITED"] * 10
    failures = "SELECT count(*) FROM login_attempts WHERE NOT success AND username_key = $1"
    assert await scalar(gateway, failures, "dorte") == 10


# --- known and unknown names alike ----------------------------------------------------------


async def test_known_and_unknown_names_get_the_same_answers_and_the_same_throttle_state(
    gateway: Gateway,
) -> None:
    await make_user(gateway.pool, "dagny")
    names = ("dagny", "ukjent.navn")
    answers: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for _ in range(12):
        for name in names:
            answers[name].append(await gql(gateway, LOGIN, {"u": name, "p": WRONG}))
        gateway.clock.advance(seconds=20)

    assert answers["dagny"] == answers["ukjent.navn"]
    assert [error_codes(b) for b in answers["dagny"]] == (
        [["INVALID_CREDENTIALS"]] * 10 + [["RATE_LIMITED"]] * 2
    )
    async with gateway.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT username_key, at, client_addr, success FROM login_attempts ORDER BY id"
        )
    state = {
        name: [(r["at"], r["client_addr"], r["success"]) for r in rows if r["username_key"] == name]
        for name in names
    }
    assert len(rows) == 20
    assert state["dagny"] == state["ukjent.navn"]


async def test_an_unknown_name_is_one_name_however_it_is_typed(gateway: Gateway) -> None:
    nfc = unicodedata.normalize("NFC", "åse.ødegård")
    nfd = unicodedata.normalize("NFD", "Åse.Ødegård")
    variants = [nfd, f" {nfc} ", nfc.upper(), unicodedata.normalize("NFD", nfc.upper()), nfc]
    for i in range(10):
        body = await gql(gateway, LOGIN, {"u": variants[i % len(variants)], "p": WRONG})
        assert_code(body, "INVALID_CREDENTIALS")
    assert_code(await gql(gateway, LOGIN, {"u": nfc, "p": WRONG}), "RATE_LIMITED")
    assert await scalar(gateway, "SELECT count(DISTINCT username_key) FROM login_attempts") == 1


# --- the one-time code step -----------------------------------------------------------------


async def test_wrong_codes_are_throttled_per_account_and_address(
    gateway: Gateway, smtp: Mailbox
) -> None:
    user = await make_user(gateway.pool, "frida")
    challenges = [await start_login(gateway, smtp, user, user.password) for _ in range(3)]
    for challenge_id, code in challenges[:2]:  # five wrong codes kill each challenge
        for _ in range(5):
            body = await gql(gateway, VERIFY, {"c": challenge_id, "code": other_code(code)})
            assert_code(body, "INVALID_CREDENTIALS")

    # Ten wrong codes from this address: even the right code is refused here for now...
    challenge_id, code = challenges[2]
    error = assert_code(
        await gql(gateway, VERIFY, {"c": challenge_id, "code": code}), "RATE_LIMITED"
    )
    assert 0 < error["extensions"]["retryAfterSeconds"] <= 15 * 60
    # ...and so is the password step for her name from this address.
    assert_code(await gql(gateway, LOGIN, {"u": "frida", "p": user.password}), "RATE_LIMITED")
    # From another address the open challenge still works.
    body = await from_addr(gateway, attacker(3), VERIFY, {"c": challenge_id, "code": code})
    assert "errors" not in body, body
    assert body["data"]["verifyLoginCode"]["person"]["id"] == str(user.person_id)


# --- the per-account ceiling ----------------------------------------------------------------


async def test_one_hundred_failures_in_a_row_need_a_reset_link_and_the_holder_is_told(
    gateway: Gateway, smtp: Mailbox
) -> None:
    user = await make_user(gateway.pool, "eirik")
    assert user.email
    # Someone changed the person's e-mail; the account's confirmed address stays the holder's.
    async with gateway.pool.acquire() as conn:
        await conn.execute(
            "UPDATE persons SET email = 'angriper@example.org' WHERE id = $1", user.person_id
        )

    for n in range(99):  # from rotating addresses: no address reaches its own limit
        body = await from_addr(gateway, attacker(n), LOGIN, {"u": "eirik", "p": f"Gjett-{n}-A"})
        assert_code(body, "INVALID_CREDENTIALS")
        gateway.clock.advance(seconds=10)
    assert await gateway.deliver() == 0  # 99: nothing yet

    wrong = await from_addr(gateway, attacker(99), LOGIN, {"u": "eirik", "p": "Gjett-99-A"})
    assert_code(wrong, "INVALID_CREDENTIALS")
    assert await gateway.deliver() == 1
    assert mails_to(smtp, "angriper@example.org") == []
    [mail] = mails_to(smtp, user.email)
    assert BLOCK_SUBJECT in str(mail["Subject"])
    content = mail.get_content()
    assert "100 mislykkede" in content and "passord" in content
    assert content.count("https://") == 1
    reset_token = token_from_link(content)

    # Now the right password answers exactly as a wrong one, from anywhere, and sends nothing.
    right = await gql(gateway, LOGIN, {"u": "eirik", "p": user.password})
    assert right == await gql(gateway, LOGIN, {"u": "eirik", "p": WRONG})
    assert right == await from_addr(gateway, attacker(500), LOGIN, {"u": "eirik", "p": WRONG})
    assert_code(right, "INVALID_CREDENTIALS")
    for n in range(5):  # more failures: still one mail
        await from_addr(gateway, attacker(600 + n), LOGIN, {"u": "eirik", "p": WRONG})
    assert await gateway.deliver() == 0
    assert await scalar(gateway, "SELECT count(*) FROM login_challenges") == 0
    blocked = "SELECT count(*) FROM audit_log WHERE action = 'login.password_blocked'"
    assert await scalar(gateway, blocked) == 1

    # The holder follows the link: the new password works, the block and the run are gone.
    assert await gql(gateway, RESET, {"t": reset_token, "p": NEW_PASSWORD}) == {
        "data": {"resetPassword": True}
    }
    run = "SELECT consecutive_failures FROM accounts WHERE id = $1"
    assert await scalar(gateway, run, user.account_id) == 0
    token = await log_in(gateway, smtp, user, NEW_PASSWORD)
    assert await me_id(gateway, token) == str(user.person_id)
    assert mails_to(smtp, "angriper@example.org") == []


async def test_a_challenge_opened_before_the_block_does_not_outlive_it(
    gateway: Gateway, smtp: Mailbox
) -> None:
    user = await make_user(gateway.pool, "gunhild")
    challenge_id, code = await start_login(gateway, smtp, user, user.password)
    for n in range(100):
        await from_addr(gateway, attacker(n), LOGIN, {"u": "gunhild", "p": WRONG})
    assert_code(await gql(gateway, VERIFY, {"c": challenge_id, "code": code}), "CODE_EXPIRED")


async def test_a_complete_login_ends_the_run_of_failures(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "halvor")
    for n in range(99):
        await from_addr(gateway, attacker(n), LOGIN, {"u": "halvor", "p": WRONG})
    await log_in(gateway, smtp, user)  # the holder logs in: the run starts again from 0
    for n in range(99):
        await from_addr(gateway, attacker(300 + n), LOGIN, {"u": "halvor", "p": WRONG})
    assert await me_id(gateway, await log_in(gateway, smtp, user)) == str(user.person_id)
    assert await scalar(gateway, "SELECT count(*) FROM audit_log WHERE action LIKE '%block%'") == 0


# --- requestPasswordReset -------------------------------------------------------------------


async def test_23_reset_requests_in_a_minute_send_three_mails_and_all_answer_true(
    gateway: Gateway, smtp: Mailbox
) -> None:
    user = await make_user(gateway.pool, "ingvild")
    assert user.email
    answers = []
    for _ in range(23):
        answers.append(await gql(gateway, REQUEST_RESET, {"v": "ingvild"}))
        gateway.clock.advance(seconds=2)
    assert all(a == {"data": {"requestPasswordReset": True}} for a in answers), answers
    assert await gateway.deliver() == 3
    assert len(mails_to(smtp, user.email)) == 3

    # Over the limit nothing is sent, and each refusal is in the audit log with its limit.
    async with gateway.pool.acquire() as conn:
        limits = await conn.fetch(
            "SELECT detail->>'limit' AS limit, count(*) AS n FROM audit_log"
            " WHERE action = 'password.reset_throttled' GROUP BY 1"
        )
    assert {r["limit"]: r["n"] for r in limits} == {"ACCOUNT": 7, "ADDRESS": 13}

    # From other addresses too: the account has had its three mails.
    for n in range(5):
        body = await from_addr(gateway, attacker(n), REQUEST_RESET, {"v": "ingvild"})
        assert body == {"data": {"requestPasswordReset": True}}
    assert await gateway.deliver() == 0

    # 29 minutes after the first mail the quota still refuses, and the newest link works:
    # the window is a link's lifetime, so a refused holder always has a working link.
    gateway.clock.advance(minutes=29, seconds=-46)
    assert await from_addr(gateway, attacker(9), REQUEST_RESET, {"v": "ingvild"}) == {
        "data": {"requestPasswordReset": True}
    }
    assert await gateway.deliver() == 0
    newest = token_from_link(mails_to(smtp, user.email)[-1].get_content())
    assert await gql(gateway, RESET, {"t": newest, "p": NEW_PASSWORD}) == {
        "data": {"resetPassword": True}
    }
    assert await gateway.deliver() == 1  # the notice that the password changed

    # Once the first mail is 30 minutes old, a mail may leave again.
    gateway.clock.advance(minutes=1)
    assert await from_addr(gateway, attacker(10), REQUEST_RESET, {"v": "ingvild"}) == {
        "data": {"requestPasswordReset": True}
    }
    assert await gateway.deliver() == 1
    assert "?token=" in mails_to(smtp, user.email)[-1].get_content()


async def test_reset_requests_are_limited_per_address(gateway: Gateway, smtp: Mailbox) -> None:
    users = [await make_user(gateway.pool, f"bruker{i}") for i in range(12)]
    for i in range(23):  # one address asking for twelve accounts in turn
        body = await gql(gateway, REQUEST_RESET, {"v": users[i % 12].username})
        assert body == {"data": {"requestPasswordReset": True}}
    assert await gateway.deliver() == 10
    # Another address is not held back by this one.
    body = await from_addr(gateway, attacker(1), REQUEST_RESET, {"v": users[11].username})
    assert body == {"data": {"requestPasswordReset": True}}
    assert await gateway.deliver() == 1
    # The first ten accounts asked for got their mail; the eleventh none, the twelfth one.
    assert [len(mails_to(smtp, str(u.email))) for u in users] == [1] * 10 + [0, 1]


async def test_throttle_rows_past_their_retention_are_pruned_and_newer_ones_kept(
    gateway: Gateway,
) -> None:
    """Every attempt adds a row; the hourly job drops them after 90 days (the retention of
    login attempts; the throttles themselves look back 30 minutes)."""
    await make_user(gateway.pool, "petter")
    for i in range(3):
        await from_addr(gateway, attacker(i), LOGIN, {"u": "petter", "p": WRONG})
        await from_addr(gateway, attacker(i), REQUEST_RESET, {"v": "petter"})
    gateway.clock.advance(days=91)
    await from_addr(gateway, attacker(9), LOGIN, {"u": "petter", "p": WRONG})
    await from_addr(gateway, attacker(9), REQUEST_RESET, {"v": "petter"})

    await jobs.purge_expired(gateway.pool, gateway.settings, gateway.clock)
    assert await scalar(gateway, "SELECT count(*) FROM login_attempts") == 1
    assert await scalar(gateway, "SELECT count(*) FROM password_reset_requests") == 1
    # The newest failure still counts: the address stays throttled as before.
    assert await scalar(gateway, "SELECT client_addr FROM login_attempts") == attacker(9)
