"""OpenID Connect login (ID-porten, HelseID, Entra ID): authorization code flow with PKCE,
state and nonce, as a confidential client authenticating with private_key_jwt (docs/oidc.md).

The JOSE work is joserfc's and the OAuth client is Authlib's; this module decides what a
verified login means here: which person an identity is linked to, whether the level (acr) is
high enough, and the gateway's own session that results. A national identity number is
never stored or shown: only its HMAC under PLANGRUPPE_IDENTITY_HASH_KEY."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from db import accounts, oidc
from db.pool import Conn
from gateway.oidc_settings import OidcProvider
from resolvers import account_admin, notify, texts, validation
from resolvers.audit_trail import audited
from resolvers.auth import NewSession, open_session, token_hash
from resolvers.context import Context
from resolvers.errors import bad_input, unauthenticated

log = logging.getLogger("plangruppe.oidc")

LOGIN_TTL = dt.timedelta(minutes=10)  # from the redirect to the provider until the callback
EXCHANGE_TTL = dt.timedelta(seconds=60)
METADATA_TTL = 3600.0
JWKS_MIN_REFRESH = 1.0  # seconds between two JWKS fetches for an unknown key id
HTTP_TIMEOUT = 10.0
ID_TOKEN_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
LEEWAY = 60  # seconds of clock difference accepted on exp/iat/nbf


class OidcFailure(Exception):
    """A login that cannot go on; ``code`` goes to the client, ``detail`` only to the log."""

    def __init__(self, code: str, message: str, status: int = 400, detail: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.detail = detail


@dataclass
class _Cache:
    metadata: dict[str, Any] | None = None
    metadata_at: float = 0.0
    keys: KeySet | None = None
    keys_at: float = 0.0


class ProviderClient:
    """What the gateway knows of one provider: discovery and its keys, fetched and kept."""

    def __init__(self, provider: OidcProvider) -> None:
        self.provider = provider
        self._cache = _Cache()
        self._lock = asyncio.Lock()

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
                response = await http.get(url)
                response.raise_for_status()
                data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcFailure(
                "PROVIDER_UNAVAILABLE",
                "The identity provider did not answer. Try again shortly.",
                502,
                f"{url}: {exc}",
            ) from None
        if not isinstance(data, dict):
            raise OidcFailure("PROVIDER_UNAVAILABLE", "The identity provider answered oddly.", 502)
        return data

    async def metadata(self) -> dict[str, Any]:
        cache = self._cache
        if cache.metadata is None or time.monotonic() - cache.metadata_at > METADATA_TTL:
            url = f"{self.provider.issuer}/.well-known/openid-configuration"
            found = await self._get_json(url)
            if found.get("issuer", "").rstrip("/") != self.provider.issuer:
                raise OidcFailure(
                    "PROVIDER_UNAVAILABLE",
                    "The identity provider's configuration does not name it as issuer.",
                    502,
                    f"discovery issuer {found.get('issuer')!r}",
                )
            cache.metadata, cache.metadata_at = found, time.monotonic()
        return cache.metadata

    async def keys(self, *, refresh: bool = False) -> KeySet:
        """The provider's signing keys; fetched again when a token names a key we do not
        have (the provider rotated), at most once a second."""
        cache = self._cache
        async with self._lock:
            stale = refresh and time.monotonic() - cache.keys_at > JWKS_MIN_REFRESH
            if cache.keys is None or stale:
                meta = await self.metadata()
                data = await self._get_json(str(meta["jwks_uri"]))
                try:
                    cache.keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError) as exc:
                    raise OidcFailure(
                        "PROVIDER_UNAVAILABLE", "The provider's keys are unreadable.", 502, str(exc)
                    ) from None
                cache.keys_at = time.monotonic()
            return cache.keys

    def _client(self, redirect_uri: str, meta: dict[str, Any]) -> AsyncOAuth2Client:
        p = self.provider
        client = AsyncOAuth2Client(
            client_id=p.client_id,
            client_secret=p.private_key,
            token_endpoint_auth_method="private_key_jwt",  # noqa: S106 - a method name
            redirect_uri=redirect_uri,
            scope=" ".join(p.scopes),
            code_challenge_method="S256",
            timeout=HTTP_TIMEOUT,
        )
        # The assertion's audience is the issuer (ID-porten requires it; oidc-provider and
        # HelseID accept it), signed with the configured key and its kid.
        client.register_client_auth_method(
            PrivateKeyJWT(
                p.issuer,
                headers={"kid": p.private_key.kid} if p.private_key.kid else None,
                alg=p.signing_alg,
            )
        )
        return client

    async def authorization_url(
        self, redirect_uri: str, state: str, nonce: str, code_verifier: str
    ) -> str:
        meta = await self.metadata()
        p = self.provider
        async with self._client(redirect_uri, meta) as client:
            url, _ = client.create_authorization_url(
                str(meta["authorization_endpoint"]),
                state=state,
                nonce=nonce,
                code_verifier=code_verifier,
                acr_values=p.required_acr,
            )
        return str(url)

    async def exchange(self, redirect_uri: str, code: str, code_verifier: str) -> dict[str, Any]:
        meta = await self.metadata()
        async with self._client(redirect_uri, meta) as client:
            try:
                token = await client.fetch_token(
                    str(meta["token_endpoint"]), code=code, code_verifier=code_verifier
                )
            except (httpx.HTTPError, httpx2.HTTPError) as exc:
                raise OidcFailure(
                    "PROVIDER_UNAVAILABLE", "The identity provider did not answer.", 502, str(exc)
                ) from None
            except Exception as exc:
                raise OidcFailure(
                    "LOGIN_FAILED",
                    "The identity provider refused the login. Start again.",
                    400,
                    f"token endpoint: {exc}",
                ) from None
        return dict(token)

    async def verify_id_token(
        self, id_token: str, *, nonce: str, now: dt.datetime
    ) -> dict[str, Any]:
        """The ID token's claims, if it is signed by the provider's key and its issuer,
        audience, expiry, nonce and level are right."""
        p = self.provider
        try:
            try:
                token = jwt.decode(id_token, await self.keys(), algorithms=ID_TOKEN_ALGS)
            except InvalidKeyIdError:
                token = jwt.decode(
                    id_token, await self.keys(refresh=True), algorithms=ID_TOKEN_ALGS
                )
            registry = jwt.JWTClaimsRegistry(
                now=int(now.timestamp()),
                leeway=LEEWAY,
                iss={"essential": True, "value": p.issuer},
                aud={"essential": True, "value": p.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise OidcFailure(
                "LOGIN_FAILED",
                "The identity provider's answer could not be verified. Start again.",
                400,
                f"ID token: {type(exc).__name__}: {exc}",
            ) from None
        claims = dict(token.claims)
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != p.client_id:
            raise OidcFailure("LOGIN_FAILED", "The ID token is meant for someone else.", 400)
        if p.level(claims.get("acr")) < p.level(p.required_acr):
            raise OidcFailure(
                "LEVEL_TOO_LOW",
                f"This service needs login at level {p.required_acr}.",
                403,
                f"acr {claims.get('acr')!r}",
            )
        return claims


_CLIENTS: dict[tuple[str, str], ProviderClient] = {}


def client_for(provider: OidcProvider) -> ProviderClient:
    key = (provider.name, provider.issuer)
    if key not in _CLIENTS:
        _CLIENTS[key] = ProviderClient(provider)
    return _CLIENTS[key]


def _hash(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def national_hmac(ctx: Context, number: str) -> bytes:
    key = ctx.settings.identity_hash_key
    assert key is not None, "OIDC on without PLANGRUPPE_IDENTITY_HASH_KEY (settings refuse it)"
    return hmac.new(key, number.strip().encode(), hashlib.sha256).digest()


def callback_url(ctx: Context, provider: OidcProvider) -> str:
    return f"{ctx.settings.public_url}/auth/oidc/{provider.name}/callback"


async def begin(
    ctx: Context,
    provider: OidcProvider,
    *,
    app_redirect: str | None,
    return_to: str | None,
    invitation: str | None,
) -> tuple[str, str]:
    """Record a login under way; the provider's authorization URL and the value the
    browser must hold (as a cookie) to finish it."""
    state = secrets.token_urlsafe(32)
    browser = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    url = await client_for(provider).authorization_url(
        callback_url(ctx, provider), state, nonce, verifier
    )
    now = ctx.now()
    async with ctx.pool.acquire() as conn, conn.transaction():
        await oidc.begin(
            conn,
            state_hash=_hash(state),
            browser_hash=_hash(browser),
            provider=provider.name,
            nonce=nonce,
            code_verifier=verifier,
            mode="APP" if app_redirect else "BROWSER",
            app_redirect=app_redirect,
            return_to=return_to,
            invitation_hash=token_hash(invitation) if invitation else None,
            now=now,
            expires_at=now + LOGIN_TTL,
        )
    return url, browser


@dataclass(frozen=True)
class Finished:
    """A verified login: a browser session (token) or a native app's exchange code."""

    pending: oidc.PendingLogin
    session: NewSession | None = None
    exchange_code: str | None = None


