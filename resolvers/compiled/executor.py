"""The executor that answers covered root fields with one compiled statement each.

It runs inside Strawberry's execution, after parsing, validation, the limits and before error
masking: only ``execute_field`` of a root field changes. A root whose selection is not
covered, or whose statement says the resolvers must answer (an unknown or invisible id, a bad
argument), is executed exactly as without this class."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from graphql import GraphQLError, GraphQLObjectType, OperationType, located_error
from graphql.execution.collect_fields import FieldDetailsList
from graphql.language import FieldNode
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers import live_share
from resolvers.compiled.answer import Answer, read_answer
from resolvers.compiled.emit import Prepared
from resolvers.compiled.selection import Field, Uncovered, build
from resolvers.context import Context
from resolvers.errors import forbidden, too_complex

# A root compiler: the statement of a selection, for any viewer. It raises Uncovered (or an
# argument's GraphQLError) when the resolvers must answer this root.
Root = Callable[[Field], Prepared]
ROOTS: dict[str, Root] = {}

# Prepared statements by selection: the parsed document is cached (schema/extensions.py), so
# the same operation text gives the same FieldNode objects; with the variables they decide
# the selection, and so the statement. Entries keep their nodes, so an id is never reused
# while its entry lives. A None entry: the resolvers answer that selection.
_PREPARED: dict[tuple[Any, ...], tuple[tuple[FieldNode, ...], Prepared | None]] = {}
_PREPARED_MAX = 512
_KEY_MAX = 4096


def root(name: str) -> Callable[[Root], Root]:
    def register(fn: Root) -> Root:
        ROOTS[name] = fn
        return fn

    return register


class CompiledExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_operation(self, serially: bool | None = None) -> Any:
        """A live message event whose selection reads the same for every reader is answered
        once for all its subscribers (resolvers/live_share.py)."""
        if self.operation.operation is OperationType.SUBSCRIPTION:
            message = live_share.message_of(self.root_value)
            if message is not None:
                shape = live_share.cached_shape(self.operation, self.fragments)
                if shape is not None:
                    run = partial(super().execute_operation, serially)
                    return live_share.shared(shape, message, run)
        return super().execute_operation(serially)

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
        viewer = ctx.viewer
        if viewer is None:
            return None  # the resolvers answer UNAUTHENTICATED
        prepared = self._prepared(compiled, parent_type, field_details_list)
        if prepared is None:
            return None
        limit = ctx.settings.compiled_max_cost
        if prepared.cost > limit:
            raise too_complex(limit, "COST", "The selection is too large to answer at once.")
        timeout = ctx.settings.compiled_timeout_ms
        args = prepared.args(viewer.person_id, ctx.today(), viewer.global_roles)
        async with ctx.pool.acquire() as conn:
            try:
                text = await conn.fetchval(prepared.sql, *args, timeout=timeout / 1000)
            except TimeoutError:
                # asyncpg has cancelled the statement in the server.
                raise too_complex(
                    timeout, "TIMEOUT", "The selection took too long to answer."
                ) from None
        if text is None:
            return None  # e.g. no plan the viewer may know of: the resolvers' NOT_FOUND
        return read_answer(prepared.field, text, prepared.clean)

    def _prepared(
        self,
        compiled: Root,
        parent_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
    ) -> Prepared | None:
        nodes = tuple(d.node for d in field_details_list)
        key = (
            compiled,
            tuple(id(n) for n in nodes),
            repr(self.variable_values),
            repr([d.fragment_variable_values for d in field_details_list]),
        )
        found = _PREPARED.get(key)
        if found is not None and all(a is b for a, b in zip(found[0], nodes, strict=True)):
            return found[1]
        try:
            prepared: Prepared | None = compiled(build(self, parent_type, field_details_list))
        except (Uncovered, GraphQLError):
            prepared = None
        if len(key[2]) + len(key[3]) <= _KEY_MAX:  # large variables: not worth keeping
            if len(_PREPARED) >= _PREPARED_MAX:
                _PREPARED.pop(next(iter(_PREPARED)))
            _PREPARED[key] = (nodes, prepared)
        return prepared


def _path(keys: list[str | int]) -> Path:
    path = None
    for key in keys:
        path = Path(path, key, None)
    assert path is not None
    return path


# The root compilers register themselves on import.
from resolvers.compiled import roots as _roots  # noqa: E402

assert _roots
