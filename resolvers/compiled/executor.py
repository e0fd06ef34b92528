"""The executor that answers covered root fields with one compiled statement each.

It runs inside Strawberry's execution, after parsing, validation, the limits and before error
masking: only ``execute_field`` of a root field changes. A root whose selection is not
covered, or whose statement says the resolvers must answer (an unknown or invisible id, a bad
argument), is executed exactly as without this class."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from graphql import GraphQLObjectType, located_error
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.compiled.answer import Answer
from resolvers.compiled.selection import Field, Uncovered, build
from resolvers.context import Context
from resolvers.errors import forbidden

# A root compiler: the answer, or None when the resolvers must answer this root.
Root = Callable[[Context, Field], Awaitable[Answer | None]]
ROOTS: dict[str, Root] = {}


def root(name: str) -> Callable[[Root], Root]:
    def register(fn: Root) -> Root:
        ROOTS[name] = fn
        return fn

    return register


class CompiledExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        ctx = self.context_value
        if (
            path.prev is None
            and isinstance(ctx, Context)
            and ctx.compiled
            and parent_type is self.schema.query_type
        ):
            compiled = ROOTS.get(field_details_list[0].node.name.value)
            if compiled is not None:
                return self._compiled(
                    compiled, ctx, parent_type, source, field_details_list, path, position_context
                )
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    async def _compiled(
        self,
        compiled: Root,
        ctx: Context,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        try:
            answer = await self._answer(compiled, ctx, parent_type, field_details_list)
        except Exception as raw_error:
            field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
            assert field_def is not None
            self.handle_field_error(raw_error, field_def.type, field_details_list, path)
            return None
        if answer is None:
            result = super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
            return await result if self.is_awaitable(result) else result
        ctx.compiled_roots += 1
        for reason, field, at in answer.denials:
            error = located_error(forbidden(reason), list(field.nodes), at)
            self.collected_errors.add(error, _path(at))
        ctx.reads |= answer.reads
        return answer.data

    async def _answer(
        self,
        compiled: Root,
        ctx: Context,
        parent_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
    ) -> Answer | None:
        try:
            selection = build(self, parent_type, field_details_list)
        except Uncovered:
            return None
        return await compiled(ctx, selection)


def _path(keys: list[str | int]) -> Path:
    path = None
    for key in keys:
        path = Path(path, key, None)
    assert path is not None
    return path


# The root compilers register themselves on import.
from resolvers.compiled import roots as _roots  # noqa: E402

assert _roots
