"""The API reference in Markdown, generated from the schema's own descriptions.

`plangruppe schema --markdown > docs/schema-reference.md` writes it; a test fails when the
committed page drifts from the schema, as tests/test_schema_file.py does for the SDL. The
descriptions are the single source: who may use a type or field is said there.
"""

from __future__ import annotations

from collections.abc import Iterable

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLType,
    ast_from_value,
    get_named_type,
    print_ast,
)
from graphql.pyutils import Undefined

_ROOTS = ("Query", "Mutation", "Subscription")
_KINDS: tuple[tuple[type[GraphQLNamedType], str], ...] = (
    (GraphQLObjectType, "type"),
    (GraphQLInputObjectType, "input"),
    (GraphQLEnumType, "enum"),
    (GraphQLScalarType, "scalar"),
)

_PREAMBLE = """\
# API reference

<!-- Generated from the schema: `plangruppe schema --markdown > docs/schema-reference.md`.
     Do not edit by hand; change the descriptions in schema/ and regenerate. -->

Every type, field and argument of the GraphQL schema (`schema/schema.graphql`), with its
description. How to read the "who may" part of a description:

- **`GOALS >= READ`** (or `PARTICIPANTS`, `ACTIVITIES`, `MESSAGES`, `CALENDAR`, `DOCUMENTS`):
  the viewer's grant for that plan section, as `Plan.myAccess` shows it: the consent's grant,
  with expiry and an ended plan applied. **`WRITE`** is needed to change it. The owner
  (planeier) and the coordinator (koordinator) have `WRITE` on every section of an active plan.
  The rules are in [access-model.md](access-model.md).
- A **type** says who may read it; its fields follow the type unless their own description
  says otherwise. A field the viewer may not read is `null`, with one `FORBIDDEN` error at its
  path; a plan or person the viewer may not know of is `NOT_FOUND`
  ([api.md](api.md#errors) lists every error code).
- **the person themself**, **the coordinator**, **SYSTEM_ADMIN** …: only they get the field
  or may call the mutation; everyone else gets `FORBIDDEN` (`reason: ROLE_REQUIRED` for a
  missing global role).
- Norwegian words in descriptions (planeier, samtykke, tiltak …) are the terms users and the
  law use; the [glossary](api.md#glossary) explains them.

Without a session, only `login`, `verifyLoginCode`, `requestPasswordReset`, `resetPassword`
and `me` (null) answer; everything else is `UNAUTHENTICATED`. How to reach the API, log in and
handle errors: [api.md](api.md); a walk-through: [first-day.md](first-day.md).
"""


def print_reference() -> str:
    """The Markdown reference of the schema the server speaks (development: with introspection)."""
    from schema import build_schema

    return render(build_schema()._schema)


def render(schema: GraphQLSchema) -> str:
    types = [t for name, t in sorted(schema.type_map.items()) if not name.startswith("__")]
    roots = [schema.type_map[name] for name in _ROOTS if name in schema.type_map]
    groups: list[tuple[str, list[GraphQLNamedType]]] = [
        ("Operations", list(roots)),
        ("Object types", [t for t in types if _is_object(t) and t.name not in _ROOTS]),
        ("Input types", [t for t in types if isinstance(t, GraphQLInputObjectType)]),
        ("Enums", [t for t in types if isinstance(t, GraphQLEnumType)]),
        ("Scalars", [t for t in types if isinstance(t, GraphQLScalarType)]),
    ]
    out = [_PREAMBLE]
    out.append("## Contents\n")
    for title, members in groups:
        links = ", ".join(f"[{t.name}](#{t.name.lower()})" for t in members)
        out.append(f"- {title}: {links}")
    out.append("")
    for title, members in groups:
        out.append(f"## {title}\n")
        for named in members:
            out.extend(_type_section(named))
    return "\n".join(out).rstrip() + "\n"


def _is_object(named: GraphQLNamedType) -> bool:
    return isinstance(named, GraphQLObjectType)


def _type_section(named: GraphQLNamedType) -> list[str]:
    kind = next(word for cls, word in _KINDS if isinstance(named, cls))
    lines = [f"### {named.name}\n", f"`{kind} {named.name}`" + _sentence(named.description), ""]
    if isinstance(named, GraphQLObjectType):
        lines.extend(_field_table(named.fields.items()))
    elif isinstance(named, GraphQLInputObjectType):
        lines.extend(_input_table(named.fields.items()))
    elif isinstance(named, GraphQLEnumType):
        if any(v.description for v in named.values.values()):
            lines.append("| value | meaning |")
            lines.append("|---|---|")
            lines.extend(f"| `{n}` | {_cell(v.description)} |" for n, v in named.values.items())
        else:
            lines.append("Values: " + ", ".join(f"`{n}`" for n in named.values) + ".")
        lines.append("")
    return lines


def _field_table(fields: Iterable[tuple[str, GraphQLField]]) -> list[str]:
    lines = ["| field | type | description |", "|---|---|---|"]
    for name, field in fields:
        signature = name
        if field.args:
            signature += "(" + ", ".join(_argument(n, a) for n, a in field.args.items()) + ")"
        notes = [field.description or ""]
        notes += [
            f"`{n}`: {a.description}" for n, a in field.args.items() if a.description is not None
        ]
        lines.append(f"| `{signature}` | {_type(field.type)} | {_cell(' '.join(notes))} |")
    lines.append("")
    return lines


def _input_table(fields: Iterable[tuple[str, GraphQLInputField]]) -> list[str]:
    lines = ["| field | type | description |", "|---|---|---|"]
    for name, field in fields:
        default = _default(field.default_value, field)
        lines.append(f"| `{name}{default}` | {_type(field.type)} | {_cell(field.description)} |")
    lines.append("")
    return lines


def _argument(name: str, argument: GraphQLArgument) -> str:
    return f"{name}: {argument.type}{_default(argument.default_value, argument)}"


def _default(value: object, holder: GraphQLArgument | GraphQLInputField) -> str:
    if value is Undefined:
        return ""
    ast = ast_from_value(value, holder.type)
    return f" = {print_ast(ast)}" if ast is not None else ""


def _type(gql_type: GraphQLType) -> str:
    """`\\[[Plan](#plan)!\\]!`: the named type linked to its section, list brackets escaped."""
    if isinstance(gql_type, GraphQLNonNull):
        return _type(gql_type.of_type) + "!"
    if isinstance(gql_type, GraphQLList):
        return "\\[" + _type(gql_type.of_type) + "\\]"
    named = get_named_type(gql_type)
    return f"[{named.name}](#{named.name.lower()})"


def _sentence(description: str | None) -> str:
    return f": {_cell(description)}" if description else ""


def _cell(text: str | None) -> str:
    """A description in one Markdown table cell."""
    return " ".join((text or "").split()).replace("|", "\\|")
