"""Plan.history (endringslogg): who changed what and when, for the coordinator, the owner and
whoever represents the owner (policy.history_denial). Each entry names the object, the
fields and the actor; it shows no values (what a goal or a message said stays in its
section, read under that section's rule)."""

from __future__ import annotations

from dataclasses import dataclass

from db import history
from db.history import HistoryRow
from db.plans import PlanView
from resolvers import policy
from resolvers.context import Context
from resolvers.errors import bad_input
from resolvers.guard import deny
from resolvers.policy.build import facts, owner_facts

MAX_PAGE = 100
# Detail keys that name fields changed (never values); everything else is left out.
_NOT_FIELDS = {
    "plan",
    "participant",
    "person",
    "consent",
    "archive",
    "sha256",
    "reason",
    "name",
    "revision",
    "next",
    "from",
    "to",
    "formerStays",
    "role",
    "fields",
}


@dataclass(frozen=True)
class HistoryPage:
    rows: list[HistoryRow]
    has_next: bool


def object_of(row: HistoryRow) -> tuple[str, str | None]:
    """What the entry is about: (object type, its id)."""
    kind = row.action.split(".", 1)[0]
    detail = row.detail
    if kind == "participant":
        return kind, str(detail.get("participant") or row.target)
    if kind in ("plan", "consent"):
        return kind, row.target
    return kind, row.target


def fields_of(row: HistoryRow) -> list[str]:
    listed = row.detail.get("fields")
    if isinstance(listed, list):
        return sorted(str(f) for f in listed)
    return sorted(k for k in row.detail if k not in _NOT_FIELDS)


async def plan_history(ctx: Context, view: PlanView, first: int, after: str | None) -> HistoryPage:
    deny(policy.history_denial(facts(view), await owner_facts(ctx, view), ctx.today()))
    if not 0 <= first <= MAX_PAGE:
        raise bad_input("first", f"first must be between 0 and {MAX_PAGE}.")
    before: int | None = None
    if after is not None:
        if not after.isdigit() or len(after) > 19:
            raise bad_input("after", "after is not a cursor from this list.")
        before = int(after)
    async with ctx.pool.acquire() as conn:
        rows = await history.of_plan(conn, view.plan.id, first + 1, before)
    ctx.record_read(view.plan.id, None, "history")
    return HistoryPage(rows[:first], len(rows) > first)
