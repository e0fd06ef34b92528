"""DESIGN.md's login security rules, black-box over real HTTP, SMTP and PostgreSQL.

Throttling, the one-time code, sessions, password changes, the password policy, password
reset and invitations. Time moves with the FakeClock, never with sleeps. Every GraphQL
answer goes through `gql`, which also checks that no error shows SQL or a traceback.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from email.message import EmailMessage
from typing import Any

import pytest

from db import persons
from resolvers import passwords
from tests.conftest import Gateway, Mailbox
from tests.support import (
    PASSWORD,
    User,
    error_codes,
    make_user,
    only_error,
    six_digit_code,
    token_from_link,
)

LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { challengeId channel maskedDestination } }"""
VERIFY = """mutation($c: ID!, $code: String!) {
  verifyLoginCode(challengeId: $c, code: $code) { token person { id } } }"""
ME = "{ me { id firstName } }"
LOGOUT = "mutation { logout }"
CHANGE = """mutation($old: String!, $new: String!) {
  changePassword(currentPassword: $old, newPassword: $new) }"""
REQUEST_RESET = "mutation($v: String!) { requestPasswordReset(usernameOrEmail: $v) }"
RESET = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }"
CREATE_ACCOUNT = """mutation($p: ID!, $u: String!, $ch: OtpChannel!) {
  createAccount(personId: $p, username: $u, otpChannel: $ch) }"""

NEW_PASSWORD = "Sjøsprøyt-Lofoten73"
CODE_SUBJECT = "Engangskode"

# What a leaked database error or stack trace looks like in an error message.
_LEAKS = re.compile(
    r"traceback|File \"|line \d+, in |asyncpg|psycopg|postgres|sqlstate|"
    r"\bselect\b.+\bfrom\b|\binsert\s+into\b|\bupdate\b.+\bset\b|\bdelete\s+from\b|"
    r"\bwhere\b.+=|syntax error|relation \"|violates|constraint|login_attempts|"
    r"account_tokens|login_challenges|sessions\b.*\bid\b",
    re.IGNORECASE,
)


def assert_no_leak(body: dict[str, Any]) -> None:
    """No error carries SQL text, a table name or a stack trace, in message or extensions."""
    for error in body.get("errors") or []:
        text = json.dumps(error, ensure_ascii=False)
        assert not _LEAKS.search(text), error
        extensions = error.get("extensions") or {}
        assert not {"stacktrace", "exception", "traceback"} & set(extensions), error


