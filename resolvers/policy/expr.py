"""The small language every access rule is written in, once, and rendered twice: as a Python
closure (the resolvers' verdicts) and as a SQL expression (row filters and compiled reads).

A rule is an expression over named facts (``Fact``): the viewer's participation, the consent's
dates and grants, the plan's state, ``today``. Both renderings follow SQL's semantics, so they
can be proven equal (tests/test_policy_agreement.py runs every rule on hypothesis-generated
facts in Python and on the real PostgreSQL):

- NULL (``None``) propagates through comparisons; ``And``/``Or``/``Not`` are three-valued;
  ``Case`` takes the first condition that is true (NULL counts as not true);
- ``Least`` ignores NULLs, as PostgreSQL's ``least`` does; ``Coalesce`` is the first non-NULL.

A SQL rendering takes ``bindings``: for each fact the column, parameter or subquery that
holds it in the statement at hand. ``today`` is always a fact (the Oslo date of the injected
clock, bound to a parameter), never ``CURRENT_DATE``. Membership facts (``Member``) may bind to
a template such as an ``EXISTS`` subquery with ``{x}`` for the element.

Nothing here knows a rule; the rules live beside the subjects they guard.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Env = Mapping[str, Any]
Compiled = Callable[[Env], Any]

# The SQL type of each kind of fact: how tests bind generated values as parameters.
UUID, TEXT, DATE, BOOL, INT, TEXTS, UUIDS = (
    "uuid",
    "text",
    "date",
    "boolean",
    "int",
    "text[]",
    "uuid[]",
)

_WORD = re.compile(r"^[A-Z][A-Z_]*$")


class Expr:
    """A node of a rule. ``compile`` gives the Python rendering, ``sql`` the SQL one."""

    def compile(self) -> Compiled:
        raise NotImplementedError

    def sql(self, bindings: Mapping[str, str]) -> str:
        raise NotImplementedError

    def fact_nodes(self) -> dict[str, Fact]:
        """The facts this expression reads, by name."""
        found: dict[str, Fact] = {}
        for child in self.children():
            found |= child.fact_nodes()
        return found

    def children(self) -> tuple[Expr, ...]:
        return ()

    # Comparisons read like the rule: Fact("role") == "OWNER" builds an Eq, not a bool.
    def __eq__(self, other: object) -> Expr:  # type: ignore[override]
        return Cmp("=", self, lit(other))

    def __ne__(self, other: object) -> Expr:  # type: ignore[override]
        return Cmp("<>", self, lit(other))

    def __lt__(self, other: object) -> Expr:
        return Cmp("<", self, lit(other))

    def __le__(self, other: object) -> Expr:
        return Cmp("<=", self, lit(other))

    def __hash__(self) -> int:
        return id(self)

    def is_null(self) -> Expr:
        return IsNull(self)

    def is_not_null(self) -> Expr:
        return Not(IsNull(self))

    def one_of(self, *words: str) -> Expr:
        return In(self, words)


def lit(value: object) -> Expr:
    return value if isinstance(value, Expr) else Lit(value)


@dataclass(frozen=True, eq=False)
class Fact(Expr):
    """A named fact of SQL type ``type``; ``domain`` lists the code words a text fact takes."""

    name: str
    type: str
    domain: tuple[str, ...] = ()

    def compile(self) -> Compiled:
        name = self.name
        return lambda env: env[name]

    def sql(self, bindings: Mapping[str, str]) -> str:
        return f"({bindings[self.name]})"

    def fact_nodes(self) -> dict[str, Fact]:
        return {self.name: self}


@dataclass(frozen=True, eq=False)
class Lit(Expr):
    value: object

    def compile(self) -> Compiled:
        value = self.value
        return lambda env: value

    def sql(self, bindings: Mapping[str, str]) -> str:
        value = self.value
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, str) and _WORD.match(value):
            return f"'{value}'"  # a code word: nothing to escape, and nothing else is allowed
        raise ValueError(f"no SQL literal for {value!r}")


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True, eq=False)
class Cmp(Expr):
    op: str
    left: Expr
    right: Expr

    def compile(self) -> Compiled:
        fn, left, right = _OPS[self.op], self.left.compile(), self.right.compile()

        def cmp(env: Env) -> bool | None:
            a, b = left(env), right(env)
            return None if a is None or b is None else fn(a, b)

        return cmp

    def sql(self, bindings: Mapping[str, str]) -> str:
        return f"({self.left.sql(bindings)} {self.op} {self.right.sql(bindings)})"

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


class _Many(Expr):
    parts: tuple[Expr, ...]

    def __init__(self, *parts: object) -> None:
        self.parts = tuple(lit(p) for p in parts)

    def children(self) -> tuple[Expr, ...]:
        return self.parts


class And(_Many):
    def compile(self) -> Compiled:
        parts = [p.compile() for p in self.parts]

        def and_(env: Env) -> bool | None:
            unknown = False
            for part in parts:
                value = part(env)
                if value is False:
                    return False
                unknown = unknown or value is None
            return None if unknown else True

        return and_

    def sql(self, bindings: Mapping[str, str]) -> str:
        return "(" + " AND ".join(p.sql(bindings) for p in self.parts) + ")"


class Or(_Many):
    def compile(self) -> Compiled:
        parts = [p.compile() for p in self.parts]

        def or_(env: Env) -> bool | None:
            unknown = False
            for part in parts:
                value = part(env)
                if value is True:
                    return True
                unknown = unknown or value is None
            return None if unknown else False

        return or_

    def sql(self, bindings: Mapping[str, str]) -> str:
        return "(" + " OR ".join(p.sql(bindings) for p in self.parts) + ")"


class Least(_Many):
    """The smallest non-NULL value (NULL when all are NULL), as PostgreSQL's ``least``."""

    def compile(self) -> Compiled:
        parts = [p.compile() for p in self.parts]

        def least(env: Env) -> Any:
            values = [v for v in (part(env) for part in parts) if v is not None]
            return min(values) if values else None

        return least

    def sql(self, bindings: Mapping[str, str]) -> str:
        return "least(" + ", ".join(p.sql(bindings) for p in self.parts) + ")"


