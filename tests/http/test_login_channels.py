"""Login codes by SMS (a real local HTTP gateway) and by authenticator app (TOTP, pyotp)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pyotp

from gateway.settings import Settings
from tests.conftest import Gateway, Mailbox, SmsGateway, running_gateway
from tests.support import FakeClock, User, error_codes, make_user, six_digit_code

LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { challengeId channel maskedDestination } }"""
VERIFY = """mutation($c: ID!, $code: String!) {
  verifyLoginCode(challengeId: $c, code: $code) { token person { id } } }"""
ME = "{ me { id otpChannel } }"
SETUP_APP = "mutation { setupAuthenticatorApp { provisioningUri } }"
CONFIRM_APP = "mutation($code: String!) { confirmAuthenticatorApp(code: $code) }"

MOBILE = "+4791234567"


async def login_by_email(gateway: Gateway, smtp: Mailbox, user: User) -> str:
    """Log in with password and the e-mailed code; returns the session token."""
    body = await gateway.client.post(LOGIN, {"u": user.username, "p": user.password})
    challenge = body["data"]["login"]
    assert challenge["channel"] == "EMAIL", body
    assert await gateway.deliver() == 1
    code = six_digit_code(smtp.messages[-1].get_content())
    body = await gateway.client.post(VERIFY, {"c": challenge["challengeId"], "code": code})
    token: str = body["data"]["verifyLoginCode"]["token"]
    return token


def totp_code(secret: str, at: dt.datetime) -> str:
    return str(pyotp.TOTP(secret).at(at))


def code_matching_no_window(secret: str, at: dt.datetime) -> str:
    """A 6-digit code that is valid for none of the time steps around `at`."""
    window = {totp_code(secret, at + dt.timedelta(seconds=s)) for s in (-30, 0, 30)}
    good = totp_code(secret, at)
    for delta in range(1, 10):
        candidate = f"{(int(good) + delta) % 1_000_000:06d}"
        if candidate not in window:
            return candidate
    raise AssertionError("unreachable")


# --- SMS ------------------------------------------------------------------------------------


async def test_sms_code_reaches_the_gateway_and_logs_in(
    gateway: Gateway, smtp: Mailbox, sms: SmsGateway
) -> None:
    user = await make_user(gateway.pool, "kari", first_name="Kari", mobile=MOBILE, channel="SMS")
    body = await gateway.client.post(LOGIN, {"u": "kari", "p": user.password})
    challenge = body["data"]["login"]
    assert challenge["channel"] == "SMS"
    masked = challenge["maskedDestination"]
    assert "91234567" not in re.sub(r"\D", "", masked)  # never the whole number
    assert len(re.findall(r"\d", masked)) < 8
    assert sms.received == []  # nothing leaves before the outbox worker runs

    assert await gateway.deliver() == 1
    assert len(sms.received) == 1
    [message] = sms.received
    assert set(message) == {"to", "text"}
    assert message["to"] == MOBILE
    assert sms.auth == ["Bearer sms-secret"]
    assert smtp.messages == []  # the SMS user gets no e-mail
    text = message["text"]
    assert "Engangskode" in text and "gjelder" in text  # Norwegian bokmål
    code = six_digit_code(text)  # the code is the only 6-digit number

    body = await gateway.client.post(VERIFY, {"c": challenge["challengeId"], "code": code})
    assert "errors" not in body, body
    session = body["data"]["verifyLoginCode"]
    assert session["person"]["id"] == str(user.person_id)
    me = await gateway.client.post(ME, token=session["token"])
    assert me["data"]["me"] == {"id": str(user.person_id), "otpChannel": "SMS"}

    # Running the worker again sends nothing more.
    assert await gateway.deliver() == 0
    assert len(sms.received) == 1


# --- Authenticator app (TOTP) -----------------------------------------------------------------


