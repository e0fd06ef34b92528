"""OpenID Connect login against a real OpenID Provider: the npm `oidc-provider` (certified)
under Node, with ID-porten-like claims (`pid`, `acr`; tests/oidc_op.py), the whole browser
flow over HTTP.

- Linked by an administrator (the national identity number stored only as an HMAC), the
  browser gets a `__Host-` session cookie whose requests need the CSRF header; the WebSocket
  takes the cookie with `csrfToken`; endSession gives the provider's logout URL.
- A native app gets a one-time exchange code for `exchangeLoginCode`.
- An invitation lets an unknown identity link itself, once.
- Refused: an unknown identity, too low a level, a replayed callback, an expired ID token,
  a wrong nonce or audience; a new provider key is fetched (rotation).
- PLANGRUPPE_REQUIRE_OIDC_FOR refuses a password login for the roles it names.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
import websockets
from joserfc.jwk import RSAKey

from gateway.oidc_settings import OidcProvider, parse_providers
from gateway.settings import ConfigError, Settings
from resolvers import oidc
from tests.conftest import Gateway, Mailbox, free_port, running_gateway
from tests.oidc_op import OidcOp, follow_to_client, make_rsa_key, public_jwk, running_op
from tests.plan_world import (
    COORDINATOR,
    OUTSIDER,
    OWNER,
    RELATIVE,
    SERVICE_PROVIDER,
    SYSTEM_ADMIN,
    build_world,
)
from tests.support import (
    PASSWORD,
    FakeClock,
    error_codes,
    make_user,
    session_for,
    token_from_link,
)

PUBLIC = "https://plan.kommune.example"
CALLBACK = f"{PUBLIC}/auth/oidc/idporten/callback"
APP_REDIRECT = "no.kommune.plan:/oidc"
ACRS = ["idporten-loa-substantial", "idporten-loa-high"]
HIGH, SUBSTANTIAL = ACRS[1], ACRS[0]
PID = "12345678901"
HASH_KEY = bytes(range(32))


@dataclasses.dataclass
class Setup:
    op: OidcOp
    gw: Gateway
    client_key: dict[str, Any]
    provider: OidcProvider


def _provider(op: OidcOp, key: dict[str, Any], client_id: str = "plangruppe") -> OidcProvider:
    return OidcProvider(
        name="idporten",
        issuer=op.issuer,
        client_id=client_id,
        private_key=RSAKey.import_key(key),
        acr_values=tuple(ACRS),
        required_acr=HIGH,
        identity_claim="pid",
        national_id=True,
    )


@contextlib.asynccontextmanager
async def _setup(
    tmp_path: Path,
    pool: asyncpg.Pool,
    settings: Settings,
    *,
    id_token_ttl: int = 300,
    **changes: Any,
) -> AsyncIterator[Setup]:
    client_key = make_rsa_key("gw-1")
    clients = [
        {
            "client_id": "plangruppe",
            "redirect_uris": [CALLBACK],
            "post_logout_redirect_uris": [f"{PUBLIC}/"],
            "jwks": {"keys": [public_jwk(client_key)]},
            "token_endpoint_auth_method": "private_key_jwt",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "id_token_signed_response_alg": "RS256",
        }
    ]
    async with running_op(
        tmp_path,
        port=free_port(),
        clients=clients,
        signing_keys=[make_rsa_key("op-1")],
        acr_values=ACRS,
        id_token_ttl=id_token_ttl,
    ) as op:
        provider = _provider(op, client_key)
        # ID tokens carry the provider's real time: the gateway's clock starts there too.
        clock = FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
        async for gw in running_gateway(
            pool,
            settings,
            clock,
            oidc_providers=(provider,),
            identity_hash_key=HASH_KEY,
            oidc_app_redirects=(APP_REDIRECT,),
            **changes,
        ):
            yield Setup(op, gw, client_key, provider)


@pytest.fixture
async def setup(tmp_path: Path, pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[Setup]:
    async with _setup(tmp_path, pool, settings) as s:
        yield s


class Callback(str):
    """The gateway-relative callback URL, and the login cookie of the browser that started
    the login (a Secure cookie, which httpx keeps only for https)."""

    cookie: str | None = None


async def to_callback(
    s: Setup, pid: str | None, acr: str = HIGH, params: dict[str, str] | None = None
) -> Callback:
    """Start a login at the gateway and go through the provider as a fresh browser; the
    callback URL (path and query) the provider sends the browser to."""
    await s.op.next_login(f"sub-{pid}", pid, acr)
    async with httpx.AsyncClient(timeout=20) as browser:
        start = await browser.get(f"{s.gw.url}/auth/oidc/idporten/login", params=params or {})
        assert start.status_code == 303, start.text
        assert start.headers["location"].startswith(s.op.issuer)
        login_cookie = cookies_of(start)["__Host-plangruppe-login"]
        url = await follow_to_client(browser, start.headers["location"], CALLBACK)
    found = Callback(url[len(PUBLIC) :])
    found.cookie = login_cookie
    return found


async def callback(s: Setup, path: str, cookie: str | None = None) -> httpx.Response:
    """The callback as the browser that started the login (or, with ``cookie``, another)."""
    value = cookie if cookie is not None else getattr(path, "cookie", None)
    headers = {"Cookie": f"__Host-plangruppe-login={value}"} if value else {}
    async with httpx.AsyncClient(timeout=20) as browser:
        return await browser.get(f"{s.gw.url}{path}", headers=headers)


def cookies_of(response: httpx.Response) -> dict[str, str]:
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        found[name] = rest.split(";", 1)[0]
        if name == "__Host-plangruppe-session":
            attributes = header.lower()
            assert "secure" in attributes and "httponly" in attributes, header
            assert "samesite=lax" in attributes and "path=/" in attributes, header
    return found


def error_of(response: httpx.Response) -> str:
    body = response.json()
    code: str = body["error"]["code"]
    assert PID not in response.text
    return code


async def link_as_admin(s: Setup, target_person: object, identity: str = PID) -> dict[str, Any]:
    admin = await make_user(s.gw.pool, "oidcadmin", roles=("SYSTEM_ADMIN",))
    token = await session_for(s.gw.pool, admin, s.gw.clock())
    return await s.gw.client.post(
        'mutation($p: ID!, $i: String!) { linkIdentity(personId: $p, provider: "idporten",'
        " identity: $i) }",
        {"p": str(target_person), "i": identity},
        token=token,
    )


ME = "{ me { id firstName } }"


async def test_a_linked_identity_logs_in_a_browser_with_cookie_and_csrf(
    setup: Setup, smtp: Mailbox
) -> None:
    s = setup
    user = await make_user(s.gw.pool, "kari", first_name="Kari")
    assert (await link_as_admin(s, user.person_id))["data"] == {"linkIdentity": True}
    # The number itself is nowhere in the database; the person is told of the new key.
    async with s.gw.pool.acquire() as conn:
        rows = await conn.fetch("SELECT i::text AS t FROM oidc_identities i")
        audit = await conn.fetch("SELECT a::text AS t FROM audit_log a")
    assert len(rows) == 1 and all(PID not in r["t"] for r in [*rows, *audit])
    await s.gw.deliver()
    notices = smtp.bodies_to(user.email or "")
    assert any("innloggingsmåte" in b for b in notices) and all(PID not in b for b in notices)

    answer = await callback(s, await to_callback(s, PID, params={"return_to": "/plan/1"}))
    assert answer.status_code == 303 and answer.headers["location"] == "/plan/1"
    cookies = cookies_of(answer)
    session = cookies["__Host-plangruppe-session"]
    csrf = cookies["__Host-plangruppe-csrf"]
    cookie = f"__Host-plangruppe-session={session}; __Host-plangruppe-csrf={csrf}"
    http = s.gw.client.http

    ok = await http.post(
        "/graphql", json={"query": ME}, headers={"Cookie": cookie, "X-CSRF-Token": csrf}
    )
    assert ok.json()["data"]["me"] == {"id": str(user.person_id), "firstName": "Kari"}
    for headers in ({"Cookie": cookie}, {"Cookie": cookie, "X-CSRF-Token": "x" + csrf}):
        refused = await http.post("/graphql", json={"query": ME}, headers=headers)
        assert refused.status_code == 403 and error_codes(refused.json()) == ["CSRF_FAILED"]

    async with s.gw.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT auth_method, auth_level, oidc_provider, id_token FROM sessions"
            " WHERE auth_method = 'OIDC'"
        )
    assert (row["auth_method"], row["auth_level"], row["oidc_provider"]) == (
        "OIDC",
        HIGH,
        "idporten",
    )
    assert PID not in row["id_token"]  # sealed: the ID token holds the number

    # The WebSocket takes the cookie when connection_init repeats the CSRF value.
    ws_url = s.gw.url.replace("http://", "ws://") + "/graphql"
    for payload, acknowledged in (({"csrfToken": csrf}, True), ({}, False)):
        async with websockets.connect(
            ws_url,
            subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
            additional_headers={"Cookie": cookie},
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert acknowledged and frame["type"] == "connection_ack", frame
            except websockets.ConnectionClosed as closed:
                assert not acknowledged and closed.rcvd is not None
                assert closed.rcvd.code == 4403

    # endSession: our session ends, the cookies are cleared, the provider's logout URL given.
    ended = await http.post(
        "/graphql",
        json={
            "query": "mutation($u: String) { endSession(postLogoutRedirectUri: $u) {"
            " ended providerLogoutUrl } }",
            "variables": {"u": f"{PUBLIC}/"},
        },
        headers={"Cookie": cookie, "X-CSRF-Token": csrf},
    )
    result = ended.json()["data"]["endSession"]
    url = urlsplit(result["providerLogoutUrl"])
    query = parse_qs(url.query)
    assert result["ended"] and result["providerLogoutUrl"].startswith(s.op.issuer)
    assert query["post_logout_redirect_uri"] == [f"{PUBLIC}/"] and query["id_token_hint"]
    cleared = {c.split("=", 1)[0]: c for c in ended.headers.get_list("set-cookie")}
    for name in ("__Host-plangruppe-session", "__Host-plangruppe-csrf"):
        assert "Max-Age=0" in cleared[name] and "Secure" in cleared[name], cleared
    async with httpx.AsyncClient(timeout=20) as browser:
        page = await browser.get(result["providerLogoutUrl"])
        assert page.status_code == 200, page.text  # the provider accepts the hint
    after = await http.post(
        "/graphql", json={"query": ME}, headers={"Cookie": cookie, "X-CSRF-Token": csrf}
    )
    assert after.json()["data"]["me"] is None


async def test_an_unknown_identity_gets_no_session(setup: Setup) -> None:
    answer = await callback(setup, await to_callback(setup, "99999999999"))
    assert answer.status_code == 403 and error_of(answer) == "IDENTITY_NOT_LINKED"
    assert not cookies_of(answer)
    async with setup.gw.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sessions") == 0
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM audit_log WHERE action = 'login.oidc_unknown_identity'"
            )
            == 1
        )


async def test_too_low_a_level_is_refused(setup: Setup) -> None:
    user = await make_user(setup.gw.pool, "lav")
    await link_as_admin(setup, user.person_id)
    answer = await callback(setup, await to_callback(setup, PID, acr=SUBSTANTIAL))
    assert answer.status_code == 403 and error_of(answer) == "LEVEL_TOO_LOW"
    assert not cookies_of(answer)


async def test_a_callback_works_once_and_only_with_its_state(setup: Setup) -> None:
    user = await make_user(setup.gw.pool, "once")
    await link_as_admin(setup, user.person_id)
    path = await to_callback(setup, PID)
    forged = path.replace("state=", "state=x")
    assert error_of(await callback(setup, forged, path.cookie)) == "LOGIN_EXPIRED"
    # Login CSRF: someone else's browser (the link sent to a victim) cannot finish it, and
    # the attempt spends the login.
    stolen = await to_callback(setup, PID)
    wrong = await callback(setup, stolen, "someone-elses-login-cookie")
    assert wrong.status_code == 400 and error_of(wrong) == "WRONG_BROWSER"
    assert not cookies_of(wrong)
    assert error_of(await callback(setup, stolen)) == "LOGIN_EXPIRED"
    assert (await callback(setup, path)).status_code == 303
    again = await callback(setup, path)
    assert again.status_code == 400 and error_of(again) == "LOGIN_EXPIRED"


async def test_a_native_app_exchanges_its_code_once(setup: Setup) -> None:
    s = setup
    user = await make_user(s.gw.pool, "appbruker")
    await link_as_admin(s, user.person_id)
    async with httpx.AsyncClient() as browser:
        refused = await browser.get(
            f"{s.gw.url}/auth/oidc/idporten/login", params={"app_redirect": "evil:/steal"}
        )
    assert refused.status_code == 400
    answer = await callback(s, await to_callback(s, PID, params={"app_redirect": APP_REDIRECT}))
    assert answer.status_code == 303 and not cookies_of(answer)
    location = answer.headers["location"]
    assert location.startswith(APP_REDIRECT + "?code=")
    code = parse_qs(urlsplit(location).query)["code"][0]
    exchange = (
        "mutation($c: String!) { exchangeLoginCode(code: $c) { token authMethod authLevel"
        " identityProvider person { id } } }"
    )
    got = await s.gw.client.post(exchange, {"c": code})
    session = got["data"]["exchangeLoginCode"]
    assert (session["authMethod"], session["authLevel"], session["identityProvider"]) == (
        "OIDC",
        HIGH,
        "idporten",
    )
    assert session["person"]["id"] == str(user.person_id)
    me = await s.gw.client.post(ME, token=session["token"])
    assert me["data"]["me"]["id"] == str(user.person_id)
    assert error_codes(await s.gw.client.post(exchange, {"c": code})) == ["CODE_EXPIRED"]


async def test_an_invitation_links_an_unknown_identity_once(setup: Setup, smtp: Mailbox) -> None:
    s = setup
    admin = await make_user(s.gw.pool, "inviter", roles=("SYSTEM_ADMIN",))
    token = await session_for(s.gw.pool, admin, s.gw.clock())
    person = await s.gw.client.post(
        'mutation { createPerson(input: { firstName: "Ola", lastName: "Invitert",'
        ' email: "ola.invitert@example.no" }) { id } }',
        token=token,
    )
    person_id = person["data"]["createPerson"]["id"]
    created = await s.gw.client.post(
        'mutation($p: ID!) { createAccount(personId: $p, username: "olainv", otpChannel: EMAIL) }',
        {"p": person_id},
        token=token,
    )
    assert created["data"] == {"createAccount": True}, created
    await s.gw.deliver()
    invitation = token_from_link(smtp.bodies_to("ola.invitert@example.no")[-1])

    path = await to_callback(s, PID, params={"invitation": invitation})
    answer = await callback(s, path)
    assert answer.status_code == 303, answer.text
    assert cookies_of(answer)["__Host-plangruppe-session"]
    # Spent: neither a second identity nor a password can use it now.
    other = await callback(
        s, await to_callback(s, "10987654321", params={"invitation": invitation})
    )
    assert error_of(other) == "IDENTITY_NOT_LINKED"
    reset = await s.gw.client.post(
        "mutation($t: String!) { resetPassword(token: $t,"
        ' newPassword: "Et langt og trygt passord 42") }',
        {"t": invitation},
    )
    assert error_codes(reset) == ["CODE_EXPIRED"]
    # And the identity it linked logs in without the invitation from now on.
    assert (await callback(s, await to_callback(s, PID))).status_code == 303


async def test_id_token_checks_nonce_audience_expiry_against_real_tokens(setup: Setup) -> None:
    """A real ID token from the provider, verified by the gateway's own check with the
    right nonce, then with a wrong nonce, for another client, and after it expired."""
    s = setup
    path = await to_callback(s, PID)
    code = parse_qs(urlsplit(path).query)["code"][0]
    async with s.gw.pool.acquire() as conn:
        pending = await conn.fetchrow(
            "SELECT nonce, code_verifier FROM oidc_logins ORDER BY created_at DESC LIMIT 1"
        )
    client = oidc.client_for(s.provider)
    tokens = await client.exchange(CALLBACK, code, pending["code_verifier"])
    now = s.gw.clock()
    claims = await client.verify_id_token(tokens["id_token"], nonce=pending["nonce"], now=now)
    assert (claims["pid"], claims["acr"]) == (PID, HIGH)
    bad = [
        (client, {"nonce": "another-nonce", "now": now}),
        (
            oidc.ProviderClient(_provider(s.op, s.client_key, client_id="someone-else")),
            {"nonce": pending["nonce"], "now": now},
        ),
        (client, {"nonce": pending["nonce"], "now": now + dt.timedelta(minutes=10)}),
    ]
    for checker, kwargs in bad:
        with pytest.raises(oidc.OidcFailure) as failure:
            await checker.verify_id_token(tokens["id_token"], **kwargs)
        assert failure.value.code == "LOGIN_FAILED", kwargs


async def test_an_id_token_expired_by_the_callback_is_refused(
    tmp_path: Path, pool: asyncpg.Pool, settings: Settings
) -> None:
    async with _setup(tmp_path, pool, settings, id_token_ttl=60) as s:
        user = await make_user(s.gw.pool, "sen")
        await link_as_admin(s, user.person_id)
        path = await to_callback(s, PID)
        s.gw.clock.advance(minutes=3)  # past the token's 60 s (and its 60 s leeway)
        answer = await callback(s, path)
        assert answer.status_code == 400 and error_of(answer) == "LOGIN_FAILED"


async def test_a_rotated_provider_key_is_fetched(setup: Setup) -> None:
    s = setup
    user = await make_user(s.gw.pool, "rotasjon")
    await link_as_admin(s, user.person_id)
    assert (await callback(s, await to_callback(s, PID))).status_code == 303
    await s.op.restart([make_rsa_key("op-2"), make_rsa_key("op-1")])
    await asyncio.sleep(1.1)  # the gateway fetches keys at most once a second
    assert (await callback(s, await to_callback(s, PID))).status_code == 303


async def test_roles_required_to_use_oidc_cannot_log_in_by_password(
    tmp_path: Path, pool: asyncpg.Pool, settings: Settings
) -> None:
    """A global role, and a plan role held in a current plan, named in
    PLANGRUPPE_REQUIRE_OIDC_FOR: the right password answers OIDC_REQUIRED, a wrong one
    INVALID_CREDENTIALS as for anyone; everyone else logs in as before."""
    required = frozenset({"LOCAL_ADMIN", "COORDINATOR"})
    async with _setup(tmp_path, pool, settings, require_oidc_for=required) as s:
        await make_user(s.gw.pool, "lokaladmin", roles=("LOCAL_ADMIN",))
        await make_user(s.gw.pool, "vanlig")
        world = await build_world(s.gw)
        login = (
            "mutation($u: String!, $p: String!) {"
            " login(username: $u, password: $p) { challengeId } }"
        )

        async def attempt(username: str, password: str = PASSWORD) -> dict[str, Any]:
            return await s.gw.client.post(login, {"u": username, "p": password})

        coordinator = world.actors[COORDINATOR].user.username
        for username in ("lokaladmin", coordinator):
            refused = await attempt(username)
            assert error_codes(refused) == ["OIDC_REQUIRED"], refused
            assert refused["errors"][0]["extensions"]["providers"] == ["idporten"]
            # No role is told to a guesser.
            assert error_codes(await attempt(username, "feil passord her")) == [
                "INVALID_CREDENTIALS"
            ]
        for username in ("vanlig", world.actors[RELATIVE].user.username):
            allowed = await attempt(username)
            assert "errors" not in allowed, allowed


def test_provider_settings_are_checked(tmp_path: Path) -> None:
    key = tmp_path / "client.jwk"
    key.write_text(json.dumps(make_rsa_key("gw")))
    entry = {
        "name": "idporten",
        "issuer": "https://idporten.no",
        "client_id": "abc",
        "private_key_file": str(key),
        "acr_values": ACRS,
        "required_acr": HIGH,
        "identity_claim": "pid",
    }
    (provider,) = parse_providers(json.dumps([entry]))
    assert provider.national_id and provider.level(HIGH) > provider.level(SUBSTANTIAL)
    env = {
        "PLANGRUPPE_OIDC_PROVIDERS": json.dumps([entry]),
        "PLANGRUPPE_IDENTITY_HASH_KEY": HASH_KEY.hex(),
    }
    assert Settings.from_env(env).oidc_provider("idporten") is not None
    broken = [
        {**entry, "required_acr": "idporten-loa-low"},
        {**entry, "issuer": "http://idporten.no"},
        {**entry, "private_key_file": str(tmp_path / "missing.pem")},
        {**entry, "surprise": 1},
    ]
    for bad in broken:
        with pytest.raises(ConfigError):
            Settings.from_env({**env, "PLANGRUPPE_OIDC_PROVIDERS": json.dumps([bad])})
    with pytest.raises(ConfigError, match="PLANGRUPPE_IDENTITY_HASH_KEY"):
        Settings.from_env({"PLANGRUPPE_OIDC_PROVIDERS": json.dumps([entry])})
    with pytest.raises(ConfigError, match="PLANGRUPPE_REQUIRE_OIDC_FOR"):
        Settings.from_env({**env, "PLANGRUPPE_REQUIRE_OIDC_FOR": "KING"})


async def test_who_may_link_an_identity(setup: Setup) -> None:
    """A linked identity logs in as the person: only those responsible for the person may
    link one, never to an administrator's account, and a number goes to one person only."""
    s = setup
    world = await build_world(s.gw)
    link = (
        "mutation($p: ID!, $v: String!, $i: String!) {"
        " linkIdentity(personId: $p, provider: $v, identity: $i) }"
    )

    async def attempt(key: str, target: str, identity: str, provider: str = "idporten") -> Any:
        variables = {"p": world.person_id(target), "v": provider, "i": identity}
        return await world.post(key, link, variables)

    def reason(answer: dict[str, Any]) -> Any:
        return answer["errors"][0]["extensions"].get("reason")

    for key in (OUTSIDER, RELATIVE, SERVICE_PROVIDER):
        refused = await attempt(key, OWNER, "11111111111")
        assert error_codes(refused) == ["FORBIDDEN"] and reason(refused) == "ROLE_REQUIRED"
    # The coordinator: persons of the plan, but not one with a global role.
    admin_refused = await attempt(COORDINATOR, SYSTEM_ADMIN, "22222222222")
    assert error_codes(admin_refused) == ["FORBIDDEN"]
    assert (await attempt(COORDINATOR, OWNER, "11111111111"))["data"] == {"linkIdentity": True}
    taken = await attempt(COORDINATOR, RELATIVE, "11111111111")
    assert error_codes(taken) == ["BAD_USER_INPUT"]
    for identity, provider in (("123", "idporten"), ("11111111112", "nope")):
        bad = await attempt(SYSTEM_ADMIN, RELATIVE, identity, provider)
        assert error_codes(bad) == ["BAD_USER_INPUT"], bad
    # The owner now logs in with that number; no one else does.
    assert (await callback(s, await to_callback(s, "11111111111"))).status_code == 303
    async with s.gw.pool.acquire() as conn:
        person = await conn.fetchval(
            "SELECT a.person_id FROM sessions s JOIN accounts a ON a.id = s.account_id"
            " WHERE s.auth_method = 'OIDC'"
        )
    assert str(person) == world.person_id(OWNER)
