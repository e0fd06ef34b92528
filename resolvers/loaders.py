"""Per-request DataLoaders. Names say what they key on; each batch takes its own connection.

Loaders that depend on who is asking are built for the request's viewer, so their caches
never cross users.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg
from strawberry.dataloader import DataLoader

from db import accounts, content, messages, persons, plans
from db.pool import Conn

K = TypeVar("K")
V = TypeVar("V")


def _loader(
    pool: asyncpg.Pool,
    fetch: Callable[[Conn, Sequence[K]], Awaitable[dict[K, V]]],
) -> DataLoader[K, V | None]:
    async def batch(keys: list[K]) -> list[V | None]:
        async with pool.acquire() as conn:
            found = await fetch(conn, keys)
        return [found.get(k) for k in keys]

    return DataLoader(load_fn=batch)


class Loaders:
    """Everything a request may load in batches; built fresh for every request."""

    def __init__(self, pool: asyncpg.Pool, viewer_id: uuid.UUID | None = None) -> None:
        # Decisions computed from loaded rows, kept for the rest of the request.
        self.shares_active_plan: dict[uuid.UUID, bool] = {}
        self.person_by_id: DataLoader[uuid.UUID, persons.PersonRow | None] = _loader(
            pool, persons.by_ids
        )
        self.global_roles_by_person: DataLoader[uuid.UUID, list[str] | None] = _loader(
            pool, persons.global_roles
        )
        self.otp_channel_by_person: DataLoader[uuid.UUID, str | None] = _loader(
            pool, accounts.otp_channels_by_person
        )
        self.visibility_by_person: DataLoader[uuid.UUID, dict[str, str] | None] = _loader(
            pool, persons.visibilities
        )
        self.participants_by_plan: DataLoader[uuid.UUID, list[plans.ParticipantRow] | None] = (
            _loader(pool, self._members)
        )
        self.participant_by_id: DataLoader[uuid.UUID, plans.ParticipantRow | None] = _loader(
            pool, plans.participants_by_ids
        )
        self.notifications_by_participant: DataLoader[
            uuid.UUID, dict[str, tuple[bool, bool]] | None
        ] = _loader(pool, plans.notification_settings)

        self.goals_by_plan: DataLoader[uuid.UUID, list[content.GoalRow] | None] = _loader(
            pool, content.goals_of_plans
        )
        self.goal_by_id: DataLoader[uuid.UUID, content.GoalRow | None] = _loader(
            pool, content.goals_by_ids
        )
        self.activities_by_goal: DataLoader[uuid.UUID, list[content.ActivityRow] | None] = _loader(
            pool, content.activities_of_goals
        )
        self.comments_by_goal: DataLoader[uuid.UUID, list[content.CommentRow] | None] = _loader(
            pool, content.comments_of_goals
        )
        self.comments_by_activity: DataLoader[uuid.UUID, list[content.CommentRow] | None] = _loader(
            pool, content.comments_of_activities
        )
        self.calendar_by_key: DataLoader[content.CalendarKey, list[content.CalendarRow] | None] = (
            _loader(pool, content.calendar_of_plans)
        )
        self.documents_by_plan: DataLoader[uuid.UUID, list[content.DocumentRow] | None] = _loader(
            pool, content.documents_of_plans
        )
        self.message_page: DataLoader[messages.PageKey, list[messages.MessageRow] | None] = _loader(
            pool, messages.pages
        )
        self.message_by_id: DataLoader[uuid.UUID, messages.MessageRow | None] = _loader(
            pool, messages.by_ids
        )

        # The viewer's own view of things.
        def viewer_bound(
            fetch: Callable[[Conn, uuid.UUID | None, Sequence[K]], Awaitable[dict[K, V]]],
        ) -> DataLoader[K, V | None]:
            async def bound(conn: Conn, keys: Sequence[K]) -> dict[K, V]:
                return await fetch(conn, viewer_id, keys)

            return _loader(pool, bound)

        self.plan_view_by_id: DataLoader[uuid.UUID, plans.PlanView | None] = viewer_bound(
            plans.views
        )
        # Keyed by the viewer alone: one statement answers "do I share an active plan with X"
        # for every person of the request, however deep in the query they are reached.
        self.shared_plans_by_viewer: DataLoader[
            uuid.UUID, dict[uuid.UUID, list[plans.SharedPlan]] | None
        ] = _loader(pool, _shared_plans_of_viewers)
        self.visit_by_plan: DataLoader[uuid.UUID, dt.datetime | None] = viewer_bound(
            _for_viewer(plans.visits)
        )
        self.read_mark_by_plan: DataLoader[uuid.UUID, dt.datetime | None] = viewer_bound(
            _for_viewer(messages.read_marks)
        )
        self.unread_by_plan: DataLoader[uuid.UUID, list[plans.UnreadFacts] | None] = viewer_bound(
            _for_viewer(plans.unread)
        )

    async def _members(
        self, conn: Conn, plan_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[plans.ParticipantRow]]:
        """Participants by plan; their persons and visibility choices come in the same round
        trip and are primed, so reading them later costs no statement."""
        found = await plans.members_of(conn, plan_ids)
        for members in found.values():
            for m in members:
                self.person_by_id.prime(m.person.id, m.person)
                self.visibility_by_person.prime(m.person.id, m.visibility)
        return {plan_id: [m.participant for m in members] for plan_id, members in found.items()}


async def _shared_plans_of_viewers(
    conn: Conn, viewer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[uuid.UUID, list[plans.SharedPlan]]]:
    return {v: await plans.shared_plans(conn, v) for v in viewer_ids}


def _for_viewer(
    fetch: Callable[[Conn, uuid.UUID, Sequence[K]], Awaitable[dict[K, V]]],
) -> Callable[[Conn, uuid.UUID | None, Sequence[K]], Awaitable[dict[K, V]]]:
    """Queries that only make sense for a logged-in viewer answer nothing otherwise."""

    async def call(conn: Conn, viewer_id: uuid.UUID | None, keys: Sequence[K]) -> dict[K, V]:
        if viewer_id is None:
            return {}
        return await fetch(conn, viewer_id, keys)

    return call
