"""SQL per type and field: each covered field of the selection becomes an expression that
builds its JSON, with the access rules' SQL renderings (resolvers/policy/) inlined.

Every statement has the same first three parameters: $1 the viewer's person id, $2 today (the
Oslo date of the request's clock) and $3 the viewer's global roles. A denied field is
``{"$denied": reason}``; an object that the resolvers would have logged a read for carries
``"$reads"`` (resolvers/compiled/answer.py turns both into errors and access-log rows).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from resolvers import policy
from resolvers.compiled.answer import DENIED, READS
from resolvers.compiled.selection import Field, Uncovered
from resolvers.policy.expr import Rule

VIEWER, TODAY, ROLES = "$1::uuid", "$2::date", "$3::text[]"


@dataclass
class Statement:
    """The statement being built: its parameters after the three fixed ones, and a counter for
    unique table aliases."""

    viewer: uuid.UUID
    today: dt.date
    roles: frozenset[str]
    params: list[Any] = field(default_factory=list)
    aliases: int = 0
    uses_shared: bool = False  # the CTE of persons sharing an active plan with the viewer

    def param(self, value: Any, sql_type: str) -> str:
        self.params.append(value)
        return f"${len(self.params) + 3}::{sql_type}"

    def alias(self, prefix: str) -> str:
        self.aliases += 1
        return f"{prefix}{self.aliases}"

    def args(self) -> list[Any]:
        return [self.viewer, self.today, sorted(self.roles), *self.params]


def quoted(word: str) -> str:
    assert word.replace("_", "").isalnum(), word
    return f"'{word}'"


def obj(pairs: list[tuple[str, str]]) -> str:
    """json_build_object over (key, expression) pairs, in the selection's order."""
    if not pairs:
        return "json_build_object()"
    return "json_build_object(" + ", ".join(f"{quoted_key(k)}, {v}" for k, v in pairs) + ")"


def quoted_key(key: str) -> str:
    # Response names are GraphQL names ([_A-Za-z][_0-9A-Za-z]*) or our $-markers.
    assert key.lstrip("$").replace("_", "").isalnum(), key
    return f"'{key}'"


def denied_or(denial: str, value: str) -> str:
    """The value when the rule gives no reason, else the denial marker."""
    marker = f"json_build_object('{DENIED}', {denial})"
    return f"(CASE WHEN ({denial}) IS NULL THEN {value} ELSE {marker} END)"


def rule(r: Rule, bindings: dict[str, str]) -> str:
    return r.sql(bindings)


# --- scalars ----------------------------------------------------------------------------


def iso_text(column: str) -> str:
    """A timestamptz as Python's isoformat in UTC (as Strawberry prints it, and as the
    cursors encode it): microseconds only when there are any, all six digits."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN date_part('microseconds', {utc})::int % 1000000 = 0 THEN ''"
        f" ELSE to_char({utc}, '.US') END || '+00:00'"
    )


def iso_datetime(column: str) -> str:
    """The JSON of a timestamptz column (null stays null)."""
    return f"(CASE WHEN {column} IS NULL THEN NULL ELSE to_json({iso_text(column)}) END)"


def scalar(column: str, kind: str = "plain") -> str:
    if kind == "id":
        return f"to_json({column}::text)"
    if kind == "datetime":
        return iso_datetime(column)
    return f"to_json({column})"


# --- the plan scope: a plan p, its consent c and the viewer's participation me ------------


def plan_bindings(p: str, c: str, me: str) -> dict[str, str]:
    found = {
        "today": TODAY,
        "global_roles": ROLES,
        "plan_ended": f"{p}.status = 'ENDED'",
        "consent_exists": f"{c}.id IS NOT NULL",
        "consent_expires_on": f"{c}.expires_on",
        "consent_revoked_on": f"{c}.revoked_on",
        "mine_id": f"{me}.id",
        "mine_role": f"{me}.role",
        "mine_expires_on": f"{me}.consent_expires_on",
        "mine_person_id": f"{me}.person_id",
    }
    for name in policy.SECTIONS:
        found[f"grant_{name}"] = f"{c}.default_grant->>{quoted(name)}"
        found[f"rights_{name}"] = f"{me}.rights->>{quoted(name)}"
    for name in ("edit_person", "print"):
        found[f"grant_{name}"] = f"({c}.default_grant->>{quoted(name)})::boolean"
        found[f"rights_{name}"] = f"({me}.rights->>{quoted(name)})::boolean"
    return found


@dataclass(frozen=True)
class PlanScope:
    p: str
    c: str
    me: str

    @property
    def bindings(self) -> dict[str, str]:
        return plan_bindings(self.p, self.c, self.me)


Emitter = Callable[[Statement, Field, Any], str]


def fields_of(
    st: Statement,
    f: Field,
    scope: Any,
    table: dict[str, Emitter],
    reads: str | None = None,
) -> str:
    """The JSON object of one row: each selected field through its emitter, in order."""
    assert f.children is not None
    pairs: list[tuple[str, str]] = []
    if reads is not None:
        pairs.append((READS, reads))
    for child in f.children:
        if child.name == "__typename":
            pairs.append((child.key, f"to_json({quoted(f.type_name)}::text)"))
            continue
        emitter = table.get(child.name)
        if emitter is None:
            raise Uncovered(f"{child.parent}.{child.name}")
        pairs.append((child.key, emitter(st, child, scope)))
    return obj(pairs)
