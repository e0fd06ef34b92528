"""Small-cell suppression (prikking) that pairwise differencing cannot undo.

A report cell is a set of plans: one value per grouped dimension (type, status, service unit,
start month) within a month range. A count is released only when it is at least
``MIN_CELL`` and, for every cell any allowed query can return whose plans include all of this
cell's plans, the difference between the two counts is 0 or at least ``MIN_CELL``. So no two
released numbers can be subtracted to give a count from 1 to 4.

Which cells contain a cell D is decided by D's plans, not by the query that named it: a cell
C contains D when C's values are D's single values (or C does not group by that dimension)
and C's months cover D's first to last start month. The smallest such cell is D's *box*; the
others widen it, dimension by dimension (at most 8 ways) and month range outwards. Counts only
grow as a cell widens, so per widening two binary searches over prefix sums find the first
month on each side that adds a plan; everything beyond adds at least as many.

Pure functions over the finest counts, fetched once per report (db/reports.py).
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from db.reports import PlanCell

MIN_CELL = 5
DIMENSIONS = ("TYPE", "STATUS", "SERVICE_UNIT", "START_MONTH")
# consentsExpiring's windows: a fixed list, so that windows nest in known steps.
EXPIRY_WINDOWS = (7, 14, 30, 60, 90, 180, 365)


class _Wild(enum.Enum):
    ANY = "any"


ANY = _Wild.ANY
Value = str | None | _Wild
# (type, status, service unit): one value each, or ANY where a cell does not group by it.
Slice = tuple[Value, Value, Value]


def releasable(count: int) -> bool:
    return count >= MIN_CELL


def _safe_difference(difference: int) -> bool:
    return difference == 0 or difference >= MIN_CELL


# How many different questions a cube keeps the answers of (a dashboard asks a few).
_ANSWERS_KEPT = 64


@dataclass(frozen=True)
class Row:
    """One planCounts row: the grouped values (None where not grouped) and the count, null
    when suppressed."""

    type: str | None
    status: str | None
    service_unit: str | None
    start_month: str | None  # YYYY-MM
    count: int | None


@dataclass
class _Group:
    """The plans of one planCounts row, and how far they spread."""

    count: int = 0
    types: set[str] = field(default_factory=set)
    statuses: set[str] = field(default_factory=set)
    units: set[str | None] = field(default_factory=set)
    first: int = 1 << 30
    last: int = -1

    def add(self, kind: str, status: str, unit: str | None, month: int, n: int) -> None:
        self.count += n
        self.types.add(kind)
        self.statuses.add(status)
        self.units.add(unit)
        self.first, self.last = min(self.first, month), max(self.last, month)

    def box(self) -> Slice:
        return (_only(self.types), _only(self.statuses), _only(self.units))


def _only(values: set[str] | set[str | None]) -> Value:
    return next(iter(values)) if len(values) == 1 else ANY


def _widenings(value: Value) -> tuple[Value, ...]:
    return (ANY,) if value is ANY else (value, ANY)


class PlanCube:
    """The plans counted by type, status, service unit and start month, with the rule above.

    Months are indexed over the start months that occur: a month boundary where no plan starts
    selects the same plans as the next month that has some."""

    def __init__(self, cells: Iterable[PlanCell]) -> None:
        cells = list(cells)
        self.months = sorted({c.start_month for c in cells})
        index = {m: i for i, m in enumerate(self.months)}
        self._cells = [
            (c.type, c.status, c.service_unit, index[c.start_month], c.count) for c in cells
        ]
        # Counts per month of every slice a cell belongs to (its value or ANY per dimension).
        self._by_month: dict[Slice, dict[int, int]] = {}
        for kind, status, unit, month, n in self._cells:
            slices = itertools.product(_widenings(kind), _widenings(status), _widenings(unit))
            for t, s, u in slices:
                per_month = self._by_month.setdefault((t, s, u), {})
                per_month[month] = per_month.get(month, 0) + n
        self._prefix: dict[Slice, list[int]] = {}
        # The answers given from this cube: the same question gets the same rows for as long
        # as the cells stand (the cube is kept per version of the cells), whoever asks.
        self._answers: dict[tuple[tuple[str, ...], range], list[Row]] = {}

    def month_range(self, since: dt.date | None, until: dt.date | None) -> range:
        """The month indexes a from/to range covers (from: a first day, to: a last day)."""
        low = 0 if since is None else bisect.bisect_left(self.months, since)
        high = len(self.months) if until is None else bisect.bisect_right(self.months, until)
        return range(low, high)

    def plan_counts(self, group_by: Sequence[str], months: range) -> list[Row]:
        """planCounts: one row per non-empty group, in value order."""
        key = (tuple(sorted(set(group_by))), months)
        found = self._answers.get(key)
        if found is None:
            if len(self._answers) >= _ANSWERS_KEPT:
                self._answers.clear()
            found = self._answers[key] = self._plan_counts(group_by, months)
        return list(found)

    def _plan_counts(self, group_by: Sequence[str], months: range) -> list[Row]:
        by_type, by_status, by_unit, by_month = (d in group_by for d in DIMENSIONS)
        groups: dict[tuple[str | None, str | None, str | None, dt.date | None], _Group] = {}
        for kind, status, unit, month, n in self._cells:
            if month in months:
                key = (
                    kind if by_type else None,
                    status if by_status else None,
                    unit if by_unit else None,
                    self.months[month] if by_month else None,
                )
                groups.setdefault(key, _Group()).add(kind, status, unit, month, n)
        rows = []
        for key in sorted(groups, key=lambda k: tuple((v is None, str(v)) for v in k)):
            group = groups[key]
            released = self.released(group.count, group.box(), group.first, group.last)
            start = key[3]
            rows.append(
                Row(
                    type=key[0],
                    status=key[1],
                    service_unit=key[2],
                    start_month=start.strftime("%Y-%m") if start else None,
                    count=group.count if released else None,
                )
            )
        return rows

    def released(self, count: int, box: Slice, first: int, last: int) -> bool:
        """May a cell of ``count`` plans, whose plans lie in ``box`` and start in the months
        ``first``..``last``, be shown? See the module's docstring."""
        if not releasable(count):
            return False
        widened = itertools.product(*(_widenings(v) for v in box))
        return all(self._safe_within((t, s, u), count, first, last) for t, s, u in widened)

    def _safe_within(self, key: Slice, count: int, first: int, last: int) -> bool:
        """Every cell of this slice whose months cover first..last differs from ``count`` by
        0 or by MIN_CELL or more."""
        prefix = self._prefix_of(key)
        base = prefix[last + 1] - prefix[first] - count
        if key == (ANY, ANY, ANY):
            # Without a type, status or unit a query groups by START_MONTH: single months only.
            return first != last or _safe_difference(base)
        if base != 0:
            return base >= MIN_CELL  # a wider cell only adds to the difference
        # The first month outside first..last, on each side, that adds a plan: what it adds
        # is the smallest difference on that side; months further out add more, and a cell
        # widened on both sides adds both sides' differences up.
        below = bisect.bisect_left(prefix, prefix[first], 0, first)
        if below > 0 and not _safe_difference(prefix[first] - prefix[below - 1]):
            return False
        above = bisect.bisect_right(prefix, prefix[last + 1], last + 1)
        return above == len(prefix) or _safe_difference(prefix[above] - prefix[last + 1])

    def _prefix_of(self, key: Slice) -> list[int]:
        """prefix[k]: the slice's plans that start before month k."""
        if key not in self._prefix:
            per_month = self._by_month.get(key, {})
            counts = (per_month.get(m, 0) for m in range(len(self.months)))
            self._prefix[key] = list(itertools.accumulate(counts, initial=0))
        return self._prefix[key]


def released_windows(counts: dict[int, int]) -> dict[int, int | None]:
    """consentsExpiring: a window's count is shown when it is at least MIN_CELL and every
    larger window differs from it by 0 or by MIN_CELL or more (the windows nest)."""
    out: dict[int, int | None] = {}
    for i, window in enumerate(EXPIRY_WINDOWS):
        count = counts.get(window, 0)
        larger = [counts.get(w, 0) for w in EXPIRY_WINDOWS[i + 1 :]]
        ok = releasable(count) and all(_safe_difference(n - count) for n in larger)
        out[window] = count if ok else None
    return out
