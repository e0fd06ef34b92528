"""resolvers/suppression.py against its definition, on generated worlds (no database).

The definition: a cell is released when it holds at least 5 plans and every cell an allowed
planCounts query can return whose plans include all of its plans differs from it by 0 or by
5 or more. The test enumerates every allowed query (every groupBy set, every from/to pair on
month boundaries one month beyond the data and open ends), collects every cell, and compares
the cube's answer with that definition applied by brute force. The HTTP test of the same
property is tests/test_reports_differencing.py.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from db.reports import PlanCell
from resolvers.suppression import DIMENSIONS, EXPIRY_WINDOWS, PlanCube, released_windows

TYPES = ("IP", "IOP", "IUP")
STATUSES = ("ACTIVE", "ENDED")
UNITS = (None, "Nord", "Sør")


@st.composite
def worlds(draw: st.DrawFn) -> list[PlanCell]:
    months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=4, unique=True))
    sparse = draw(st.sampled_from((2, 6, 12)))  # zeros per draw: from dense to sparse worlds
    cells = []
    for kind, status, unit, month in itertools.product(TYPES, STATUSES, UNITS, sorted(months)):
        count = draw(st.sampled_from((0,) * sparse + (1, 2, 3, 4, 5, 6, 7)))
        if count:
            cells.append(PlanCell(kind, status, unit, dt.date(2026, month, 1), count))
    return cells


def every_cell(cells: list[PlanCell]) -> dict[frozenset[int], tuple[int, bool]]:
    """Plan set (indexes of finest cells) -> (true count, released) over every allowed query."""
    months = [dt.date(2025, 12, 1)] + [dt.date(2026, m, 1) for m in range(1, 13)]
    ends = [dt.date(d.year, d.month, calendar.monthrange(d.year, d.month)[1]) for d in months]
    cube = PlanCube(cells)
    found: dict[frozenset[int], tuple[int, bool]] = {}
    for size in range(1, 5):
        for group in itertools.combinations(DIMENSIONS, size):
            for since, until in itertools.product([None, *months], [None, *ends]):
                if since and until and until < since:
                    continue
                for row in cube.plan_counts(group, cube.month_range(since, until)):
                    members = frozenset(
                        i
                        for i, c in enumerate(cells)
                        if (since is None or c.start_month >= since)
                        and (until is None or c.start_month <= until)
                        and ("TYPE" not in group or c.type == row.type)
                        and ("STATUS" not in group or c.status == row.status)
                        and ("SERVICE_UNIT" not in group or c.service_unit == row.service_unit)
                        and (
                            "START_MONTH" not in group
                            or c.start_month.strftime("%Y-%m") == row.start_month
                        )
                    )
                    true = sum(cells[i].count for i in members)
                    assert row.count in (None, true)
                    released = row.count is not None
                    # One plan set, one answer, whichever query names it.
                    assert found.get(members, (true, released)) == (true, released)
                    found[members] = (true, released)
    return found


# IP's six plans start in March, with two statuses and units: only the cell of every plan
# that starts in March (groupBy START_MONTH) holds them and IOP's two more.
MARCH = dt.date(2026, 3, 1)
ONE_MONTH = [
    PlanCell("IP", "ACTIVE", "Nord", MARCH, 3),
    PlanCell("IP", "ENDED", "Sør", MARCH, 3),
    PlanCell("IOP", "ACTIVE", None, MARCH, 2),
]


@settings(max_examples=25, deadline=None)
@example(ONE_MONTH)
@given(worlds())
def test_the_cube_releases_exactly_what_the_definition_allows(cells: list[PlanCell]) -> None:
    found = every_cell(cells)
    for plans, (count, released) in found.items():
        wider = [n for other, (n, _) in found.items() if plans <= other]
        allowed = count >= 5 and all(n - count == 0 or n - count >= 5 for n in wider)
        assert released == allowed, (sorted(plans), count, released)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=len(EXPIRY_WINDOWS), max_size=len(EXPIRY_WINDOWS)))
def test_consent_windows_release_exactly_what_the_definition_allows(steps: list[int]) -> None:
    counts = dict(zip(EXPIRY_WINDOWS, itertools.accumulate(steps), strict=True))
    shown = released_windows(counts)
    for i, window in enumerate(EXPIRY_WINDOWS):
        larger = [counts[w] - counts[window] for w in EXPIRY_WINDOWS[i + 1 :]]
        allowed = counts[window] >= 5 and all(d == 0 or d >= 5 for d in larger)
        assert shown[window] == (counts[window] if allowed else None)


async def test_a_report_builds_its_cube_once_per_version_of_the_cells(pool: Any) -> None:
    """resolvers.reports keeps the cube of the plan cells it last read while their version
    stands (one small read per report), and reads them again when a plan is created or
    changes a reported column, or a service unit is renamed: nothing stale is answered."""
    from resolvers.reports import plan_cube

    async def new_plan(conn: Any, unit: Any = None) -> Any:
        return await conn.fetchval(
            "INSERT INTO plans (short_name, type, start_date, service_unit_id, changed_at,"
            " created_at) VALUES ('P', 'IP', '2026-01-15', $1, now(), now()) RETURNING id",
            unit,
        )

    def total(cube: Any) -> int:
        return sum(cell[4] for cell in cube._cells)

    async with pool.acquire() as conn:
        unit = await conn.fetchval(
            "INSERT INTO service_units (name) VALUES ('Enhet A') RETURNING id"
        )
        plan = await new_plan(conn, unit)
        first = await plan_cube(conn)
        assert await plan_cube(conn) is first  # same version: not read again
        await conn.execute("UPDATE plans SET short_name = 'Ny' WHERE id = $1", plan)
        assert await plan_cube(conn) is first  # not a reported column
        await new_plan(conn)
        second = await plan_cube(conn)
        assert second is not first and total(second) == total(first) + 1
        await conn.execute("UPDATE plans SET status = 'ENDED' WHERE id = $1", plan)
        third = await plan_cube(conn)
        assert third is not second
        assert {c[1] for c in third._cells if c[2] == "Enhet A"} == {"ENDED"}
        await conn.execute("UPDATE service_units SET name = 'Enhet B' WHERE id = $1", unit)
        assert "Enhet B" in {c[2] for c in (await plan_cube(conn))._cells}


def test_a_cube_answers_the_same_question_alike_and_keeps_few_answers() -> None:
    import resolvers.suppression as suppression_module

    cells = [
        PlanCell(t, "ACTIVE", None, dt.date(2026, m, 1), 5 + m) for t in TYPES for m in (1, 2, 3)
    ]
    cube = PlanCube(cells)
    months = cube.month_range(None, None)
    first = cube.plan_counts(["TYPE"], months)
    first.clear()  # the caller's list: not the kept answer
    again = cube.plan_counts(["TYPE"], months)
    assert again == PlanCube(cells).plan_counts(["TYPE"], months) and again
    for low in range(3):
        for high in range(low + 1, 4):
            cube.plan_counts(["TYPE", "START_MONTH"], range(low, high))
    assert len(cube._answers) <= suppression_module._ANSWERS_KEPT
