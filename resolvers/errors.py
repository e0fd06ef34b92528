"""Errors with the contract's codes (API.md, "Error codes")."""

from __future__ import annotations

import math

from graphql import GraphQLError

from resolvers.policy.reasons import Reason

CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "BAD_USER_INPUT",
        "WEAK_PASSWORD",
        "INVALID_CREDENTIALS",
        "CODE_EXPIRED",
        "RATE_LIMITED",
        "DUPLICATE_PERSON",
        "POSSIBLE_DUPLICATE",
        "QUERY_TOO_COMPLEX",
        "INTERNAL",
        # Added beside the contract's: a password login by a role that must use an
        # identity provider (PLANGRUPPE_REQUIRE_OIDC_FOR; docs/oidc.md).
        "OIDC_REQUIRED",
    }
)


def app_error(code: str, message: str, **extensions: object) -> GraphQLError:
    assert code in CODES, code
    return GraphQLError(message, extensions={"code": code, **extensions})


def unauthenticated() -> GraphQLError:
    return app_error("UNAUTHENTICATED", "You must be logged in.")


def forbidden(reason: Reason, message: str | None = None) -> GraphQLError:
    return app_error("FORBIDDEN", message or _REASONS[reason], reason=reason.value)


def too_complex(limit: int, reason: str, message: str) -> GraphQLError:
    """QUERY_TOO_COMPLEX for a compiled statement: its cost (COST) or its time (TIMEOUT)."""
    return app_error("QUERY_TOO_COMPLEX", message, limit=limit, reason=reason)


def not_found(what: str = "object") -> GraphQLError:
    return app_error("NOT_FOUND", f"No such {what}.")


def bad_input(field: str, message: str) -> GraphQLError:
    return app_error("BAD_USER_INPUT", message, field=field)


def invalid_credentials() -> GraphQLError:
    return app_error("INVALID_CREDENTIALS", "Wrong username, password or code.")


def code_expired(
    message: str = "The code has expired or was already used. Log in again.",
) -> GraphQLError:
    return app_error("CODE_EXPIRED", message)


def rate_limited(retry_after: float) -> GraphQLError:
    seconds = max(1, math.ceil(retry_after))
    return app_error(
        "RATE_LIMITED",
        f"Too many attempts. Try again in {seconds} seconds.",
        retryAfterSeconds=seconds,
    )


_REASONS: dict[Reason, str] = {
    Reason.NOT_PARTICIPANT: "You do not take part in this plan.",
    Reason.NO_GRANT: "The consent does not give you access to this.",
    Reason.CONSENT_EXPIRED: "Your consent in this plan has expired or was revoked.",
    Reason.PLAN_ENDED: "The plan has ended and is read-only.",
    Reason.FIELD_HIDDEN: "The person has hidden this field from you.",
    Reason.ROLE_REQUIRED: "Your role does not allow this.",
    Reason.EDIT_WINDOW_CLOSED: "The message can no longer be changed: post a correction instead.",
}