async def gql(
    gateway: Gateway,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    body = await gateway.client.post(query, variables, token=token)
    assert_no_leak(body)
    return body


def mails_to(smtp: Mailbox, address: str) -> list[EmailMessage]:
    return [m for m in smtp.messages if address in str(m["To"])]


def code_mails(smtp: Mailbox, address: str) -> list[EmailMessage]:
    return [m for m in mails_to(smtp, address) if CODE_SUBJECT in str(m["Subject"])]


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def start_login(
    gateway: Gateway, smtp: Mailbox, user: User, password: str
) -> tuple[str, str]:
    """Password step: the challenge id and the code that arrived by real SMTP."""
    assert user.email
    before = len(code_mails(smtp, user.email))
    body = await gql(gateway, LOGIN, {"u": user.username, "p": password})
    assert "errors" not in body, body
    challenge_id: str = body["data"]["login"]["challengeId"]
    await gateway.deliver()
    new_mails = code_mails(smtp, user.email)[before:]
    assert len(new_mails) == 1, [str(m["Subject"]) for m in smtp.messages]
    return challenge_id, six_digit_code(new_mails[0].get_content())


async def log_in(gateway: Gateway, smtp: Mailbox, user: User, password: str | None = None) -> str:
    """login → deliver → newest code mail → verifyLoginCode → the session token."""
    challenge_id, code = await start_login(gateway, smtp, user, password or user.password)
    body = await gql(gateway, VERIFY, {"c": challenge_id, "code": code})
    assert "errors" not in body, body
    token: str = body["data"]["verifyLoginCode"]["token"]
    return token


async def me_id(gateway: Gateway, token: str) -> str | None:
    body = await gql(gateway, ME, token=token)
    assert "errors" not in body, body
    me = body["data"]["me"]
    return None if me is None else str(me["id"])


def assert_code(body: dict[str, Any], code: str) -> dict[str, Any]:
    error = only_error(body)
    assert error_codes(body) == [code], body
    return error


# --- throttling -----------------------------------------------------------------------------


async def test_eleventh_login_is_rate_limited_until_the_window_passes(
    gateway: Gateway, smtp: Mailbox
) -> None:
    user = await make_user(gateway.pool, "astrid")
    other = await make_user(gateway.pool, "bjarne")
    # Ten failures for this name from this address (the gateway sees 127.0.0.1), spread over
    # nine minutes. Other addresses are not held back: tests/test_login_throttle.py.
    for _ in range(10):
        body = await gql(gateway, LOGIN, {"u": "astrid", "p": "Wrong-Passord-1"})
        assert_code(body, "INVALID_CREDENTIALS")
        gateway.clock.advance(minutes=1)
    gateway.clock.advance(minutes=-1)  # the eleventh attempt comes with the tenth failure

    body = await gql(gateway, LOGIN, {"u": "astrid", "p": user.password})
    error = assert_code(body, "RATE_LIMITED")
    assert body["data"] is None
    retry = error["extensions"]["retryAfterSeconds"]
    assert isinstance(retry, int) and not isinstance(retry, bool)
    assert 0 < retry <= 15 * 60

    # Another name from the same address is not throttled by astrid's failures.
    assert await me_id(gateway, await log_in(gateway, smtp, other)) == str(other.person_id)

    # Hammering while locked out does not extend the lock (no permanent lock).
    gateway.clock.advance(minutes=5)
    for _ in range(10):
        body = await gql(gateway, LOGIN, {"u": "astrid", "p": "Wrong-Passord-1"})
        assert_code(body, "RATE_LIMITED")

    # 15 minutes and a second after the last real failure, the right password works again.
    gateway.clock.advance(minutes=10, seconds=1)
    token = await log_in(gateway, smtp, user)
    assert await me_id(gateway, token) == str(user.person_id)


async def test_failures_on_one_account_do_not_throttle_another(
    gateway: Gateway, smtp: Mailbox
) -> None:
    victim = await make_user(gateway.pool, "cecilie")
    bystander = await make_user(gateway.pool, "dagfinn")
    for _ in range(12):
        await gql(gateway, LOGIN, {"u": "cecilie", "p": "Wrong-Passord-1"})
    assert_code(await gql(gateway, LOGIN, {"u": "cecilie", "p": victim.password}), "RATE_LIMITED")
    # A wrong password on the other account is an ordinary failure, not RATE_LIMITED.
    assert_code(
        await gql(gateway, LOGIN, {"u": "dagfinn", "p": "Wrong-Passord-1"}),
        "INVALID_CREDENTIALS",
    )
    token = await log_in(gateway, smtp, bystander)
    assert await me_id(gateway, token) == str(bystander.person_id)


# --- the one-time code ----------------------------------------------------------------------


async def test_code_expires_after_five_minutes(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "eirik")
    challenge_id, code = await start_login(gateway, smtp, user, user.password)
    gateway.clock.advance(minutes=5, seconds=1)
    body = await gql(gateway, VERIFY, {"c": challenge_id, "code": code})
    assert_code(body, "CODE_EXPIRED")
    assert body["data"] is None


async def test_code_still_works_just_before_five_minutes(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "frida")
    challenge_id, code = await start_login(gateway, smtp, user, user.password)
    gateway.clock.advance(minutes=4, seconds=59)
    body = await gql(gateway, VERIFY, {"c": challenge_id, "code": code})
    assert "errors" not in body, body
    assert body["data"]["verifyLoginCode"]["person"]["id"] == str(user.person_id)


async def test_a_wrong_code_is_invalid_credentials(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "geir")
    challenge_id, code = await start_login(gateway, smtp, user, user.password)
    body = await gql(gateway, VERIFY, {"c": challenge_id, "code": other_code(code)})
    assert_code(body, "INVALID_CREDENTIALS")
    assert body["data"] is None
    # One wrong try does not kill the challenge: the right code still works.
    body = await gql(gateway, VERIFY, {"c": challenge_id, "code": code})
    assert "errors" not in body, body


async def test_five_wrong_codes_kill_the_challenge(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "hanne")
    challenge_id, code = await start_login(gateway, smtp, user, user.password)
    wrong = other_code(code)
    for _ in range(5):
        body = await gql(gateway, VERIFY, {"c": challenge_id, "code": wrong})
        assert_code(body, "INVALID_CREDENTIALS")
    body = await gql(gateway, VERIFY, {"c": challenge_id, "code": code})
    assert_code(body, "CODE_EXPIRED")
    assert body["data"] is None


async def test_four_wrong_codes_leave_the_challenge_alive(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "ivar")
    challenge_id, code = await start_login(gateway, smtp, user, user.password)
    for _ in range(4):
        assert_code(
            await gql(gateway, VERIFY, {"c": challenge_id, "code": other_code(code)}),
            "INVALID_CREDENTIALS",
        )
    body = await gql(gateway, VERIFY, {"c": challenge_id, "code": code})
    assert "errors" not in body, body


async def test_each_login_makes_a_new_code(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "jorunn")
    first_id, first_code = await start_login(gateway, smtp, user, user.password)
    second_id, second_code = await start_login(gateway, smtp, user, user.password)
    assert first_id != second_id
    assert len(mails_to(smtp, "jorunn@example.no")) == 2
    assert first_code != second_code
    # Each code is bound to its own challenge.
    assert_code(
        await gql(gateway, VERIFY, {"c": second_id, "code": first_code}), "INVALID_CREDENTIALS"
    )
    body = await gql(gateway, VERIFY, {"c": second_id, "code": second_code})
    assert "errors" not in body, body


# --- sessions -------------------------------------------------------------------------------


async def test_session_expires_after_30_idle_minutes(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "kjetil")
    token = await log_in(gateway, smtp, user)
    assert await me_id(gateway, token) == str(user.person_id)
    gateway.clock.advance(minutes=30, seconds=1)
    assert await me_id(gateway, token) is None
    assert_code(await gql(gateway, LOGOUT, token=token), "UNAUTHENTICATED")


async def test_activity_keeps_the_session_alive(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "liv")
    token = await log_in(gateway, smtp, user)
    for _ in range(9):  # three hours, used every 20 minutes
        gateway.clock.advance(minutes=20)
        assert await me_id(gateway, token) == str(user.person_id)
    gateway.clock.advance(minutes=29)
    body = await gql(gateway, LOGOUT, token=token)
    assert body == {"data": {"logout": True}}


async def test_a_session_is_touched_at_most_once_a_minute(gateway: Gateway, smtp: Mailbox) -> None:
    """Reading a session writes its row only when last_seen_at is a minute old: most
    requests are then read-only (no row version, no WAL flush); the idle limit counts from
    the last touch, so it can end a session up to a minute early, never late."""
    user = await make_user(gateway.pool, "tove")
    token = await log_in(gateway, smtp, user)

    async def row() -> tuple[object, object]:
        found = await gateway.pool.fetchrow(
            "SELECT s.xmin::text AS version, s.last_seen_at FROM sessions s"
            " JOIN accounts a ON a.id = s.account_id WHERE a.person_id = $1",
            user.person_id,
        )
        assert found is not None
        return found["version"], found["last_seen_at"]

    gateway.clock.advance(seconds=61)
    assert await me_id(gateway, token) == str(user.person_id)
    touched = await row()
    assert touched[1] == gateway.clock()
    gateway.clock.advance(seconds=30)
    assert await me_id(gateway, token) == str(user.person_id)
    assert await row() == touched  # within the minute: the row is not written
    gateway.clock.advance(seconds=31)
    assert await me_id(gateway, token) == str(user.person_id)
    assert (await row())[1] == gateway.clock()
    # Used 30 s after that touch, then idle: the limit counts from the touch.
    gateway.clock.advance(seconds=30)
    assert await me_id(gateway, token) == str(user.person_id)
    gateway.clock.advance(minutes=29, seconds=31)
    assert await me_id(gateway, token) is None


async def test_session_ends_after_12_hours_even_when_active(
    gateway: Gateway, smtp: Mailbox
) -> None:
    user = await make_user(gateway.pool, "magnus")
    token = await log_in(gateway, smtp, user)
    for _ in range(35):  # used every 20 minutes up to 11 h 40 min
        gateway.clock.advance(minutes=20)
        assert await me_id(gateway, token) == str(user.person_id)
    gateway.clock.advance(minutes=20, seconds=1)  # 12 h and a second after login
    assert await me_id(gateway, token) is None
    assert_code(await gql(gateway, LOGOUT, token=token), "UNAUTHENTICATED")


async def test_logout_ends_the_session_on_the_server(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "nora")
    token = await log_in(gateway, smtp, user)
    other = await log_in(gateway, smtp, user)
    assert await gql(gateway, LOGOUT, token=token) == {"data": {"logout": True}}
    assert await me_id(gateway, token) is None
    assert_code(await gql(gateway, LOGOUT, token=token), "UNAUTHENTICATED")
    # Only that session ended.
    assert await me_id(gateway, other) == str(user.person_id)


async def test_each_login_gives_a_new_token(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "olav")
    first = await log_in(gateway, smtp, user)
    second = await log_in(gateway, smtp, user)
    assert first != second
    assert await me_id(gateway, first) == await me_id(gateway, second) == str(user.person_id)


# --- changePassword -------------------------------------------------------------------------


async def test_change_password_with_a_wrong_current_password(
    gateway: Gateway, smtp: Mailbox
) -> None:
    user = await make_user(gateway.pool, "petra")
    token = await log_in(gateway, smtp, user)
    body = await gql(gateway, CHANGE, {"old": "Not-the-passord-9", "new": NEW_PASSWORD}, token)
    assert_code(body, "INVALID_CREDENTIALS")
    assert body["data"] is None
    # Nothing changed: the old password still opens a login, the new one does not.
    assert_code(await gql(gateway, LOGIN, {"u": "petra", "p": NEW_PASSWORD}), "INVALID_CREDENTIALS")
    await log_in(gateway, smtp, user)


async def test_change_password_needs_a_session(gateway: Gateway) -> None:
    await make_user(gateway.pool, "quintus")
    body = await gql(gateway, CHANGE, {"old": PASSWORD, "new": NEW_PASSWORD})
    assert_code(body, "UNAUTHENTICATED")


async def test_change_password_to_a_weak_one(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "ragna")
    token = await log_in(gateway, smtp, user)
    body = await gql(gateway, CHANGE, {"old": user.password, "new": "kort"}, token)
    error = assert_code(body, "WEAK_PASSWORD")
    assert sorted(error["extensions"]["rules"]) == ["DIGIT", "LENGTH", "UPPERCASE"]
    assert_code(await gql(gateway, LOGIN, {"u": "ragna", "p": "kort"}), "INVALID_CREDENTIALS")
    await log_in(gateway, smtp, user)


async def test_change_password_ends_the_other_sessions_and_sends_a_notice(
    gateway: Gateway, smtp: Mailbox
) -> None:
    user = await make_user(gateway.pool, "sindre", first_name="Sindre", last_name="Vik")
    current = await log_in(gateway, smtp, user)
    elsewhere = await log_in(gateway, smtp, user)
    await gateway.deliver()
    mails_before = len(mails_to(smtp, "sindre@example.no"))

    body = await gql(gateway, CHANGE, {"old": user.password, "new": NEW_PASSWORD}, current)
    assert body == {"data": {"changePassword": True}}

    assert await me_id(gateway, elsewhere) is None
    assert_code(await gql(gateway, LOGOUT, token=elsewhere), "UNAUTHENTICATED")
    assert await me_id(gateway, current) == str(user.person_id)

    assert await gateway.deliver() == 1
    [notice] = mails_to(smtp, "sindre@example.no")[mails_before:]
    text = f"{notice['Subject']}\n{notice.get_content()}"
    assert CODE_SUBJECT not in text
    assert "passord" in text.lower() and "endring" in text.lower()  # Norwegian
    assert "password" not in text.lower() and "change" not in text.lower()  # not English
    assert user.password not in text and NEW_PASSWORD not in text

    assert_code(
        await gql(gateway, LOGIN, {"u": "sindre", "p": user.password}), "INVALID_CREDENTIALS"
    )
    token = await log_in(gateway, smtp, user, NEW_PASSWORD)
    assert await me_id(gateway, token) == str(user.person_id)


# --- every password rule ----------------------------------------------------------------------

# The account is "fjellrev", the person Signe Haugland.
RULE_CASES = [
    ("Kx7mPqa", ["LENGTH"]),  # 7 characters
    (("Kx7mPqa9" * 17)[:129], ["LENGTH"]),  # 129 characters
    ("KX7MPQRZ9", ["LOWERCASE"]),
    ("kx7mpqrz9", ["UPPERCASE"]),
    ("KxmPqrZwv", ["DIGIT"]),
    ("Password1", ["COMMON"]),
    ("Fjellrev-Bakken7", ["CONTAINS_USERNAME"]),
    ("FJELLREV-bakken7", ["CONTAINS_USERNAME"]),
    ("Bakken-Haugland7", ["CONTAINS_NAME"]),
    ("Bakken-signe7", ["CONTAINS_NAME"]),
    ("x!", ["DIGIT", "LENGTH", "UPPERCASE"]),
    ("password", ["COMMON", "DIGIT", "UPPERCASE"]),
    ("fjellrevhaugland", ["CONTAINS_NAME", "CONTAINS_USERNAME", "DIGIT", "UPPERCASE"]),
    ("SIGNE", ["CONTAINS_NAME", "DIGIT", "LENGTH", "LOWERCASE"]),
]


@pytest.fixture
async def signe(gateway: Gateway, smtp: Mailbox) -> tuple[User, str]:
    user = await make_user(gateway.pool, "fjellrev", first_name="Signe", last_name="Haugland")
    return user, await log_in(gateway, smtp, user)


@pytest.mark.parametrize(("password", "rules"), RULE_CASES, ids=[r[0][:20] for r in RULE_CASES])
async def test_weak_password_lists_exactly_the_rules_broken(
    gateway: Gateway, signe: tuple[User, str], password: str, rules: list[str]
) -> None:
    user, token = signe
    body = await gql(gateway, CHANGE, {"old": user.password, "new": password}, token)
    error = assert_code(body, "WEAK_PASSWORD")
    broken = error["extensions"]["rules"]
    assert sorted(broken) == rules
    assert len(broken) == len(set(broken))
    assert body["data"] is None


async def test_passwords_at_the_length_limits_are_accepted(
    gateway: Gateway, smtp: Mailbox, signe: tuple[User, str]
) -> None:
    user, token = signe
    eight, long = "Kx7mPqa9", ("Kx7mPqa9" * 16)
    assert len(long) == 128
    body = await gql(gateway, CHANGE, {"old": user.password, "new": eight}, token)
    assert body == {"data": {"changePassword": True}}
    body = await gql(gateway, CHANGE, {"old": eight, "new": long}, token)
    assert body == {"data": {"changePassword": True}}
    await log_in(gateway, smtp, user, long)


async def test_reset_password_checks_the_policy_and_keeps_the_token(
    gateway: Gateway, smtp: Mailbox
) -> None:
    user = await make_user(gateway.pool, "torleif", first_name="Ragnhild", last_name="Lien")
    await gql(gateway, REQUEST_RESET, {"v": "torleif"})
    await gateway.deliver()
    token = token_from_link(mails_to(smtp, "torleif@example.no")[-1].get_content())
    for password, rules in [
        ("Torleif-Bakken7", ["CONTAINS_USERNAME"]),
        ("lien", ["CONTAINS_NAME", "DIGIT", "LENGTH", "UPPERCASE"]),
        ("PASSWORD1", ["COMMON", "LOWERCASE"]),
    ]:
        error = assert_code(await gql(gateway, RESET, {"t": token, "p": password}), "WEAK_PASSWORD")
        assert sorted(error["extensions"]["rules"]) == rules
    # A refused password does not use up the link.
    body = await gql(gateway, RESET, {"t": token, "p": NEW_PASSWORD})
    assert body == {"data": {"resetPassword": True}}
    await log_in(gateway, smtp, user, NEW_PASSWORD)


# --- password reset -------------------------------------------------------------------------


async def test_reset_request_answers_true_for_unknown_users_and_sends_nothing(
    gateway: Gateway, smtp: Mailbox
) -> None:
    await make_user(gateway.pool, "ulrikke")
    for value in ("nobody", "nobody@example.no"):
        body = await gql(gateway, REQUEST_RESET, {"v": value})
        assert body == {"data": {"requestPasswordReset": True}}
    assert await gateway.deliver() == 0
    assert smtp.messages == []
    # The same answer for a known user, and then a mail does leave.
    body = await gql(gateway, REQUEST_RESET, {"v": "ulrikke"})
    assert body == {"data": {"requestPasswordReset": True}}
    assert await gateway.deliver() == 1
    assert len(mails_to(smtp, "ulrikke@example.no")) == 1


@pytest.mark.parametrize("by", ["username", "email"])
async def test_reset_mail_carries_a_link_ending_in_the_token(
    gateway: Gateway, smtp: Mailbox, by: str
) -> None:
    user = await make_user(gateway.pool, "vegard")
    value = user.username if by == "username" else str(user.email).upper()
    assert await gql(gateway, REQUEST_RESET, {"v": value}) == {
        "data": {"requestPasswordReset": True}
    }
    assert await gateway.deliver() == 1
    [mail] = mails_to(smtp, "vegard@example.no")
    content = mail.get_content()
    token = token_from_link(content)
    links = re.findall(r"https?://\S+", content)
    assert len(links) == 1, content
    assert links[0].startswith(gateway.settings.public_url + "/")
    assert links[0].endswith(f"?token={token}")
    assert len(token) >= 32
    assert PASSWORD not in content


async def request_reset_token(gateway: Gateway, smtp: Mailbox, user: User) -> str:
    assert user.email
    before = len(mails_to(smtp, user.email))
    await gql(gateway, REQUEST_RESET, {"v": user.username})
    await gateway.deliver()
    mails = mails_to(smtp, user.email)[before:]
    assert len(mails) == 1, mails
    return token_from_link(mails[0].get_content())


async def test_reset_token_works_once(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "wenche")
    token = await request_reset_token(gateway, smtp, user)
    gateway.clock.advance(minutes=29)  # still inside the 30 minutes
    assert await gql(gateway, RESET, {"t": token, "p": NEW_PASSWORD}) == {
        "data": {"resetPassword": True}
    }
    body = await gql(gateway, RESET, {"t": token, "p": "Annet-Passord-2024x"})
    assert_code(body, "CODE_EXPIRED")
    # The first use counted, the second did not.
    assert_code(
        await gql(gateway, LOGIN, {"u": "wenche", "p": "Annet-Passord-2024x"}),
        "INVALID_CREDENTIALS",
    )
    assert_code(
        await gql(gateway, LOGIN, {"u": "wenche", "p": user.password}), "INVALID_CREDENTIALS"
    )
    token2 = await log_in(gateway, smtp, user, NEW_PASSWORD)
    assert await me_id(gateway, token2) == str(user.person_id)


async def test_reset_token_expires_after_30_minutes(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "xander")
    token = await request_reset_token(gateway, smtp, user)
    gateway.clock.advance(minutes=30, seconds=1)
    assert_code(await gql(gateway, RESET, {"t": token, "p": NEW_PASSWORD}), "CODE_EXPIRED")
    assert_code(
        await gql(gateway, LOGIN, {"u": "xander", "p": NEW_PASSWORD}), "INVALID_CREDENTIALS"
    )
    await log_in(gateway, smtp, user)


async def test_unknown_reset_token_is_code_expired(gateway: Gateway) -> None:
    body = await gql(gateway, RESET, {"t": "A" * 43, "p": NEW_PASSWORD})
    assert_code(body, "CODE_EXPIRED")


async def test_reset_ends_all_sessions(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "yngve")
    first = await log_in(gateway, smtp, user)
    second = await log_in(gateway, smtp, user)
    token = await request_reset_token(gateway, smtp, user)
    assert await gql(gateway, RESET, {"t": token, "p": NEW_PASSWORD}) == {
        "data": {"resetPassword": True}
    }
    assert await me_id(gateway, first) is None
    assert await me_id(gateway, second) is None
    assert_code(await gql(gateway, LOGOUT, token=first), "UNAUTHENTICATED")
    fresh = await log_in(gateway, smtp, user, NEW_PASSWORD)
    assert await me_id(gateway, fresh) == str(user.person_id)


# --- invitation -----------------------------------------------------------------------------


async def new_person(gateway: Gateway, first: str, last: str, email: str) -> str:
    async with gateway.pool.acquire() as conn:
        person = await persons.insert(
            conn, {"first_name": first, "last_name": last, "email": email}
        )
    return str(person.id)


@pytest.fixture
async def admin_token(gateway: Gateway, smtp: Mailbox) -> str:
    admin = await make_user(gateway.pool, "sysadmin", roles=("SYSTEM_ADMIN",))
    return await log_in(gateway, smtp, admin)


async def invite(
    gateway: Gateway, smtp: Mailbox, admin_token: str, person_id: str, username: str, email: str
) -> str:
    body = await gql(
        gateway, CREATE_ACCOUNT, {"p": person_id, "u": username, "ch": "EMAIL"}, admin_token
    )
    assert body == {"data": {"createAccount": True}}, body
    assert await gateway.deliver() == 1
    [mail] = mails_to(smtp, email)
    content = mail.get_content()
    assert username in content
    links = re.findall(r"https?://\S+", content)
    assert len(links) == 1 and links[0].endswith(f"?token={token_from_link(content)}")
    return token_from_link(content)


async def test_invitation_sets_the_password_and_the_user_logs_in(
    gateway: Gateway, smtp: Mailbox, admin_token: str
) -> None:
    person_id = await new_person(gateway, "Kari", "Nordmann", "kari@example.no")
    token = await invite(gateway, smtp, admin_token, person_id, "kari.n", "kari@example.no")
    # Before the password is set there is no way in.
    assert_code(
        await gql(gateway, LOGIN, {"u": "kari.n", "p": NEW_PASSWORD}), "INVALID_CREDENTIALS"
    )
    gateway.clock.advance(days=7, minutes=-1)  # still valid a minute before 7 days
    assert await gql(gateway, RESET, {"t": token, "p": NEW_PASSWORD}) == {
        "data": {"resetPassword": True}
    }
    assert_code(await gql(gateway, RESET, {"t": token, "p": NEW_PASSWORD}), "CODE_EXPIRED")

    kari = User(
        person_id=uuid.UUID(person_id),
        account_id=uuid.UUID(int=0),  # not needed to log in
        username="kari.n",
        email="kari@example.no",
        mobile=None,
        password=NEW_PASSWORD,
    )
    session = await log_in(gateway, smtp, kari)
    body = await gql(gateway, ME, token=session)
    assert body == {"data": {"me": {"id": person_id, "firstName": "Kari"}}}


async def test_invitation_expires_after_seven_days(
    gateway: Gateway, smtp: Mailbox, admin_token: str
) -> None:
    person_id = await new_person(gateway, "Lars", "Berg", "lars@example.no")
    token = await invite(gateway, smtp, admin_token, person_id, "lars.b", "lars@example.no")
    gateway.clock.advance(days=7, minutes=1)
    assert_code(await gql(gateway, RESET, {"t": token, "p": NEW_PASSWORD}), "CODE_EXPIRED")
    assert_code(
        await gql(gateway, LOGIN, {"u": "lars.b", "p": NEW_PASSWORD}), "INVALID_CREDENTIALS"
    )


async def test_create_account_needs_an_admin_role(
    gateway: Gateway, smtp: Mailbox, admin_token: str
) -> None:
    plain = await make_user(gateway.pool, "vanlig", roles=("REPORTER",))
    token = await log_in(gateway, smtp, plain)
    person_id = await new_person(gateway, "Mona", "Dahl", "mona@example.no")
    body = await gql(gateway, CREATE_ACCOUNT, {"p": person_id, "u": "mona.d", "ch": "EMAIL"}, token)
    error = assert_code(body, "FORBIDDEN")
    assert body["data"] is None
    assert error["extensions"].get("reason") == "ROLE_REQUIRED"
    assert await gateway.deliver() == 0
    assert mails_to(smtp, "mona@example.no") == []
    # Nothing was created: the admin can still invite her under that username.
    await invite(gateway, smtp, admin_token, person_id, "mona.d", "mona@example.no")


async def test_create_account_without_a_session_is_unauthenticated(gateway: Gateway) -> None:
    person_id = await new_person(gateway, "Nils", "Moe", "nils@example.no")
    body = await gql(gateway, CREATE_ACCOUNT, {"p": person_id, "u": "nils.m", "ch": "EMAIL"})
    assert_code(body, "UNAUTHENTICATED")


@pytest.mark.parametrize("taken", ["opptatt", "OPPTATT"])
async def test_a_taken_username_is_bad_user_input(
    gateway: Gateway, smtp: Mailbox, admin_token: str, taken: str
) -> None:
    await make_user(gateway.pool, "opptatt")
    person_id = await new_person(gateway, "Ola", "Strand", "ola.s@example.no")
    body = await gql(
        gateway, CREATE_ACCOUNT, {"p": person_id, "u": taken, "ch": "EMAIL"}, admin_token
    )
    error = assert_code(body, "BAD_USER_INPUT")
    assert error["extensions"]["field"] == "username"
    assert await gateway.deliver() == 0


# --- no SQL, no traceback -------------------------------------------------------------------

# Each hostile input and the contract's answer to it (None: an ordinary successful answer).
HOSTILE: list[tuple[str, dict[str, str] | None, str | None]] = [
    (LOGIN, {"u": "x' OR '1'='1' --", "p": "x' OR '1'='1' --"}, "INVALID_CREDENTIALS"),
    (LOGIN, {"u": "zelda", "p": "nul\u0000byte"}, "INVALID_CREDENTIALS"),
    (LOGIN, {"u": "nul\u0000byte", "p": PASSWORD}, "BAD_USER_INPUT"),
    (LOGIN, {"u": "a" * 255, "p": PASSWORD}, "BAD_USER_INPUT"),
    (VERIFY, {"c": "1; DROP TABLE sessions; --", "code": "123456"}, "BAD_USER_INPUT"),
    (VERIFY, {"c": "00000000-0000-0000-0000-000000000000", "code": "12345x"}, "BAD_USER_INPUT"),
    (VERIFY, {"c": "00000000-0000-0000-0000-000000000000", "code": "123456"}, "CODE_EXPIRED"),
    (REQUEST_RESET, {"v": "'; SELECT * FROM accounts; --"}, None),
    (REQUEST_RESET, {"v": "nul\u0000@example.no"}, "BAD_USER_INPUT"),
    (RESET, {"t": "nul\u0000token-abcdefghijklmnop", "p": NEW_PASSWORD}, "CODE_EXPIRED"),
    (RESET, {"t": "t" * 300, "p": NEW_PASSWORD}, "BAD_USER_INPUT"),
    (LOGOUT, None, "UNAUTHENTICATED"),
]


async def test_no_error_shows_sql_or_a_traceback(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "zelda")
    seen = []
    for query, variables, code in HOSTILE:
        body = await gql(gateway, query, variables)  # gql asserts no leak in every error
        if code is None:
            assert "errors" not in body, (variables, body)
            continue
        assert error_codes(body) == [code], (variables, body)
        seen.append(only_error(body)["message"])
    assert seen and all(m and not _LEAKS.search(m) for m in seen), seen
    # None of it did harm: the account still logs in.
    assert await me_id(gateway, await log_in(gateway, smtp, user)) == str(user.person_id)


async def test_a_password_matches_whichever_unicode_form_it_was_typed_in() -> None:
    """The API normalises arguments to NFC, but create-admin reads stdin as typed: the hash
    and the check normalise too, so "Ærlig-Ødegård9" typed NFD still opens the account."""
    nfd = unicodedata.normalize("NFD", "Ærlig-Ødegård9")
    nfc = unicodedata.normalize("NFC", nfd)
    assert nfd != nfc
    assert await passwords.verify(await passwords.hash_password(nfd), nfc)
    assert await passwords.verify(await passwords.hash_password(nfc), nfd)
    assert not await passwords.verify(await passwords.hash_password(nfc), nfc + "x")
