"""Login by password and an e-mail code that travels over real SMTP."""

from __future__ import annotations

from tests.conftest import Gateway, Mailbox
from tests.support import error_codes, make_user, only_error, six_digit_code

LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { challengeId channel maskedDestination } }"""
VERIFY = """mutation($c: ID!, $code: String!) {
  verifyLoginCode(challengeId: $c, code: $code) {
    token expiresAt person { id firstName email } } }"""
ME = "{ me { id firstName lastName email otpChannel globalRoles } }"


async def test_password_then_emailed_code_gives_a_session(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "ingrid", first_name="Ingrid", roles=("REPORTER",))
    body = await gateway.client.post(LOGIN, {"u": "ingrid", "p": user.password})
    challenge = body["data"]["login"]
    assert challenge["channel"] == "EMAIL"
    assert challenge["maskedDestination"] == "i***@example.no"
    assert smtp.messages == []  # nothing leaves before the outbox worker runs

    assert await gateway.deliver() == 1
    [mail] = smtp.messages
    assert mail["To"] == "ingrid@example.no"
    assert "Engangskode" in mail["Subject"]
    code = six_digit_code(mail.get_content())

    body = await gateway.client.post(VERIFY, {"c": challenge["challengeId"], "code": code})
    session = body["data"]["verifyLoginCode"]
    assert session["person"]["id"] == str(user.person_id)
    assert len(session["token"]) >= 43

    me = await gateway.client.post(ME, token=session["token"])
    assert me["data"]["me"] == {
        "id": str(user.person_id),
        "firstName": "Ingrid",
        "lastName": "Ingrid",
        "email": "ingrid@example.no",
        "otpChannel": "EMAIL",
        "globalRoles": ["REPORTER"],
    }


async def test_unknown_user_and_wrong_password_look_the_same(
    gateway: Gateway, smtp: Mailbox
) -> None:
    await make_user(gateway.pool, "ola")
    wrong = await gateway.client.post(LOGIN, {"u": "ola", "p": "Wrong-password-1"})
    unknown = await gateway.client.post(LOGIN, {"u": "nobody", "p": "Wrong-password-1"})
    assert only_error(wrong)["message"] == only_error(unknown)["message"]
    assert error_codes(wrong) == error_codes(unknown) == ["INVALID_CREDENTIALS"]
    assert wrong["data"] is None and unknown["data"] is None
    await gateway.deliver()
    assert smtp.messages == []


async def test_code_works_once(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "per")
    challenge = (await gateway.client.post(LOGIN, {"u": "per", "p": user.password}))["data"][
        "login"
    ]
    await gateway.deliver()
    code = six_digit_code(smtp.messages[0].get_content())
    first = await gateway.client.post(VERIFY, {"c": challenge["challengeId"], "code": code})
    assert "errors" not in first
    again = await gateway.client.post(VERIFY, {"c": challenge["challengeId"], "code": code})
    assert error_codes(again) == ["CODE_EXPIRED"]


async def test_me_is_null_without_a_session(gateway: Gateway) -> None:
    body = await gateway.client.post(ME)
    assert body == {"data": {"me": None}}
    body = await gateway.client.post(ME, token="not-a-real-token-but-long-enough-1234567890")
    assert body == {"data": {"me": None}}
