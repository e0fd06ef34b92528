"""Schema extensions: error codes on every error, masking, and the auth-mutation rule."""

from __future__ import annotations

import logging
import re

from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, MaskErrors

from resolvers.errors import CODES

log = logging.getLogger("plangruppe.errors")

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000

# Mutations that guess secrets: each must be the only field of its request.
AUTH_MUTATIONS = frozenset(
    {
        "login",
        "verifyLoginCode",
        "changePassword",
        "resetPassword",
        "requestPasswordReset",
        "confirmAuthenticatorApp",
    }
)

_LIMITS = (
    (re.compile(r"exceeds maximum operation depth"), MAX_DEPTH),
    (re.compile(r"aliases found\. Allowed"), MAX_ALIASES),
    (re.compile(r"more than \d+ tokens"), MAX_TOKENS),
    (re.compile(r"must be the only field"), 1),
)


def _is_expected(error: GraphQLError) -> bool:
    """Our own errors (with a contract code) and GraphQL's parse/validation errors."""
    code = (error.extensions or {}).get("code")
    if code in CODES:
        return True
    return error.original_error is None


class ErrorCodes(MaskErrors):
    """Every error leaves with a code; anything unexpected is masked as INTERNAL and logged."""

    def __init__(self) -> None:
        super().__init__(
            should_mask_error=lambda e: not _is_expected(e), error_message="Internal error."
        )

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        log.error("unexpected error at %s", error.path, exc_info=error.original_error)
        return GraphQLError(
            message=self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL"},
        )

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [_with_code(e) for e in super()._process_errors(errors)]


def _with_code(error: GraphQLError) -> GraphQLError:
    if (error.extensions or {}).get("code"):
        return error
    for pattern, limit in _LIMITS:
        if pattern.search(error.message):
            error.extensions = {"code": "QUERY_TOO_COMPLEX", "limit": limit}
            return error
    error.extensions = {"code": "BAD_USER_INPUT"}
    return error


class _AuthMutationAlone(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: object) -> None:
        if node.operation != OperationType.MUTATION:
            return
        fields = [s for s in node.selection_set.selections]
        names = {f.name.value for f in fields if isinstance(f, FieldNode)}
        if names & AUTH_MUTATIONS and len(fields) > 1:
            self.report_error(
                GraphQLError(
                    "A login or password mutation must be the only field of its request.",
                    nodes=node,
                )
            )


class AuthMutationAlone(AddValidationRules):
    """One operation per request for auth mutations: no aliased guessing in bulk."""

    def __init__(self) -> None:
        super().__init__([_AuthMutationAlone])
