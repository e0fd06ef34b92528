"""A live message answered once per (document shape, message) and encoded once, when the
subscription selects only fields that read the same for every reader the message reaches
(policy.SAME_FOR_EVERY_READER). Every subscriber is still admitted on its own (resolvers/live.py:
the session, the plan view, the MESSAGES section and the row rule); only the answer to the
selection, which after that admission depends on no one, is shared.

Any other selection (the plan, recipients, readByMe, contact fields, a directive, an
argument) is executed per subscriber, as before. The differential test
(tests/test_live_share.py) holds the shared answer equal to each subscriber's own."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from graphql import ExecutionResult
from graphql.execution.collect_fields import FragmentDetails
from graphql.language import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from db.messages import MessageRow
from resolvers.policy import SAME_FOR_EVERY_READER

# A shape: the root field's response key and its selection with fragments expanded, as
# nested tuples in document order. Equal shapes collect the same fields, so give the same
# answer to the same admitted message.
Shape = tuple[Any, ...]


class SharedData(dict[str, Any]):
    """An event's data shared by every subscriber of one shape; its JSON is encoded once."""

    __slots__ = ("_text",)

    def text(self) -> str:
        try:
            return self._text
        except AttributeError:
            self._text: str = orjson.dumps(self).decode()
            return self._text


def _selection(
    type_name: str,
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDetails],
    depth: int = 0,
) -> Shape | None:
    """The shape of a selection on ``type_name``, or None when any part of it may read
    differently for another reader (or is beyond what we analyse)."""
    if selection_set is None or depth > 8:
        return None
    allowed = SAME_FOR_EVERY_READER.get(type_name)
    if allowed is None:
        return None
    shape: list[Any] = []
    for node in selection_set.selections:
        if node.directives:
            return None
        if isinstance(node, FieldNode):
            name = node.name.value
            key = node.alias.value if node.alias else name
            if node.arguments:
                return None
            if name == "__typename":
                shape.append((key, name))
                continue
            if name not in allowed:
                return None
            child_type = allowed[name]
            if child_type is None:
                if node.selection_set is not None:
                    return None
                shape.append((key, name))
                continue
            child = _selection(child_type, node.selection_set, fragments, depth + 1)
            if child is None:
                return None
            shape.append((key, name, child))
        else:
            if isinstance(node, FragmentSpreadNode):
                details = fragments.get(node.name.value)
                if (
                    details is None
                    or details.variable_signatures
                    or getattr(node, "arguments", None)
                ):
                    return None
                condition = details.definition.type_condition.name.value
                inner = details.definition.selection_set
            else:
                assert isinstance(node, InlineFragmentNode)
                condition = node.type_condition.name.value if node.type_condition else type_name
                inner = node.selection_set
            if condition != type_name:
                return None
            child = _selection(type_name, inner, fragments, depth + 1)
            if child is None:
                return None
            shape.extend(child)
    return tuple(shape)


def shape_of(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDetails]
) -> Shape | None:
    """The shape of a subscription to messageAdded, or None when it must run per reader."""
    roots = operation.selection_set.selections
    if len(roots) != 1 or not isinstance(roots[0], FieldNode):
        return None
    root = roots[0]
    if root.name.value != "messageAdded" or root.directives:
        return None
    inner = _selection("Message", root.selection_set, fragments)
    if inner is None:
        return None
    return (root.alias.value if root.alias else root.name.value, inner)


# Shapes by operation node (cached parses give the same node for the same text); each entry
# keeps its node, so an id is never reused while the entry lives.
_SHAPES: OrderedDict[int, tuple[OperationDefinitionNode, Shape | None]] = OrderedDict()
_SHAPES_MAX = 256
# The answers of the latest events: (shape, message id) -> the one execution.
_ANSWERS: OrderedDict[tuple[Shape, Any], asyncio.Future[ExecutionResult]] = OrderedDict()
_ANSWERS_MAX = 1024


def cached_shape(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDetails]
) -> Shape | None:
    found = _SHAPES.get(id(operation))
    if found is not None and found[0] is operation:
        return found[1]
    shape = shape_of(operation, fragments)
    _SHAPES[id(operation)] = (operation, shape)
    if len(_SHAPES) > _SHAPES_MAX:
        _SHAPES.popitem(last=False)
    return shape


def message_of(root_value: object) -> MessageRow | None:
    """The admitted message a subscription event carries (schema Message), if any."""
    admitted = getattr(root_value, "admitted", None)
    row = getattr(admitted, "row", None)
    return row if isinstance(row, MessageRow) else None


async def _answer(run: Callable[[], Any]) -> ExecutionResult:
    result = run()
    if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
        result = await result
    assert isinstance(result, ExecutionResult)
    return result


async def shared(shape: Shape, message: MessageRow, run: Callable[[], Any]) -> ExecutionResult:
    """This subscriber's answer: the shape's one answer to the message, computed by the first
    subscriber to ask (in a task of its own, so that one leaving does not cancel it for the
    rest). An answer with errors is not shared: each subscriber then runs its own."""
    key = (shape, message.id)
    future = _ANSWERS.get(key)
    runner = future is None
    if future is None:
        future = asyncio.ensure_future(_answer(run))
        _ANSWERS[key] = future
        if len(_ANSWERS) > _ANSWERS_MAX:
            _ANSWERS.popitem(last=False)
    try:
        result = await asyncio.shield(future)
    except Exception:
        if runner:
            raise
        return await _answer(run)  # the shared run failed: this subscriber runs its own
    if result.errors or result.data is None:
        return result if runner else await _answer(run)
    data = result.data
    if not isinstance(data, SharedData):
        data = SharedData(data)
        result.data = data
    return ExecutionResult(data=data)


def encoded_next(message: Mapping[str, Any]) -> str | None:
    """The text of a graphql-transport-ws "next" message whose data is shared, with the
    shared part encoded once; None for any other message."""
    if message.get("type") != "next":
        return None
    payload = message.get("payload")
    if not isinstance(payload, Mapping) or len(payload) != 1:
        return None
    data = payload.get("data")
    if not isinstance(data, SharedData):
        return None
    op_id = orjson.dumps(message["id"]).decode()
    return f'{{"id":{op_id},"type":"next","payload":{{"data":{data.text()}}}}}'
