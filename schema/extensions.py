"""Schema extensions: error codes on every error, masking, and the auth-mutation rule."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from unicodedata import is_normalized

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Lexer,
    ListValueNode,
    ObjectFieldNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    Token,
    TokenKind,
    ValidationRule,
    ValueNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql import (
    ExecutionResult as GraphQLExecutionResult,
)
from graphql.validation import ASTValidationRule, ValidationContext
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.types.graphql import OperationType as StrawberryOperationType

from gateway import metrics
from resolvers import access_log, policy, validation
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
        "confirmContactChange",
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
        processed = [_with_code(e) for e in super()._process_errors(errors)]
        metrics.count_errors([(e.extensions or {}).get("code") for e in processed])
        return processed


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


class _EmptySelections(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.first: SelectionSetNode | None = None

    def enter_selection_set(self, node: SelectionSetNode, *_args: object) -> None:
        if not node.selections and self.first is None:
            self.first = node


def _non_empty_first(depth_rule: type[ASTValidationRule]) -> type[ValidationRule]:
    class NonEmptyThenDepth(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            empty = _EmptySelections()
            visit(context.document, empty)
            if empty.first is not None:
                message = "A selection set must name at least one field."
                context.report_error(GraphQLError(message, empty.first))
            else:
                depth_rule(context)

    return NonEmptyThenDepth


class DepthLimiter(QueryDepthLimiter):
    """QueryDepthLimiter that first refuses empty selection sets: graphql-core 3.3 parses
    `{ me { } }`, and the limiter then failed with a bare ValueError and no code."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(max_depth=max_depth)
        self.validation_rules = [_non_empty_first(rule) for rule in self.validation_rules]


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
            reads_reports_only = operation == StrawberryOperationType.QUERY and names <= {
                "reports",
                "__typename",
            }
            denial = policy.api_key_request_denial(reads_reports_only=reads_reports_only)
            if denial:
                self.execution_context.result = GraphQLExecutionResult(
                    data=None, errors=[forbidden(denial, "An API key may only read reports.")]
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


class TextArguments(SchemaExtension):
    """Text arrives in Unicode NFC, and text that is not Unicode at all (a lone surrogate, as
    a JSON "\\ud800" escape can carry) is BAD_USER_INPUT naming the argument, never INTERNAL.

    Before execution, so no resolver and no GraphQL coercion sees other text: variables are
    checked and normalised (GraphQL's messages for a bad enum or date would echo a surrogate
    and break the JSON answer), and string literals normalised (in a copy of the parsed
    document, only when the query text is not NFC or holds \\u escapes). The parser refuses
    a surrogate in a literal; the argument is then found by lexing the query up to it."""

    def on_operation(self) -> Iterator[None]:
        yield
        for error in getattr(self.execution_context.result, "errors", None) or ():
            name = _literal_argument(error)
            if name is not None:
                error.extensions = {"code": "BAD_USER_INPUT", "field": name}

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        variables = context.variables or {}
        if context.result is None and validation.lone_surrogate_at("", variables) is not None:
            fault = _variable_fault(context.graphql_document, variables)
            context.result = GraphQLExecutionResult(
                data=None, errors=[validation.not_unicode(fault)]
            )
        else:
            for name, value in variables.items():
                variables[name] = validation.nfc(value)
            query, document = context.query or "", context.graphql_document
            if document is not None and ("\\u" in query or not is_normalized("NFC", query)):
                context.graphql_document = visit(document, _NfcLiterals())
        yield


class _NfcLiterals(Visitor):
    """A copy of the document with every string literal in NFC."""

    def enter_string_value(self, node: StringValueNode, *_args: object) -> StringValueNode:
        return StringValueNode(
            value=str(validation.nfc(node.value)), block=node.block, loc=node.loc
        )


_BAD_STRING = ("Invalid character within String", "Invalid Unicode escape sequence")
_OPENING = {TokenKind.BRACKET_L, TokenKind.BRACE_L}
_CLOSING = {TokenKind.BRACKET_R, TokenKind.BRACE_R}


def _literal_argument(error: GraphQLError) -> str | None:
    """The argument or input field whose string literal the parser refused, if that is the
    error."""
    if error.source is None or not error.positions:
        return None
    if not any(text in error.message for text in _BAD_STRING):
        return None
    tokens: list[Token] = []
    lexer = Lexer(error.source)
    with contextlib.suppress(GraphQLError):  # the lexer stops at the fault
        while (token := lexer.advance()).kind != TokenKind.EOF:
            tokens.append(token)
    return _name_before(tokens)


def _name_before(tokens: list[Token]) -> str | None:
    """Walking back from the end: the `name:` whose value the last token is part of."""
    depth = 0
    for i in range(len(tokens) - 1, 0, -1):
        kind = tokens[i].kind
        if kind in _CLOSING:
            depth += 1
        elif kind in _OPENING:
            depth = max(depth - 1, 0)
        elif kind == TokenKind.COLON and depth == 0 and tokens[i - 1].kind == TokenKind.NAME:
            return tokens[i - 1].value
    return None


def _variable_fault(document: DocumentNode | None, variables: dict[str, Any]) -> str:
    """The argument (or input field) where a variable with a lone surrogate is used."""
    uses = _VariableUses()
    if document is not None:
        visit(document, uses)
    for name, value in variables.items():
        if validation.lone_surrogate_at("", name) is not None:
            break
        fault = validation.lone_surrogate_at(uses.argument.get(name, name), value)
        if fault is not None:
            return fault
    return "variables"


class _VariableUses(Visitor):
    """Which argument or input field each variable is given to (the first, if several)."""

    def __init__(self) -> None:
        super().__init__()
        self.argument: dict[str, str] = {}

    def enter_argument(self, node: ArgumentNode, *_args: object) -> None:
        self._note(node.name.value, node.value)

    def enter_object_field(self, node: ObjectFieldNode, *_args: object) -> None:
        self._note(node.name.value, node.value)

    def _note(self, name: str, value: ValueNode) -> None:
        if isinstance(value, VariableNode):
            self.argument.setdefault(value.name.value, name)
        elif isinstance(value, ListValueNode):
            for item in value.values:
                self._note(name, item)
