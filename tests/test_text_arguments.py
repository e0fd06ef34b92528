"""schema.extensions.TextArguments on its own, with schema.execute on a schema that echoes its
arguments: every way text reaches a resolver arrives in NFC, and a lone surrogate anywhere is
BAD_USER_INPUT naming the argument. No resolver's own checks are involved (the gateway's
resolvers also trim and check text: tests/http/test_text_input.py covers them over HTTP)."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
import strawberry

from schema.extensions import ErrorCodes, TextArguments

NFC = "Åse Ødegård"
NFD = unicodedata.normalize("NFD", NFC)
ESCAPED = "".join(c if ord(c) < 128 else f"\\u{ord(c):04x}" for c in NFD)  # GraphQL escapes


@strawberry.input
class Names:
    first: str
    others: list[str] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field
    def echo(self, text: str) -> str:
        return text

    @strawberry.field
    def names(self, names: Names) -> list[str]:
        return [names.first, *names.others]


SCHEMA = strawberry.Schema(query=Query, extensions=[ErrorCodes, TextArguments])
PLAIN = strawberry.Schema(query=Query)


async def run(query: str, variables: dict[str, Any] | None = None) -> Any:
    result = await SCHEMA.execute(query, variable_values=variables)
    assert not result.errors, result.errors
    return result.data


def test_the_texts_are_decomposed_and_the_plain_schema_keeps_them() -> None:
    assert NFD != NFC and "\\u030a" in ESCAPED
    result = PLAIN.execute_sync(f'{{ echo(text: "{NFD}") }}')
    assert result.data == {"echo": NFD}  # what the gateway did before


@pytest.mark.parametrize("literal", [NFD, ESCAPED], ids=["typed", "escaped"])
async def test_string_literals_arrive_in_nfc(literal: str) -> None:
    assert await run(f'{{ echo(text: "{literal}") }}') == {"echo": NFC}
    if literal == NFD:  # a block string keeps backslashes as they are
        assert await run(f'{{ echo(text: """{literal}""") }}') == {"echo": NFC}
    names = f'{{ names(names: {{first: "{literal}", others: ["{literal}"]}}) }}'
    assert await run(names) == {"names": [NFC, NFC]}


async def test_variables_arrive_in_nfc() -> None:
    assert await run("query($t: String!) { echo(text: $t) }", {"t": NFD}) == {"echo": NFC}
    data = await run(
        "query($n: Names!) { names(names: $n) }", {"n": {"first": NFD, "others": [NFD]}}
    )
    assert data == {"names": [NFC, NFC]}
    data = await run(
        "query($f: String!, $o: String!) { names(names: {first: $f, others: [$o]}) }",
        {"f": NFD, "o": NFD},
    )
    assert data == {"names": [NFC, NFC]}


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        ("query($t: String!) { echo(text: $t) }", {"t": "a\ud800"}, "text"),
        ("query($n: Names!) { names(names: $n) }", {"n": {"first": "\udfff"}}, "first"),
        (
            "query($n: Names!) { names(names: $n) }",
            {"n": {"first": "a", "others": ["\ud800"]}},
            "others",
        ),
        (
            'query($o: String!) { names(names: {first: "a", others: [$o]}) }',
            {"o": "\ud800"},
            "others",
        ),
        ('{ echo(text: "a\\ud800") }', None, "text"),
        ('{ echo(text: "a\ud800") }', None, "text"),
        ('{ names(names: {first: "a", others: ["b", "\\udc00"]}) }', None, "others"),
        ('{ names(names: {others: ["b"], first: "\\ud800"}) }', None, "first"),
    ],
)
async def test_a_lone_surrogate_is_bad_user_input_naming_the_argument(
    query: str, variables: dict[str, Any] | None, field: str
) -> None:
    result = await SCHEMA.execute(query, variable_values=variables)
    assert result.data is None
    assert result.errors is not None and len(result.errors) == 1, result.errors
    assert result.errors[0].extensions == {"code": "BAD_USER_INPUT", "field": field}