async def finish(
    ctx: Context, provider: OidcProvider, state: str, code: str, browser: str | None
) -> Finished:
    """The callback: the state used once, by the browser that started the login; the code
    exchanged, the ID token verified, the identity matched to a person with an account; then
    a session or an exchange code."""
    now = ctx.now()
    async with ctx.pool.acquire() as conn:
        pending = await oidc.take_login(conn, _hash(state), now)
    if pending is None or pending.provider != provider.name:
        raise OidcFailure(
            "LOGIN_EXPIRED", "This login has expired or was already used. Start again.", 400
        )
    if browser is None or not hmac.compare_digest(pending.browser_hash, _hash(browser)):
        # Someone else's login (a link sent to the victim) must not log this browser in.
        raise OidcFailure(
            "WRONG_BROWSER", "This login was started in another browser. Start again here.", 400
        )
    client = client_for(provider)
    tokens = await client.exchange(callback_url(ctx, provider), code, pending.code_verifier)
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise OidcFailure("LOGIN_FAILED", "The identity provider sent no ID token.", 400)
    claims = await client.verify_id_token(id_token, nonce=pending.nonce, now=now)
    identity = claims.get(provider.identity_claim)
    if not isinstance(identity, str) or not identity:
        raise OidcFailure(
            "LOGIN_FAILED",
            "The identity provider did not say who logged in.",
            400,
            f"no {provider.identity_claim} claim",
        )
    national = national_hmac(ctx, identity) if provider.national_id else None
    subject = None if provider.national_id else identity
    sealed_id_token = ctx.settings.secret_box.seal(id_token)
    async with ctx.pool.acquire() as conn, conn.transaction():
        person_id = await oidc.person_by_identity(
            conn, provider=provider.name, subject=subject, national_hmac=national
        )
        if person_id is None and pending.invitation_hash is not None:
            person_id = await _link_by_invitation(
                conn, ctx, provider, pending.invitation_hash, subject, national
            )
        account = await accounts.by_person(conn, person_id) if person_id else None
        if account is not None and account.deactivated_at is not None:
            raise OidcFailure(
                "ACCOUNT_DEACTIVATED",
                "This account is deactivated. Ask your municipality if you need it again.",
                403,
            )
        if account is not None:
            return await _signed_in(conn, ctx, provider, pending, account, claims, sealed_id_token)
    # Outside the transaction above, which wrote nothing: the refusal itself is audited.
    async with ctx.pool.acquire() as conn:
        await audited(
            conn,
            ctx,
            "login.oidc_unknown_identity",
            actor_id=None,
            at=now,
            detail={"provider": provider.name},
        )
    raise OidcFailure(
        "IDENTITY_NOT_LINKED",
        "This identity is not linked to anyone here. Ask your coordinator or an"
        " administrator to link it, or use the invitation you received.",
        403,
    )


