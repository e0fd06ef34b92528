"""docs/schema-reference.md is what the schema prints, and the schema describes everything.

Like tests/test_schema_file.py for the SDL: the committed reference is regenerated from the
schema's descriptions (`plangruppe schema --markdown > docs/schema-reference.md`), so a
changed type, field or description fails here until the page is regenerated.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType

from schema import build_schema
from schema.reference import print_reference

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "schema-reference.md"
BUILT_IN = {"Boolean", "Int", "String", "ID", "Float"}


def test_committed_reference_matches_the_schema() -> None:
    assert REFERENCE.read_text() == print_reference(), (
        "run: plangruppe schema --markdown > docs/schema-reference.md"
    )


def test_cli_prints_the_same_reference() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "schema", "--markdown"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert out.stdout == print_reference()


def test_every_type_and_operation_is_described() -> None:
    """Each type says what it is and who may read it; each operation who may call it."""
    schema = build_schema()._schema
    undescribed = [
        name
        for name, named in schema.type_map.items()
        if not name.startswith("__")
        and name not in BUILT_IN
        and name not in ("Query", "Mutation", "Subscription")
        and not named.description
    ]
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        assert root is not None
        undescribed += [
            f"{root.name}.{f}" for f, field in root.fields.items() if not field.description
        ]
    assert undescribed == []


def test_every_type_field_and_enum_value_is_in_the_reference() -> None:
    """Nothing of the schema is left out of the page (a renderer that skipped a kind of
    type would still match its own output)."""
    text = REFERENCE.read_text()
    sections = dict(re.findall(r"^### (\w+)\n\n(.*?)(?=^### |\Z)", text, flags=re.M | re.S))
    schema = build_schema()._schema
    for name, named in schema.type_map.items():
        if name.startswith("__"):
            continue
        assert name in sections, name
        if isinstance(named, GraphQLObjectType | GraphQLInputObjectType):
            for field in named.fields:
                assert re.search(rf"^\| `{field}\b", sections[name], flags=re.M), (name, field)
        if isinstance(named, GraphQLEnumType):
            for value in named.values:
                assert re.search(rf"`{value}`", sections[name]), (name, value)
