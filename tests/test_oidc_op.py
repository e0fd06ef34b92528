"""The test OpenID Provider (tests/oidc_op.py) is a working OP: a standard client library
(Authlib) completes the authorization code flow with PKCE and private_key_jwt against it, and
the ID token carries what ``next_login`` set. Tests of our own login build on this; these
tests tell a broken fixture apart from a broken gateway. No database is needed."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import free_port
from tests.oidc_op import (
    OidcOp,
    follow_to_client,
    make_rsa_key,
    public_jwk,
    running_op,
)

CLIENT_ID = "plangruppe-test-client"
SUBSTANTIAL = "idporten-loa-substantial"
HIGH = "idporten-loa-high"


@dataclass
class World:
    op: OidcOp
    discovery: dict[str, Any]
    client_key: dict[str, Any]
    redirect_uri: str
    post_logout_redirect_uri: str


@dataclass
class Login:
    id_token: str
    nonce: str
    callback: str
    token: dict[str, Any]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    client_key = make_rsa_key("client-1")
    # Never requested: follow_to_client stops at the redirect to it.
    rp = f"http://127.0.0.1:{free_port()}"
    client = {
        "client_id": CLIENT_ID,
        "redirect_uris": [f"{rp}/cb"],
        "post_logout_redirect_uris": [f"{rp}/logged-out"],
        "jwks": {"keys": [public_jwk(client_key)]},
        "token_endpoint_auth_method": "private_key_jwt",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "id_token_signed_response_alg": "RS256",
    }
    async with running_op(
        tmp_path,
        port=free_port(),
        clients=[client],
        signing_keys=[make_rsa_key("op-1")],
        acr_values=[SUBSTANTIAL, HIGH],
    ) as op:
        yield World(op, await discover(op), client_key, f"{rp}/cb", f"{rp}/logged-out")


async def discover(op: OidcOp) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"{op.issuer}/.well-known/openid-configuration")
    assert response.status_code == 200, response.text
    discovery: dict[str, Any] = response.json()
    return discovery


async def op_keys(world: World) -> KeySet:
    """The OP's JWKS, fetched afresh from its jwks_uri (as a client does on an unknown kid)."""
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(world.discovery["jwks_uri"])
    assert response.status_code == 200, response.text
    return KeySet.import_key_set(response.json())


def rp_client(
    world: World, *, key: dict[str, Any] | None = None, audience: str | None = None
) -> AsyncOAuth2Client:
    """Authlib's client; its client assertion is signed with ``key`` (the registered one by
    default) for the audience ``audience`` (Authlib's default: the token endpoint)."""
    client = AsyncOAuth2Client(
        CLIENT_ID,
        client_secret=key or world.client_key,  # PrivateKeyJWT signs the client assertion
        token_endpoint_auth_method="private_key_jwt",
        redirect_uri=world.redirect_uri,
        scope="openid profile",
        code_challenge_method="S256",
        timeout=10,
    )
    claims = {"aud": audience} if audience else None
    client.register_client_auth_method(
        PrivateKeyJWT(world.discovery["token_endpoint"], claims=claims)
    )
    return client


async def log_in(
    world: World,
    browser: httpx.AsyncClient,
    *,
    acr: str = HIGH,
    key: dict[str, Any] | None = None,
    audience: str | None = None,
    prompt: str | None = None,
) -> Login:
    """The whole flow as a relying party runs it: authorization request, the browser's
    redirects, and the code exchanged at the token endpoint."""
    nonce = secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(48)
    async with rp_client(world, key=key, audience=audience) as client:
        url, state = client.create_authorization_url(
            world.discovery["authorization_endpoint"],
            code_verifier=verifier,
            nonce=nonce,
            acr_values=acr,
            **({"prompt": prompt} if prompt else {}),
        )
        callback = await follow_to_client(browser, url, world.redirect_uri)
        params = parse_qs(urlsplit(callback).query)
        assert params["state"] == [state], callback
        assert params["iss"] == [world.op.issuer], callback  # RFC 9207
        token = await client.fetch_token(
            world.discovery["token_endpoint"],
            authorization_response=callback,
            state=state,
            code_verifier=verifier,
        )
    return Login(token["id_token"], nonce, callback, dict(token))


def verified_claims(world: World, login: Login, keys: KeySet) -> dict[str, Any]:
    token = jwt.decode(login.id_token, keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": world.op.issuer},
        aud={"essential": True, "value": CLIENT_ID},
        nonce={"essential": True, "value": login.nonce},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
    ).validate(token.claims)
    return dict(token.claims)