class Coalesce(_Many):
    def compile(self) -> Compiled:
        parts = [p.compile() for p in self.parts]

        def coalesce(env: Env) -> Any:
            for part in parts:
                value = part(env)
                if value is not None:
                    return value
            return None

        return coalesce

    def sql(self, bindings: Mapping[str, str]) -> str:
        return "coalesce(" + ", ".join(p.sql(bindings) for p in self.parts) + ")"


@dataclass(frozen=True, eq=False)
class Not(Expr):
    part: Expr

    def compile(self) -> Compiled:
        part = self.part.compile()

        def not_(env: Env) -> bool | None:
            value = part(env)
            return None if value is None else not value

        return not_

    def sql(self, bindings: Mapping[str, str]) -> str:
        return f"(NOT {self.part.sql(bindings)})"

    def children(self) -> tuple[Expr, ...]:
        return (self.part,)


@dataclass(frozen=True, eq=False)
class IsNull(Expr):
    part: Expr

    def compile(self) -> Compiled:
        part = self.part.compile()
        return lambda env: part(env) is None

    def sql(self, bindings: Mapping[str, str]) -> str:
        return f"({self.part.sql(bindings)} IS NULL)"

    def children(self) -> tuple[Expr, ...]:
        return (self.part,)


@dataclass(frozen=True, eq=False)
class In(Expr):
    """One of a few code words (``role IN ('OWNER', 'COORDINATOR')``)."""

    part: Expr
    words: tuple[str, ...]

    def compile(self) -> Compiled:
        part, words = self.part.compile(), frozenset(self.words)

        def in_(env: Env) -> bool | None:
            value = part(env)
            return None if value is None else value in words

        return in_

    def sql(self, bindings: Mapping[str, str]) -> str:
        listed = ", ".join(Lit(w).sql(bindings) for w in self.words)
        return f"({self.part.sql(bindings)} IN ({listed}))"

    def children(self) -> tuple[Expr, ...]:
        return (self.part,)


@dataclass(frozen=True, eq=False)
class Member(Expr):
    """``element`` is in the set fact ``among`` (``element = ANY(among)``). The binding of
    ``among`` may instead be a template with ``{x}`` for the element, e.g. an EXISTS subquery
    over a join table; a template never yields NULL, so it is used where the set is known."""

    element: Expr
    among: Fact

    def compile(self) -> Compiled:
        element, among = self.element.compile(), self.among.compile()

        def member(env: Env) -> bool | None:
            x, xs = element(env), among(env)
            if x is None or xs is None:
                return None
            return x in xs

        return member

    def sql(self, bindings: Mapping[str, str]) -> str:
        bound, x = bindings[self.among.name], self.element.sql(bindings)
        if "{x}" in bound:
            return "(" + bound.replace("{x}", x) + ")"
        return f"({x} = ANY({bound}))"

    def children(self) -> tuple[Expr, ...]:
        return (self.element, self.among)


@dataclass(frozen=True, eq=False)
class Overlaps(Expr):
    """The set fact shares a code word with ``words`` (``roles && ARRAY[...]``)."""

    among: Fact
    words: tuple[str, ...]

    def compile(self) -> Compiled:
        among, words = self.among.compile(), frozenset(self.words)

        def overlaps(env: Env) -> bool | None:
            xs = among(env)
            return None if xs is None else bool(words.intersection(xs))

        return overlaps

    def sql(self, bindings: Mapping[str, str]) -> str:
        listed = ", ".join(Lit(w).sql(bindings) for w in self.words)
        return f"({self.among.sql(bindings)} && ARRAY[{listed}]::text[])"

    def children(self) -> tuple[Expr, ...]:
        return (self.among,)


