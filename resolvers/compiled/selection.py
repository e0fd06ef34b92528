"""The selection under a root field as a tree of fields, as graphql-core's executor collects
it (fragments spread, @skip/@include applied, variables and defaults coerced)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    get_named_type,
)
from graphql.execution.values import get_argument_values

if TYPE_CHECKING:
    from graphql.execution.collect_fields import FieldDetailsList
    from graphql.execution.executor import Executor


class Uncovered(Exception):
    """The selection uses something the compiler does not build: the resolvers answer."""


@dataclass(frozen=True, eq=False)
class Field:
    key: str  # the response name (alias or field name)
    name: str  # the schema's field name
    parent: str  # the type the field is on
    nodes: tuple[FieldNode, ...]
    args: Mapping[str, Any]
    type: GraphQLOutputType
    children: tuple[Field, ...] | None  # the sub-selection of an object type

    @property
    def type_name(self) -> str:
        return get_named_type(self.type).name

    @property
    def is_list(self) -> bool:
        inner = self.type.of_type if isinstance(self.type, GraphQLNonNull) else self.type
        return isinstance(inner, GraphQLList)

    @property
    def non_null(self) -> bool:
        return isinstance(self.type, GraphQLNonNull)

    def child(self, name: str) -> list[Field]:
        return [f for f in self.children or () if f.name == name]


def build(executor: Executor[Any], parent: GraphQLObjectType, details: FieldDetailsList) -> Field:
    """The field and everything selected under it."""
    first = details[0]
    node = first.node
    name = node.name.value
    if name == "__typename":
        raise Uncovered("__typename")  # handled by the parent
    field_def = executor.schema.get_field(parent, name)
    if field_def is None:
        raise Uncovered(name)
    args = get_argument_values(
        field_def,
        node,
        executor.variable_values,
        first.fragment_variable_values,
        executor.hide_suggestions,
    )
    named = get_named_type(field_def.type)
    children: tuple[Field, ...] | None = None
    if isinstance(named, GraphQLObjectType):
        grouped, _, _ = executor.collect_subfields(named, details)
        found = []
        for key, sub in grouped.items():
            sub_name = sub[0].node.name.value
            if sub_name == "__typename":
                found.append(
                    Field(key, sub_name, named.name, (sub[0].node,), {}, field_def.type, None)
                )
            else:
                found.append(build(executor, named, sub))
        children = tuple(found)
    elif not hasattr(named, "serialize"):
        raise Uncovered(f"{named.name} is abstract")
    nodes = tuple(d.node for d in details)
    return Field(
        node.alias.value if node.alias else name,
        name,
        parent.name,
        nodes,
        args,
        field_def.type,
        children,
    )


# A list without a `first` argument is weighed as this many items.
LIST_WEIGHT = 25


def cost(f: Field, *, paged: bool = False) -> int:
    """The list-weighted size of a selection: each list (or page) multiplies what is under
    it by its length bound, so nesting lists is what makes a selection expensive. A page's
    ``edges`` are weighed once, by the page's ``first``."""
    page = "first" in f.args
    own = 1 + sum(cost(c, paged=page and c.name == "edges") for c in f.children or ())
    if page:
        first = f.args["first"]
        return own * max(1, first if isinstance(first, int) else LIST_WEIGHT)
    return own * (LIST_WEIGHT if f.is_list and not paged else 1)
