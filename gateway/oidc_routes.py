"""The OpenID Connect endpoints (docs/oidc.md):

- `GET /auth/oidc/{provider}/login` redirects to the provider. `return_to` (a path here, or
  an allowed browser origin's URL) is where a browser lands afterwards; `app_redirect` (one
  of PLANGRUPPE_OIDC_APP_REDIRECTS) makes it a native app's login; `invitation` (the token of
  an invitation link) lets an unknown identity link itself to the invited person.
- `GET /auth/oidc/{provider}/callback` finishes it: a browser gets the session as a
  `__Host-` cookie (Secure, HttpOnly, SameSite=Lax) and a readable CSRF cookie whose value
  every cookie-authenticated request must repeat in `X-CSRF-Token`; a native app is sent
  to its redirect with a one-time exchange code for `exchangeLoginCode`. Only the browser
  that started the login (it holds the `__Host-plangruppe-login` cookie) can finish it.

A failure answers with a JSON error (`{"error": {"code", "message"}}`) and its status; the
details go to the log only."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.authentication import credentials
from gateway.database import UNAVAILABLE_ERRORS
from gateway.state import GatewayState
from resolvers import oidc
from resolvers.auth import SESSION_MAX
from resolvers.session_cookies import CSRF_COOKIE, SESSION_COOKIE

log = logging.getLogger("plangruppe.oidc")

MAX_PARAM = 2048


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


# Binds a login to the browser that started it (login CSRF).
LOGIN_COOKIE = "__Host-plangruppe-login"
_NO_PROVIDER = _error(404, "NOT_FOUND", "No such identity provider.")


def _return_to(value: str | None, state: GatewayState) -> str | None:
    """A path on this gateway, or a URL on an allowed browser origin; anything else is
    refused (no open redirect)."""
    if value is None:
        return None
    if value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    parts = urlsplit(value)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if parts.scheme in ("http", "https") and origin in state.settings.cors_origins:
        return value
    raise ValueError("return_to")


def set_session_cookies(response: Response, token: str) -> None:
    """The session for a browser: the token HttpOnly, and a CSRF value the page can read."""
    age = int(SESSION_MAX.total_seconds())
    response.set_cookie(
        SESSION_COOKIE, token, max_age=age, path="/", secure=True, httponly=True, samesite="lax"
    )
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(32),
        max_age=age,
        path="/",
        secure=True,
        httponly=False,
        samesite="lax",
    )


def routes(state: Callable[[], GatewayState]) -> list[Route]:
    async def login(request: Request) -> Response:
        gateway = state()
        provider = gateway.settings.oidc_provider(request.path_params["provider"])
        if provider is None:
            return _NO_PROVIDER
        params = request.query_params
        if any(len(v) > MAX_PARAM for v in params.values()):
            return _error(400, "BAD_USER_INPUT", "A parameter is too long.")
        app_redirect = params.get("app_redirect")
        if app_redirect is not None and app_redirect not in gateway.settings.oidc_app_redirects:
            return _error(400, "BAD_USER_INPUT", "app_redirect is not a registered app redirect.")
        try:
            return_to = _return_to(params.get("return_to"), gateway)
        except ValueError:
            return _error(400, "BAD_USER_INPUT", "return_to must be a path or an allowed origin.")
        ctx = gateway.context(None, None, credentials(request.scope).client, request)
        try:
            url, browser = await oidc.begin(
                ctx,
                provider,
                app_redirect=app_redirect,
                return_to=return_to,
                invitation=params.get("invitation"),
            )
        except oidc.OidcFailure as failure:
            log.warning("oidc login %s: %s %s", provider.name, failure.code, failure.detail)
            return _error(failure.status, failure.code, failure.message)
        except UNAVAILABLE_ERRORS:
            return _error(503, "SERVICE_UNAVAILABLE", "Try again shortly.")
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(
            LOGIN_COOKIE,
            browser,
            max_age=int(oidc.LOGIN_TTL.total_seconds()),
            path="/",
            secure=True,
            httponly=True,
            samesite="lax",
        )
        return response

    async def callback(request: Request) -> Response:
        gateway = state()
        provider = gateway.settings.oidc_provider(request.path_params["provider"])
        if provider is None:
            return _NO_PROVIDER
        params = request.query_params
        code, state_value = params.get("code"), params.get("state")
        if params.get("error"):
            return _error(400, "LOGIN_CANCELLED", "The login was cancelled at the provider.")
        if not code or not state_value or len(code) > MAX_PARAM or len(state_value) > MAX_PARAM:
            return _error(400, "BAD_USER_INPUT", "code and state are required.")
        iss = params.get("iss")
        if iss is not None and iss.rstrip("/") != provider.issuer:
            # RFC 9207: the answer names the provider that sent it (mix-up defence).
            return _error(400, "LOGIN_FAILED", "The answer came from another provider.")
        ctx = gateway.context(None, None, credentials(request.scope).client, request)
        try:
            browser = request.cookies.get(LOGIN_COOKIE)
            done = await oidc.finish(ctx, provider, state_value, code, browser)
        except oidc.OidcFailure as failure:
            log.warning("oidc callback %s: %s %s", provider.name, failure.code, failure.detail)
            return _error(failure.status, failure.code, failure.message)
        except UNAVAILABLE_ERRORS:
            return _error(503, "SERVICE_UNAVAILABLE", "Try again shortly.")
        if done.exchange_code is not None:
            target = done.pending.app_redirect
            assert target is not None
            joiner = "&" if "?" in target else "?"
            url = f"{target}{joiner}{urlencode({'code': done.exchange_code})}"
            return RedirectResponse(url, status_code=303)
        assert done.session is not None
        response = RedirectResponse(done.pending.return_to or "/", status_code=303)
        set_session_cookies(response, done.session.token)
        response.delete_cookie(LOGIN_COOKIE, path="/", secure=True, samesite="lax")
        return response

    return [
        Route("/auth/oidc/{provider}/login", login, methods=["GET"]),
        Route("/auth/oidc/{provider}/callback", callback, methods=["GET"]),
    ]