async def _signed_in(
    conn: Conn,
    ctx: Context,
    provider: OidcProvider,
    pending: oidc.PendingLogin,
    account: accounts.AccountRow,
    claims: dict[str, Any],
    sealed_id_token: str,
) -> Finished:
    """A session (browser) or an exchange code (native app) for the verified person."""
    now = ctx.now()
    level = claims.get("acr") if isinstance(claims.get("acr"), str) else None
    detail = {"provider": provider.name, "level": level}
    if pending.mode == "APP":
        exchange = secrets.token_urlsafe(32)
        await oidc.insert_exchange_code(
            conn,
            code_hash=token_hash(exchange),
            account_id=account.id,
            provider=provider.name,
            auth_level=level,
            id_token=sealed_id_token,
            now=now,
            expires_at=now + EXCHANGE_TTL,
        )
        await audited(
            conn,
            ctx,
            "login.oidc_exchange_issued",
            actor_id=account.person_id,
            at=now,
            detail=detail,
        )
        return Finished(pending, exchange_code=exchange)
    session = await open_session(
        conn,
        ctx,
        account,
        now,
        provider=provider.name,
        level=level,
        sealed_id_token=sealed_id_token,
    )
    await audited(
        conn, ctx, "login.oidc_success", actor_id=account.person_id, at=now, detail=detail
    )
    return Finished(pending, session=session)


