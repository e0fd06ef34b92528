"""A browser's session cookies after an OpenID Connect login: their names, and clearing them.

Set by gateway/oidc_routes.py, read by gateway/authentication.py, cleared by endSession
(resolvers/auth.py): one place for all three.
"""

from __future__ import annotations

# The token, HttpOnly; and a CSRF value the page can read and repeats in a header (or, on the
# WebSocket, as `csrfToken` in connection_init).
SESSION_COOKIE = "__Host-plangruppe-session"
CSRF_COOKIE = "__Host-plangruppe-csrf"


def clear(response: object) -> None:
    """Both cookies expired on ``response`` (a Starlette response; anything else: nothing)."""
    delete = getattr(response, "delete_cookie", None)
    if delete is not None:
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            delete(name, path="/", secure=True, samesite="lax")
