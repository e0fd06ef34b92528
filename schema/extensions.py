"""Schema extensions: error codes on every error, masking, and the auth-mutation rule."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
)
from graphql import (
    ExecutionResult as GraphQLExecutionResult,
)
from strawberry.extensions import AddValidationRules, MaskErrors, ParserCache, SchemaExtension
from strawberry.types.graphql import OperationType as StrawberryOperationType

from resolvers import access_log
from resolvers.context import Context
from resolvers.errors import CODES, forbidden

log = logging.getLogger("plangruppe.errors")

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000
# graphql-core's MaxIntrospectionDepthRule: nested __Type lists (fields, interfaces, ...).
MAX_INTROSPECTION_LISTS = 3

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
    (re.compile(r"Maximum introspection depth exceeded"), MAX_INTROSPECTION_LISTS),
    (re.compile(r"must be the only field"), 1),
)


def _is_expected(error: GraphQLError) -> bool:
    """Our own errors (with a contract code) and GraphQL's parse/validation errors."""
    code = (error.extensions or {}).get("code")
    if code in CODES:
        return True
    if error.original_error is None:
        return True
    # A variable that does not fit its type (an unknown enum value, a malformed date) is
    # reported before execution, wrapping GraphQL's own error: bad input, not a fault.
    return error.path is None and isinstance(error.original_error, GraphQLError)


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


class CachedParser(ParserCache):
    """ParserCache whose parse errors reach ErrorCodes.

    ParserCache parses in its hook, outside Strawberry's handling of parse errors, so a
    syntax error (or the token limit) skipped every extension and left without a code.
    On failure we leave the document unset: Strawberry parses again and reports it.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        except GraphQLError:
            context.graphql_document = None
        yield


class _AuthMutationAlone(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: object) -> None:
        if node.operation != OperationType.MUTATION:
            return
        fields = self._root_fields(node.selection_set, frozenset())
        names = {f.name.value for f in fields}
        if names & AUTH_MUTATIONS and len(fields) > 1:
            self.report_error(
                GraphQLError(
                    "A login or password mutation must be the only field of its request.",
                    nodes=node,
                )
            )

    def _root_fields(self, selections: SelectionSetNode, seen: frozenset[str]) -> list[FieldNode]:
        """The operation's top-level fields, looking through inline fragments and spreads."""
        fields: list[FieldNode] = []
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                fields.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                fields += self._root_fields(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.context.get_fragment(name)
                if fragment is not None and name not in seen:
                    fields += self._root_fields(fragment.selection_set, seen | {name})
        return fields


class AuthMutationAlone(AddValidationRules):
    """One operation per request for auth mutations: no aliased guessing in bulk."""

    def __init__(self) -> None:
        super().__init__([_AuthMutationAlone])


class AccessLogWriter(SchemaExtension):
    """Innsyn i logg: after each operation, write what the viewer read (one row per plan
    section or person field, however many fields touched it)."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        ctx = self.execution_context.context
        if isinstance(ctx, Context) and ctx.reads:
            await access_log.flush(ctx)


class ApiKeyScope(SchemaExtension):
    """A reporting tool's key opens `reports` and nothing else."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context.context
        if isinstance(ctx, Context) and ctx.api_key is not None:
            operation = self.execution_context.operation_type
            names = _root_fields(self.execution_context.graphql_document)
            if operation != StrawberryOperationType.QUERY or not names <= {"reports", "__typename"}:
                self.execution_context.result = GraphQLExecutionResult(
                    data=None,
                    errors=[forbidden("ROLE_REQUIRED", "An API key may only read reports.")],
                )
        yield


def _root_fields(document: DocumentNode | None) -> set[str]:
    names: set[str] = set()
    for definition in document.definitions if document else ():
        if isinstance(definition, OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                if isinstance(selection, FieldNode):
                    names.add(selection.name.value)
                else:
                    names.add("<fragment>")
    return names