async def _link_by_invitation(
    conn: Conn,
    ctx: Context,
    provider: OidcProvider,
    invitation_hash: bytes,
    subject: str | None,
    national: bytes | None,
) -> uuid.UUID | None:
    """An unknown identity links itself to the person an unused invitation was sent to; the
    invitation is spent (as setting a password from it would)."""
    now = ctx.now()
    row = await accounts.token_for_update(conn, invitation_hash)
    if row is None or row.kind != "INVITATION" or row.used_at is not None or row.expires_at <= now:
        return None
    account = await accounts.by_id(conn, row.account_id)
    assert account is not None
    if account.deactivated_at is not None:
        return None
    linked = await oidc.link(
        conn,
        person_id=account.person_id,
        provider=provider.name,
        subject=subject,
        national_hmac=national,
        now=now,
        linked_by=account.person_id,
        how="INVITATION",
    )
    if not linked:
        return None
    await accounts.use_token(conn, row.id, now)
    if row.sent_to:
        await accounts.set_confirmed_contact(conn, account.id, "EMAIL", row.sent_to)
    await audited(
        conn,
        ctx,
        "identity.linked_by_invitation",
        actor_id=account.person_id,
        target=account.person_id,
        at=now,
        detail={"provider": provider.name},
    )
    return account.person_id


async def link_identity(ctx: Context, person_id: str, provider_name: str, identity: str) -> bool:
    """Link a login identity to a person with an account (policy.account_manage_denial). The
    person is told by e-mail, as of any new key to their account."""
    viewer = ctx.viewer
    if viewer is None:
        raise unauthenticated()
    pid = validation.identifier("personId", person_id)
    provider = ctx.settings.oidc_provider(provider_name)
    if provider is None:
        raise bad_input("provider", "No identity provider of that name is configured.")
    identity = identity.strip()
    if provider.national_id:
        if not (len(identity) == 11 and identity.isdigit()):
            raise bad_input("identity", "A national identity number has 11 digits.")
    elif not 0 < len(identity) <= 255 or not identity.isprintable():
        raise bad_input("identity", "The provider's subject is 1-255 printable characters.")
    now = ctx.now()
    async with ctx.pool.acquire() as conn, conn.transaction():
        # A linked identity is a key to the account: the account-management rule decides.
        await account_admin.managed_person(conn, ctx, pid)
        account = await accounts.by_person(conn, pid)
        if account is None:
            raise bad_input("personId", "The person needs an account first (createAccount).")
        national = national_hmac(ctx, identity) if provider.national_id else None
        linked = await oidc.link(
            conn,
            person_id=pid,
            provider=provider.name,
            subject=None if national else identity,
            national_hmac=national,
            now=now,
            linked_by=viewer.person_id,
            how="ADMIN",
        )
        if not linked:
            raise bad_input("identity", "This identity is already linked.")
        await audited(
            conn, ctx, "identity.linked", target=pid, at=now, detail={"provider": provider.name}
        )
        if account.confirmed_email:
            await notify.queue_email(
                conn, account.confirmed_email, texts.change_notice("IDENTITY"), now
            )
    return True


async def provider_logout_url(ctx: Context, session_id: uuid.UUID, after: str | None) -> str | None:
    """Where the browser ends the provider's session too (RP-initiated logout), when the
    session came from a provider that offers it."""
    async with ctx.pool.acquire() as conn:
        name, sealed = await accounts.session_provider_logout(conn, session_id)
    provider = ctx.settings.oidc_provider(name) if name else None
    if provider is None:
        return None
    try:
        meta = await client_for(provider).metadata()
    except OidcFailure:
        return None
    endpoint = meta.get("end_session_endpoint")
    if not isinstance(endpoint, str):
        return None
    params = {"client_id": provider.client_id, "state": secrets.token_urlsafe(16)}
    if sealed:
        params["id_token_hint"] = ctx.settings.secret_box.open(sealed)
    if after:
        params["post_logout_redirect_uri"] = after
    return f"{endpoint}?{urlencode(params)}"
