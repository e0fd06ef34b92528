"""The GraphQL schema: types, enums, inputs and the Schema object."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionContext
from strawberry.types.execution import ExecutionResult
from strawberry.types.graphql import OperationType

from resolvers.compiled.executor import CompiledExecutor
from schema.enums import Section
from schema.extensions import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_TOKENS,
    AccessLogWriter,
    ApiKeyScope,
    AuthMutationAlone,
    CachedParser,
    DepthLimiter,
    ErrorCodes,
    TextArguments,
)
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import SCALAR_OVERRIDES
from schema.subscription import Subscription


class _Schema(strawberry.Schema):
    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Subscriptions run only over the WebSocket (`stream`): executed over HTTP they
        answered INTERNAL ("Cannot return null for non-nullable field")."""
        if allowed_operation_types is None:
            allowed_operation_types = DEFAULT_ALLOWED_OPERATION_TYPES
        allowed = set(allowed_operation_types)
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors are answers, not incidents; ErrorCodes logs the unexpected ones."""

    @staticmethod
    def remove_field_suggestion(error: GraphQLError) -> None:
        """With suggestions off, hide them all: arguments, types and enum values too."""
        if "Did you mean" in error.message:
            error.message = error.message.split("Did you mean")[0].strip()


# The depth and alias limits as validation rules, made once. The validation cache is keyed by
# the rules, and each limiter instance makes new rule classes: built per request, as an
# extension factory does, no request ever found its validation in the cache.
_LIMIT_RULES = (
    *DepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
)


def build_schema(*, production: bool = False) -> strawberry.Schema:
    """The schema with its limits; production also hides introspection and suggestions."""
    # Factories, not instances: every request gets fresh extension objects.
    extensions: list[Callable[[], SchemaExtension]] = [
        ErrorCodes,
        AccessLogWriter,
        ApiKeyScope,
        TextArguments,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(list(_LIMIT_RULES)),
        AuthMutationAlone,
        lambda: CachedParser(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
    if production:
        extensions.append(DisableIntrospection)
    return _Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Section],
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
        execution_context_class=CompiledExecutor,
        scalar_overrides=SCALAR_OVERRIDES,
    )


def print_sdl() -> str:
    return build_schema().as_str() + "\n"
