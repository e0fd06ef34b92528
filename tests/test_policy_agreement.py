"""Every access rule has one definition and two renderings: the Python closure the resolvers
ask, and the SQL expression row filters and compiled reads use. Here hypothesis generates
facts for each rule and the real PostgreSQL evaluates the SQL rendering: the two must agree
on every example, NULLs included.

The last tests mutate a rendering (the SQL of one rule, the Python of another) and check that
the agreement check finds the difference, so a broken rendering cannot pass unnoticed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from resolvers import policy
from resolvers.policy.expr import BOOL, DATE, TEXT, TEXTS, UUID, UUIDS, Expr, Fact, Member, Rule

PEOPLE = tuple(uuid.UUID(int=n) for n in range(1, 4))

# Days where the calendar is hard: 29 February, the day before and after, a century year
# that is not a leap year (2100), and ordinary days. Dates are drawn near these, so today,
# expiry and revocation dates often coincide or sit a day apart.
ANCHORS = (
    dt.date(2026, 11, 30),
    dt.date(2028, 2, 28),
    dt.date(2028, 2, 29),
    dt.date(2028, 3, 1),
    dt.date(2100, 2, 28),
    dt.date(2100, 3, 1),
)


def _near(anchor: dt.date, days: int) -> dt.date:
    return anchor + dt.timedelta(days=days)


def _years_before(anchor: dt.date, years: int) -> dt.date:
    try:
        return anchor.replace(year=anchor.year - years)
    except ValueError:  # 29 February in a year without one
        return anchor.replace(year=anchor.year - years, day=28)


dates = st.builds(_near, st.sampled_from(ANCHORS), st.integers(-2, 2))
# Birth dates around the 15th, 16th and 17th birthday of an anchor, and 29 February 2084
# (16 on 28 February or 1 March 2100, a year without 29 February).
births = st.one_of(
    st.builds(_years_before, dates, st.sampled_from((15, 16, 17))),
    st.just(dt.date(2084, 2, 29)),
)


def _values(fact: Fact) -> st.SearchStrategy[Any]:
    if fact.type == UUID:
        base: st.SearchStrategy[Any] = st.sampled_from(PEOPLE)
    elif fact.type == TEXT:
        assert fact.domain, f"text fact {fact.name} needs its domain"
        base = st.sampled_from(fact.domain)
    elif fact.type == DATE:
        base = births if fact.name == "owner_birth_date" else dates
    elif fact.type == BOOL:
        base = st.booleans()
    elif fact.type == UUIDS:
        base = st.frozensets(st.sampled_from(PEOPLE), max_size=3)
    elif fact.type == TEXTS:
        base = st.frozensets(st.sampled_from(fact.domain), max_size=3)
    else:
        raise AssertionError(f"no strategy for {fact.type}")
    return st.one_of(st.none(), base)


def facts_for(rule: Rendering) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({name: _values(f) for name, f in rule.fact_nodes().items()})


class Rendering:
    """What the check needs of a rule (a Rule, or a mutant of one)."""

    kind: str

    def __call__(self, env: Mapping[str, Any]) -> Any: ...
    def sql(self, bindings: Mapping[str, str]) -> str: ...
    def fact_nodes(self) -> dict[str, Fact]: ...


class RuleRendering(Rendering):
    def __init__(self, rule: Rule) -> None:
        self.rule, self.kind = rule, rule.kind

    def __call__(self, env: Mapping[str, Any]) -> Any:
        return self.rule(env)

    def sql(self, bindings: Mapping[str, str]) -> str:
        return self.rule.sql(bindings)

    def fact_nodes(self) -> dict[str, Fact]:
        return self.rule.expr.fact_nodes()


@dataclass
class Database:
    loop: asyncio.AbstractEventLoop
    conn: asyncpg.Connection

    def sql_verdict(self, rule: Rendering, env: Mapping[str, Any]) -> Any:
        names = sorted(env)
        facts = rule.fact_nodes()
        bindings = {n: f"${i}::{facts[n].type}" for i, n in enumerate(names, 1)}
        args = [sorted(v) if isinstance(v, frozenset) else v for v in (env[n] for n in names)]
        return self.loop.run_until_complete(
            self.conn.fetchval(f"SELECT {rule.sql(bindings)}", *args)
        )


def agrees(db: Database, rule: Rendering, env: Mapping[str, Any]) -> bool:
    python, sql = rule(env), db.sql_verdict(rule, env)
    if rule.kind == "reason":
        return (None if python is None else str(python)) == sql
    return bool(python == sql)


@pytest.fixture(scope="module")
def database(pg_admin_dsn: str) -> Iterator[Database]:
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(pg_admin_dsn))
    try:
        yield Database(loop, conn)
    finally:
        loop.run_until_complete(conn.close())
        loop.close()


RULES = policy.rules()


def test_every_rule_is_checked() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names)), "rule names are unique"
    for expected in ("consent_state", "level.goals", "write.messages", "message_visible"):
        assert expected in names
    for required in ("person_field", "shares_for_visibility", "account_admin", "unit_scope"):
        assert required in names


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_python_and_sql_renderings_agree(database: Database, rule: Rule) -> None:
    rendering = RuleRendering(rule)

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(facts_for(rendering))
    def check(env: dict[str, Any]) -> None:
        python, sql = rendering(env), database.sql_verdict(rendering, env)
        assert agrees(database, rendering, env), (env, python, sql)

    check()


def test_today_is_always_a_parameter() -> None:
    """No rule reads the database's clock: today is the injected Oslo date."""
    bindings: dict[str, str] = {}
    for rule in RULES:
        bindings |= {name: f"f.{name}" for name in rule.expr.fact_nodes()}
    for rule in RULES:
        text = rule.sql(bindings).lower()
        assert "current_date" not in text and "now()" not in text, rule.name