@dataclass(frozen=True, eq=False)
class Within(Expr):
    """Every element of the set fact is one of ``words`` (``among <@ ARRAY[...]``)."""

    among: Fact
    words: tuple[str, ...]

    def compile(self) -> Compiled:
        among, words = self.among.compile(), frozenset(self.words)

        def within(env: Env) -> bool | None:
            xs = among(env)
            return None if xs is None else words.issuperset(xs)

        return within

    def sql(self, bindings: Mapping[str, str]) -> str:
        listed = ", ".join(Lit(w).sql(bindings) for w in self.words)
        return f"({self.among.sql(bindings)} <@ ARRAY[{listed}]::text[])"

    def children(self) -> tuple[Expr, ...]:
        return (self.among,)


@dataclass(frozen=True, eq=False)
class Case(Expr):
    """The value of the first condition that is true, else ``otherwise``."""

    whens: tuple[tuple[Expr, Expr], ...]
    otherwise: Expr

    def compile(self) -> Compiled:
        whens = [(c.compile(), v.compile()) for c, v in self.whens]
        otherwise = self.otherwise.compile()

        def case(env: Env) -> Any:
            for condition, value in whens:
                if condition(env) is True:
                    return value(env)
            return otherwise(env)

        return case

    def sql(self, bindings: Mapping[str, str]) -> str:
        arms = " ".join(f"WHEN {c.sql(bindings)} THEN {v.sql(bindings)}" for c, v in self.whens)
        return f"(CASE {arms} ELSE {self.otherwise.sql(bindings)} END)"

    def children(self) -> tuple[Expr, ...]:
        return (*tuple(e for pair in self.whens for e in pair), self.otherwise)


def case(*whens: tuple[object, object], otherwise: object = None) -> Case:
    return Case(tuple((lit(c), lit(v)) for c, v in whens), lit(otherwise))


@dataclass(frozen=True, eq=False)
class AgeOn(Expr):
    """Whole years lived by ``on`` (born 29 February: a year older on 1 March), in both
    renderings by the same calendar arithmetic (PostgreSQL's ``age`` counts differently)."""

    born: Expr
    on: Expr

    def compile(self) -> Compiled:
        born, on = self.born.compile(), self.on.compile()

        def age(env: Env) -> int | None:
            b, t = born(env), on(env)
            if b is None or t is None:
                return None
            assert isinstance(b, dt.date) and isinstance(t, dt.date)
            return t.year - b.year - ((t.month, t.day) < (b.month, b.day))

        return age

    def sql(self, bindings: Mapping[str, str]) -> str:
        b, t = self.born.sql(bindings), self.on.sql(bindings)
        return (
            f"(date_part('year', {t})::int - date_part('year', {b})::int"
            f" - CASE WHEN (date_part('month', {t}), date_part('day', {t}))"
            f" < (date_part('month', {b}), date_part('day', {b})) THEN 1 ELSE 0 END)"
        )

    def children(self) -> tuple[Expr, ...]:
        return (self.born, self.on)


@dataclass(frozen=True, eq=False)
class Rule:
    """One access rule: its name, what it says, and its one definition. ``kind`` is what it
    yields: ``reason`` (a Reason code or NULL for "go ahead"), ``bool`` (NULL counts as
    false in both renderings) or ``value`` (a level such as READ)."""

    name: str
    doc: str
    expr: Expr
    kind: str = "reason"

    def __post_init__(self) -> None:
        compiled = self.expr.compile()
        if self.kind == "bool":
            object.__setattr__(self, "_run", lambda env: compiled(env) is True)
        else:
            object.__setattr__(self, "_run", compiled)
        object.__setattr__(self, "_rendered", {})

    def __call__(self, env: Env) -> Any:
        """The Python rendering's verdict on these facts."""
        return self._run(env)  # type: ignore[attr-defined]

    def sql(self, bindings: Mapping[str, str]) -> str:
        """The SQL rendering, with each fact bound to a column, parameter or subquery. The
        same bindings give the same text (prepared statements are reused)."""
        key = tuple(sorted(bindings.items()))
        rendered: dict[tuple[tuple[str, str], ...], str] = self._rendered  # type: ignore[attr-defined]
        if key not in rendered:
            body = self.expr.sql(bindings)
            rendered[key] = f"coalesce({body}, FALSE)" if self.kind == "bool" else body
        return rendered[key]
