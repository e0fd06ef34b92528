"""Small-cell suppression holds against differencing (issue 9): no two released report counts,
one of whose plan sets contains the other's, differ by 1 to 4.

Over real HTTP against a world of small groups made with the API: several types, statuses,
service units and start months, 1-7 plans in a cell. Every allowed planCounts query is asked
(every groupBy set × every allowed from/to pair over the world's months, one month either
side, and open ends); each row is turned into the set of plans it counts, from what the test
itself made. Then every pair of released cells where one's plans include the other's is
checked. consentsExpiring likewise over every allowed window. Each world is first shown to
leak under the old rule (any count of 5 or more shown), so the tests can fail.

The rules: docs/persons-and-reports.md ("Reports"); the algorithm: resolvers/suppression.py.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import random
from dataclasses import dataclass
from typing import Any

from db import persons
from tests.conftest import Gateway
from tests.plan_world import ok, today_of
from tests.test_reports import Reporting, reason

GROUP_BY = ("TYPE", "STATUS", "SERVICE_UNIT", "START_MONTH")
ROW_KEYS = {"TYPE": "type", "STATUS": "status", "SERVICE_UNIT": "serviceUnit"}
TYPES = ("IP", "IOP", "IUP")
STATUSES = ("ACTIVE", "ENDED")
UNITS = ("Enhet Nord", "Enhet Sør", None)
MONTHS = ((2026, 5), (2026, 6), (2026, 8), (2026, 9))  # no plan starts in July
ASKED_MONTHS = [(2026, m) for m in range(4, 11)]  # April to October
WINDOWS = (7, 14, 30, 60, 90, 180, 365)
ADD_PARTICIPANT = """mutation($p: ID!, $who: ID!) {
  addParticipant(planId: $p, personId: $who, role: SERVICE_PROVIDER) { id } }"""
UPDATE_PARTICIPANT = """mutation($id: ID!, $on: Date) {
  updateParticipant(id: $id, consentExpiresOn: $on) { id } }"""
RECORD_CONSENT = """mutation($p: ID!, $in: ConsentInput!) {
  recordConsent(planId: $p, input: $in) { id } }"""
CONSENTS = "query($d: Int!) { reports { consentsExpiring(withinDays: $d) } }"
PLAN_COUNTS = """query($g: [PlanGroupBy!]!, $from: Date, $to: Date) { reports {
  planCounts(groupBy: $g, from: $from, to: $to) { type status serviceUnit startMonth count } } }"""


@dataclass(frozen=True)
class Made:
    """One plan of the world, as the test made it."""

    bit: int
    type: str
    status: str
    unit: str | None
    month: tuple[int, int]


def small_groups() -> dict[tuple[str, str, str | None, tuple[int, int]], int]:
    """About half of the 72 finest cells hold 1-7 plans; the seed is fixed."""
    rng = random.Random(9)
    cells = {}
    for key in itertools.product(TYPES, STATUSES, UNITS, MONTHS):
        if rng.random() < 0.45:
            cells[key] = rng.randint(1, 7)
    return cells


def last_day(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def allowed_ranges() -> list[dict[str, str]]:
    """Every from/to pair on month boundaries over the asked months, and the open ends."""
    froms = [None, *(dt.date(y, m, 1) for y, m in ASKED_MONTHS)]
    tos = [None, *(last_day(y, m) for y, m in ASKED_MONTHS)]
    ranges = []
    for since, until in itertools.product(froms, tos):
        if since is None or until is None or since <= until:
            dates = {"from": since, "to": until}
            ranges.append({k: v.isoformat() for k, v in dates.items() if v is not None})
    return ranges


def group_sets() -> list[tuple[str, ...]]:
    return [g for n in range(1, 5) for g in itertools.combinations(GROUP_BY, n)]


def plans_of(world: list[Made], group: tuple[str, ...], dates: dict[str, str], row: Any) -> int:
    """The plans a row counts, as a bit set."""
    since = dt.date.fromisoformat(dates["from"]) if "from" in dates else dt.date.min
    until = dt.date.fromisoformat(dates["to"]) if "to" in dates else dt.date.max
    found = 0
    for plan in world:
        start = dt.date(*plan.month, 1)
        values = {"TYPE": plan.type, "STATUS": plan.status, "SERVICE_UNIT": plan.unit}
        if not since <= start <= until:
            continue
        if any(values[g] != row[ROW_KEYS[g]] for g in group if g in ROW_KEYS):
            continue
        if "START_MONTH" in group and row["startMonth"] != f"{plan.month[0]}-{plan.month[1]:02}":
            continue
        found |= plan.bit
    return found


def leaks(cells: dict[int, int]) -> list[tuple[int, int]]:
    """Pairs of counts (larger, smaller) whose plan sets nest and that differ by 1-4."""
    found = []
    for big, small in itertools.permutations(cells, 2):
        if big & small == small and 1 <= cells[big] - cells[small] <= 4:
            found.append((cells[big], cells[small]))
    return found


async def build_plans(r: Reporting) -> list[Made]:
    units = {name: await r.unit(name) for name in UNITS if name is not None}
    await r.user("unit", "COORDINATING_UNIT")
    owner, coordinator = await r.user("owner"), await r.user("coordinator")
    world: list[Made] = []
    for (kind, status, unit, month), count in small_groups().items():
        for _ in range(count):
            made = ok(
                await r.post(
                    "unit",
                    """mutation($in: CreatePlanInput!) { createPlan(input: $in) { id } }""",
                    {
                        "in": {
                            "ownerId": str(owner.person_id),
                            "coordinatorId": str(coordinator.person_id),
                            "shortName": f"Plan {len(world)}",
                            "type": kind,
                            "startDate": dt.date(*month, 1 + len(world) % 28).isoformat(),
                            "serviceUnitId": units[unit] if unit else None,
                        }
                    },
                ),
                "createPlan",
            )
            if status == "ENDED":
                await r.end(made["createPlan"]["id"], "coordinator")
            world.append(Made(1 << len(world), kind, status, unit, month))
    return world


async def test_no_two_released_plan_counts_differ_by_one_to_four(gateway: Gateway) -> None:
    r = Reporting(gateway)
    world = await build_plans(r)
    await r.user("reporter", "REPORTER")
    aliases = {f"q{i}": g for i, g in enumerate(group_sets())}
    fields = " ".join(
        f"{alias}: planCounts(groupBy: [{', '.join(g)}], from: $from, to: $to) {{"
        " type status serviceUnit startMonth count }"
        for alias, g in aliases.items()
    )
    query = f"query($from: Date, $to: Date) {{ reports {{ {fields} }} }}"

    shown: dict[int, int] = {}  # released plan set -> count
    every: dict[int, int] = {}  # every cell an allowed query names -> its true count
    for dates in allowed_ranges():
        body = await r.post("reporter", query, dates)
        assert "errors" not in body, (dates, body)
        for alias, group in aliases.items():
            for row in body["data"]["reports"][alias]:
                plans = plans_of(world, group, dates, row)
                assert plans, (dates, group, row)  # rows only for groups with plans
                every[plans] = plans.bit_count()
                if row["count"] is not None:
                    assert row["count"] == plans.bit_count(), (dates, group, row)
                    shown[plans] = row["count"]
    # The world is small enough to leak under the old rule, and big enough to show counts.
    assert leaks({p: n for p, n in every.items() if n >= 5})
    assert len(shown) >= 20, len(shown)
    assert leaks(shown) == []


async def test_day_granular_ranges_are_refused(gateway: Gateway) -> None:
    """The issue's example: planCounts(to: 2026-03-15) minus to: 2026-03-14 showed one plan.
    Days inside a month are refused now, with the field at fault."""
    r = Reporting(gateway)
    await r.user("reporter", "REPORTER")
    for dates, fault in (
        ({"to": "2026-03-15"}, "to"),
        ({"to": "2026-03-14"}, "to"),
        ({"to": "2026-02-27"}, "to"),
        ({"from": "2026-03-15"}, "from"),
        ({"from": "2026-03-31"}, "from"),
        ({"from": "2026-03-02", "to": "2026-03-31"}, "from"),
        ({"from": "2026-03-01", "to": "2026-03-30"}, "to"),
    ):
        body = await r.post("reporter", PLAN_COUNTS, {"g": ["TYPE"], **dates})
        assert body["data"] == {"reports": None}, body
        assert reason(body) == ("BAD_USER_INPUT", None, fault), (dates, body)
    for dates in ({"to": "2026-02-28"}, {"from": "2026-03-01", "to": "2026-03-31"}, {}):
        body = await r.post("reporter", PLAN_COUNTS, {"g": ["TYPE"], **dates})
        assert body["data"]["reports"]["planCounts"] == [], body


# Days until each participant's own consent date: 3 within a week, 6 within two weeks, ...
EXPIRES_IN = (3, 3, 3, 10, 10, 10, 20, 20, 45, 45, 45, 45, 45, 80, *(150,) * 6, *(300,) * 5)


async def test_no_two_released_consent_windows_differ_by_one_to_four(gateway: Gateway) -> None:
    r = Reporting(gateway)
    today = today_of(gateway)
    plan_id, coordinator = await r.plan("IP", today - dt.timedelta(days=100))
    owner_id = next(u for k, u in r.users.items() if k.startswith("owner")).person_id
    consent = {
        "givenById": str(owner_id),
        "givenByRelation": "SELF",
        "givenOn": (today - dt.timedelta(days=30)).isoformat(),
        "expiresOn": (today + dt.timedelta(days=360)).isoformat(),
        "defaultGrant": {"goals": "READ"},
    }
    ok(await r.post(coordinator, RECORD_CONSENT, {"p": plan_id, "in": consent}), "consent")
    for n, days in enumerate(EXPIRES_IN):
        async with gateway.pool.acquire() as conn:
            person = await persons.insert(
                conn, {"first_name": f"Deltaker{n}", "last_name": f"Etternavn{r.tag}"}
            )
        r.secrets.append(f"Etternavn{r.tag}")
        added = ok(
            await r.post(coordinator, ADD_PARTICIPANT, {"p": plan_id, "who": str(person.id)}),
            "addParticipant",
        )
        until = (today + dt.timedelta(days=days)).isoformat()
        participant = added["addParticipant"]["id"]
        ok(
            await r.post(coordinator, UPDATE_PARTICIPANT, {"id": participant, "on": until}),
            "updateParticipant",
        )
    await r.user("reporter", "REPORTER")

    truth = {w: sum(1 for d in EXPIRES_IN if d <= w) for w in WINDOWS}
    shown: dict[int, int] = {}
    for window in WINDOWS:
        body = await r.post("reporter", CONSENTS, {"d": window})
        assert "errors" not in body, body
        r.assert_anonymous(body)
        count = body["data"]["reports"]["consentsExpiring"]
        if count is not None:
            assert count == truth[window], (window, count)
            shown[window] = count
    # The old rule showed 6 (14 days) and 8 (30 days): two participants by subtraction.
    assert any(
        1 <= truth[b] - truth[a] <= 4 and truth[a] >= 5
        for a, b in itertools.combinations(WINDOWS, 2)
    )
    assert shown == {30: 8, 90: 14, 180: 20, 365: 25}
    for small, large in itertools.combinations(sorted(shown), 2):
        assert not 1 <= shown[large] - shown[small] <= 4, (small, large, shown)
