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
from resolvers.compiled.selection import Field, Uncovered, cost
from resolvers.policy.expr import Rule

VIEWER, TODAY, ROLES = "$1::uuid", "$2::date", "$3::text[]"


@dataclass
class Statement:
    """The statement being built: its parameters after the three fixed ones, and a counter for
    unique table aliases. Nothing in it depends on the viewer or the day (those are $1-$3,
    bound when it runs), so a prepared statement serves every viewer of the same selection."""

    params: list[Any] = field(default_factory=list)
    aliases: int = 0
    # Fields whose JSON can hold no marker: the answer is not walked under them.
    clean: set[Field] = field(default_factory=set)

    def param(self, value: Any, sql_type: str) -> str:
        self.params.append(value)
        return f"${len(self.params) + 3}::{sql_type}"

    def alias(self, prefix: str) -> str:
        self.aliases += 1
        return f"{prefix}{self.aliases}"

    def prepared(self, f: Field, ctes: list[str], select: str) -> Prepared:
        # Every statement names its three fixed parameters, used or not, so each has its type.
        ctes = [f"fixed AS (SELECT {VIEWER} AS viewer, {TODAY} AS today, {ROLES} AS roles)", *ctes]
        sql = f"WITH {', '.join(ctes)} {select}"
        return Prepared(f, sql, tuple(self.params), self.clean, cost(f))


@dataclass(frozen=True)
class Prepared:
    """A root field's statement, ready for any viewer: run it with the viewer's id, the day
    and the global roles before ``params``. A NULL answer means the resolvers answer."""

    field: Field
    sql: str
    params: tuple[Any, ...]
    clean: set[Field]
    cost: int  # the selection's list-weighted size (selection.cost)

    def args(self, viewer: uuid.UUID, today: dt.date, roles: frozenset[str]) -> list[Any]:
        return [viewer, today, sorted(roles), *self.params]


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


def cursor_of(created_at: str, key: str) -> str:
    """base64url of '<isoformat>|<key>', as messages.cursor and plans.encode_cursor make it."""
    iso = f"({iso_text(created_at)})"
    return f"translate(encode(convert_to({iso} || '|' || {key}, 'UTF8'), 'base64'), E'+/\\n', '-_')"


def page_info(
    st: Statement,
    f: Field,
    *,
    fetched: str,
    first: int,
    shown: str,
    last_order: str,
    cursor: Callable[[str], str],
) -> str:
    """PageInfo of a page whose rows were fetched one past ``first`` (``fetched``), of which
    ``shown`` are the first ``first``: hasNextPage when there was one more, endCursor the
    cursor of the last row shown (``last_order``, a format of the row alias, puts it first)."""
    info = []
    for sub in f.children or ():
        if sub.name == "hasNextPage":
            info.append((sub.key, f"to_json((SELECT count(*) FROM {fetched}) > {first})"))
        elif sub.name == "endCursor":
            last = st.alias("lst")
            info.append(
                (
                    sub.key,
                    f"(SELECT to_json({cursor(last)}) FROM {shown} {last}"
                    f" ORDER BY {last_order.format(last)} LIMIT 1)",
                )
            )
        else:
            raise Uncovered(f"PageInfo.{sub.name}")
    return obj(info)


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
        sql = emitter(st, child, scope)
        if DENIED not in sql and READS not in sql:
            st.clean.add(child)
        pairs.append((child.key, sql))
    return obj(pairs)