# --- a broken rendering is caught --------------------------------------------------------


class SqlMutant(RuleRendering):
    """The rule with its SQL rendering edited (as a broken SQL renderer would)."""

    def __init__(self, rule: Rule, old: str, new: str) -> None:
        super().__init__(rule)
        self.old, self.new = old, new

    def sql(self, bindings: Mapping[str, str]) -> str:
        text = super().sql(bindings)
        assert self.old in text, f"mutation {self.old!r} does not apply"
        return text.replace(self.old, self.new, 1)


class PythonMutant(RuleRendering):
    """The rule with its Python rendering replaced by a subtly different one."""

    def __init__(self, rule: Rule, python: Callable[[Mapping[str, Any]], Any]) -> None:
        super().__init__(rule)
        self.python = python

    def __call__(self, env: Mapping[str, Any]) -> Any:
        return self.python(env)


def _messages_without_recipients(env: Mapping[str, Any]) -> bool:
    """message_visible as if chosen recipients were forgotten (only group, lead, author)."""
    return bool(
        env["mine_id"] is not None
        and (
            env["to_all"] is True
            or env["mine_role"] in (policy.OWNER, policy.COORDINATOR)
            or env["mine_id"] == env["author_id"]
        )
    )


MUTANTS: dict[str, Rendering] = {
    # revoked today counts as still valid (<= became <)
    "consent_state SQL: revoked_on < today": SqlMutant(
        policy.consent.CONSENT_STATE, "<= ($", "< ($"
    ),
    # a parent still represents the owner on the 16th birthday (< 16 became <= 16)
    "represents_owner SQL: age <= 16": SqlMutant(
        policy.consent.REPRESENTS_OWNER, "END) < 16)", "END) <= 16)"
    ),
    # the Python filter forgets messages sent to chosen recipients
    "message_visible Python: recipients ignored": PythonMutant(
        policy.sections.MESSAGE_VISIBLE, _messages_without_recipients
    ),
    # the Python grant ignores the participant's own level
    "level.goals Python: override ignored": PythonMutant(
        policy.sections.LEVEL["goals"],
        lambda env: policy.sections.LEVEL["goals"]({**env, "rights_goals": None}),
    ),
}


@pytest.mark.parametrize("name", MUTANTS)
def test_a_mutated_rendering_is_caught(database: Database, name: str) -> None:
    mutant = MUTANTS[name]
    try:
        found = find(
            facts_for(mutant),
            lambda env: not agrees(database, mutant, env),
            settings=settings(max_examples=2000, deadline=None, database=None),
        )
    except NoSuchExample:
        pytest.fail(f"{name}: the agreement check did not notice the mutation")
    assert not agrees(database, mutant, found)


# --- membership as an EXISTS over a join table ------------------------------------------


def _members(expr: Expr) -> set[str]:
    found = {expr.among.name} if isinstance(expr, Member) else set()
    for child in expr.children():
        found |= _members(child)
    return found


TEMPLATED = [r for r in RULES if _members(r.expr)]


class TemplateRendering(RuleRendering):
    """The rule with its set facts bound as db/ binds them: an EXISTS with {x} for the
    element (as over message_recipients), here over the generated set."""

    def sql(self, bindings: Mapping[str, str]) -> str:
        templated = dict(bindings)
        for name in _members(self.rule.expr):
            templated[name] = (
                f"EXISTS (SELECT 1 FROM unnest({bindings[name]}) AS t(id) WHERE t.id = {{x}})"
            )
        return self.rule.sql(templated)


def test_rules_with_sets_are_checked_as_templates_too() -> None:
    names = {r.name for r in TEMPLATED}
    assert {"message_visible", "represents_owner"} <= names


@pytest.mark.parametrize("rule", TEMPLATED, ids=[r.name for r in TEMPLATED])
def test_templated_membership_agrees(database: Database, rule: Rule) -> None:
    rendering = TemplateRendering(rule)
    sets = _members(rule.expr)

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(facts_for(rendering).filter(lambda env: all(env[s] is not None for s in sets)))
    def check(env: dict[str, Any]) -> None:
        # A template never yields NULL: a set bound that way is always known.
        python, sql = rendering(env), database.sql_verdict(rendering, env)
        assert agrees(database, rendering, env), (env, python, sql)

    check()
