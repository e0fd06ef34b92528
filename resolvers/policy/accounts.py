"""Logging in: an account uses only a login channel the municipality permits
(PLANGRUPPE_OTP_CHANNELS, docs/login-security.md)."""

from __future__ import annotations

from resolvers.policy.expr import Rule, case
from resolvers.policy.facts import F
from resolvers.policy.reasons import Denial, Reason

LOGIN_CHANNEL = Rule(
    "login_channel",
    "A login, or setting up an authenticator app, needs a one-time-code channel the"
    " municipality permits: without one the account cannot log in that way.",
    case((F.channel_usable, None), otherwise=Reason.ROLE_REQUIRED),
)


def login_channel_denial(*, channel_usable: bool) -> Denial:
    denial: Denial = LOGIN_CHANNEL({"channel_usable": channel_usable})
    return denial