async def test_authenticator_app_setup_login_and_replay_protection(
    gateway: Gateway, smtp: Mailbox, sms: SmsGateway, clock: FakeClock
) -> None:
    user = await make_user(gateway.pool, "lars", first_name="Lars", mobile=MOBILE)
    token = await login_by_email(gateway, smtp, user)
    smtp.messages.clear()

    body = await gateway.client.post(SETUP_APP, token=token)
    uri = body["data"]["setupAuthenticatorApp"]["provisioningUri"]
    assert uri.startswith("otpauth://totp/")
    [secret] = parse_qs(urlsplit(uri).query)["secret"]
    assert len(secret) >= 16

    # A wrong code does not turn the app on.
    wrong = code_matching_no_window(secret, clock.now)
    body = await gateway.client.post(CONFIRM_APP, {"code": wrong}, token=token)
    assert error_codes(body) == ["INVALID_CREDENTIALS"]
    me = await gateway.client.post(ME, token=token)
    assert me["data"]["me"]["otpChannel"] == "EMAIL"
    assert await gateway.deliver() == 0
    assert smtp.messages == []

    confirm_code = totp_code(secret, clock.now)
    body = await gateway.client.post(CONFIRM_APP, {"code": confirm_code}, token=token)
    assert body == {"data": {"confirmAuthenticatorApp": True}}
    me = await gateway.client.post(ME, token=token)
    assert me["data"]["me"]["otpChannel"] == "APP"

    # The change of login channel is announced by e-mail.
    assert await gateway.deliver() == 1
    [notice] = smtp.messages
    assert notice["To"] == "lars@example.no"
    assert "Endring" in notice["Subject"]
    assert "engangskoder" in notice.get_content()
    smtp.messages.clear()

    # Next login: the challenge asks for the app's code and sends nothing.
    body = await gateway.client.post(LOGIN, {"u": "lars", "p": user.password})
    challenge = body["data"]["login"]
    assert challenge["channel"] == "APP"
    assert await gateway.deliver() == 0
    assert smtp.messages == [] and sms.received == []

    # The code that confirmed the app was used once already: it does not log in.
    body = await gateway.client.post(VERIFY, {"c": challenge["challengeId"], "code": confirm_code})
    assert error_codes(body) == ["INVALID_CREDENTIALS"]

    # The app's code for the next time step gives a session.
    clock.advance(seconds=30)
    code = totp_code(secret, clock.now)
    body = await gateway.client.post(VERIFY, {"c": challenge["challengeId"], "code": code})
    assert "errors" not in body, body
    session = body["data"]["verifyLoginCode"]
    assert session["person"]["id"] == str(user.person_id)

    # Replay: the same code on a new challenge, within its time step, is refused.
    body = await gateway.client.post(LOGIN, {"u": "lars", "p": user.password})
    challenge = body["data"]["login"]
    assert challenge["channel"] == "APP"
    body = await gateway.client.post(VERIFY, {"c": challenge["challengeId"], "code": code})
    assert error_codes(body) == ["INVALID_CREDENTIALS"]
    assert body["data"] is None

    # The code of the next time step works.
    clock.advance(seconds=30)
    next_code = totp_code(secret, clock.now)
    body = await gateway.client.post(VERIFY, {"c": challenge["challengeId"], "code": next_code})
    assert "errors" not in body, body
    assert body["data"]["verifyLoginCode"]["person"]["id"] == str(user.person_id)

    # A code more than one step old is refused even though it was never used.
    clock.advance(minutes=2)
    body = await gateway.client.post(LOGIN, {"u": "lars", "p": user.password})
    challenge = body["data"]["login"]
    stale = totp_code(secret, clock.now - dt.timedelta(seconds=60))
    window = {totp_code(secret, clock.now + dt.timedelta(seconds=s)) for s in (-30, 0, 30)}
    if stale not in window:  # two steps sharing a code: a few in a million
        body = await gateway.client.post(VERIFY, {"c": challenge["challengeId"], "code": stale})
        assert error_codes(body) == ["INVALID_CREDENTIALS"]
    body = await gateway.client.post(
        VERIFY, {"c": challenge["challengeId"], "code": totp_code(secret, clock.now)}
    )
    assert "errors" not in body, body

    assert await gateway.deliver() == 0
    assert smtp.messages == [] and sms.received == []


# --- PLANGRUPPE_OTP_CHANNELS ------------------------------------------------------------------


async def test_email_user_gets_sms_when_email_codes_are_not_allowed(
    pool: asyncpg.Pool,
    settings: Settings,
    clock: FakeClock,
    smtp: Mailbox,
    sms: SmsGateway,
) -> None:
    user = await make_user(pool, "siri", first_name="Siri", mobile=MOBILE, channel="EMAIL")
    async for gateway in running_gateway(pool, settings, clock, otp_channels=("SMS", "APP")):
        body = await gateway.client.post(LOGIN, {"u": "siri", "p": user.password})
        challenge = body["data"]["login"]
        assert challenge["channel"] == "SMS"
        assert "@" not in challenge["maskedDestination"]

        assert await gateway.deliver() == 1
        assert smtp.messages == []
        [message] = sms.received
        assert message["to"] == MOBILE
        code = six_digit_code(message["text"])

        body = await gateway.client.post(VERIFY, {"c": challenge["challengeId"], "code": code})
        assert "errors" not in body, body
        assert body["data"]["verifyLoginCode"]["person"]["id"] == str(user.person_id)