async def test_code_flow_with_pkce_and_private_key_jwt(world: World) -> None:
    await world.op.next_login("user-1", "12345678901", HIGH)
    async with httpx.AsyncClient(timeout=10) as browser:
        login = await log_in(world, browser)

    claims = verified_claims(world, login, await op_keys(world))
    assert claims["sub"] == "user-1"
    assert claims["pid"] == "12345678901"
    assert claims["acr"] == HIGH
    assert login.token["token_type"].lower() == "bearer"
    assert world.discovery["code_challenge_methods_supported"] == ["S256"]
    assert world.discovery["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]


async def test_authorization_without_pkce_is_refused(world: World) -> None:
    await world.op.next_login("user-1", "12345678901", HIGH)
    query = urlencode(
        {
            "client_id": CLIENT_ID,
            "response_type": "code",
            "scope": "openid profile",
            "redirect_uri": world.redirect_uri,
            "state": "s1",
            "nonce": "n1",
        }
    )
    async with httpx.AsyncClient(timeout=10) as browser:
        callback = await follow_to_client(
            browser, f"{world.discovery['authorization_endpoint']}?{query}", world.redirect_uri
        )
    params = parse_qs(urlsplit(callback).query)
    assert params["error"] == ["invalid_request"], callback
    assert "code" not in params


async def test_a_code_is_redeemed_once(world: World) -> None:
    await world.op.next_login("user-1", "12345678901", HIGH)
    nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    async with httpx.AsyncClient(timeout=10) as browser, rp_client(world) as client:
        url, state = client.create_authorization_url(
            world.discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        callback = await follow_to_client(browser, url, world.redirect_uri)
        token = await client.fetch_token(
            authorization_response=callback,
            url=world.discovery["token_endpoint"],
            state=state,
            code_verifier=verifier,
        )
        assert token["id_token"]
        with pytest.raises(OAuthError) as refused:
            await client.fetch_token(
                authorization_response=callback,
                url=world.discovery["token_endpoint"],
                state=state,
                code_verifier=verifier,
            )
    assert refused.value.error == "invalid_grant"


async def test_client_assertion_audience_may_be_the_issuer(world: World) -> None:
    """ID-porten wants the issuer as the client assertion's aud; oidc-provider accepts it (as
    well as the token endpoint, Authlib's default)."""
    await world.op.next_login("user-1", "12345678901", HIGH)
    async with httpx.AsyncClient(timeout=10) as browser:
        login = await log_in(world, browser, audience=world.op.issuer)
    assert verified_claims(world, login, await op_keys(world))["sub"] == "user-1"


@pytest.mark.parametrize("wrong", ["key", "audience"])
async def test_a_wrong_client_assertion_is_refused(world: World, wrong: str) -> None:
    await world.op.next_login("user-1", "12345678901", HIGH)
    async with httpx.AsyncClient(timeout=10) as browser:
        with pytest.raises(OAuthError) as refused:
            await log_in(
                world,
                browser,
                key=make_rsa_key("client-1") if wrong == "key" else None,
                audience=f"{world.op.issuer}/elsewhere" if wrong == "audience" else None,
            )
    assert refused.value.error == "invalid_client"


async def test_acr_and_a_missing_pid(world: World) -> None:
    await world.op.next_login("user-2", None, SUBSTANTIAL)
    async with httpx.AsyncClient(timeout=10) as browser:
        login = await log_in(world, browser, acr=SUBSTANTIAL)

    claims = verified_claims(world, login, await op_keys(world))
    assert claims["sub"] == "user-2"
    assert claims["acr"] == SUBSTANTIAL
    assert "pid" not in claims


async def test_key_rotation_on_restart(world: World) -> None:
    await world.op.next_login("user-1", "12345678901", HIGH)
    async with httpx.AsyncClient(timeout=10) as browser:
        before = await log_in(world, browser)
    old_key = dict(world.op.config["signing_keys"][0])
    assert jwt.decode(before.id_token, await op_keys(world)).header["kid"] == "op-1"

    await world.op.restart([make_rsa_key("op-2"), old_key])
    await world.op.next_login("user-1", "12345678901", HIGH)  # the OP forgot it
    async with httpx.AsyncClient(timeout=10) as browser:
        after = await log_in(world, browser)

    keys = await op_keys(world)
    assert {key.kid for key in keys} == {"op-1", "op-2"}
    assert jwt.decode(after.id_token, keys).header["kid"] == "op-2"
    assert verified_claims(world, after, keys)["pid"] == "12345678901"
    # The old key is still published: tokens signed before the rotation still verify.
    assert verified_claims(world, before, keys)["sub"] == "user-1"


async def test_logging_in_as_someone_else_in_the_same_browser(world: World) -> None:
    """The OP keeps its session: the same browser gets the same account back without a login,
    until prompt=login (where the OP ends the old session with a self-submitting form)."""
    await world.op.next_login("user-1", "12345678901", HIGH)
    async with httpx.AsyncClient(timeout=10) as browser:
        first = await log_in(world, browser)
        await world.op.next_login("user-2", None, SUBSTANTIAL)
        again = await log_in(world, browser)
        other = await log_in(world, browser, prompt="login", acr=SUBSTANTIAL)
    keys = await op_keys(world)
    assert verified_claims(world, first, keys)["sub"] == "user-1"
    assert verified_claims(world, again, keys)["sub"] == "user-1"
    claims = verified_claims(world, other, keys)
    assert (claims["sub"], claims["acr"], "pid" in claims) == ("user-2", SUBSTANTIAL, False)


async def test_rp_initiated_logout(world: World) -> None:
    await world.op.next_login("user-1", "12345678901", HIGH)
    async with httpx.AsyncClient(timeout=10) as browser:
        login = await log_in(world, browser)
        query = urlencode(
            {
                "id_token_hint": login.id_token,
                "post_logout_redirect_uri": world.post_logout_redirect_uri,
                "state": "bye",
            }
        )
        end_session = f"{world.discovery['end_session_endpoint']}?{query}"
        page = await browser.get(end_session)
        assert page.status_code == 200, page.text  # the confirmation page
        location = await follow_to_client(browser, end_session, world.post_logout_redirect_uri)
        assert location == f"{world.post_logout_redirect_uri}?state=bye"
        # The session is gone: the next authorization asks for a login again.
        await world.op.next_login("user-2", None, SUBSTANTIAL)
        after = await log_in(world, browser, acr=SUBSTANTIAL)
    assert verified_claims(world, after, await op_keys(world))["sub"] == "user-2"
