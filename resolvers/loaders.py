"""Per-request DataLoaders. Names say what they key on; each batch takes its own connection.

Loaders that depend on who is asking are built for the request's viewer, so their caches
never cross users. Each loader is made on first use: a request (or a live event) that needs
two of them does not build twenty.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property, partial
from typing import TypeVar

import asyncpg
from strawberry.dataloader import DataLoader

from db import accounts, content, links, messages, persons, plans
from db.pool import Conn
from db.sql_rule import SqlRule
from resolvers.policy.consent import IS_LEAD
from resolvers.policy.sections import MESSAGE_VISIBLE

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
        self._pool = pool
        self._viewer_id = viewer_id
        # Decisions computed from loaded rows, kept for the rest of the request.
        self.shares_active_plan: dict[uuid.UUID, bool] = {}

    def _viewer_bound(
        self, fetch: Callable[[Conn, uuid.UUID | None, Sequence[K]], Awaitable[dict[K, V]]]
    ) -> DataLoader[K, V | None]:
        viewer_id = self._viewer_id

        async def bound(conn: Conn, keys: Sequence[K]) -> dict[K, V]:
            return await fetch(conn, viewer_id, keys)

        return _loader(self._pool, bound)

    # --- persons ---------------------------------------------------------------------------

    @cached_property
    def person_by_id(self) -> DataLoader[uuid.UUID, persons.PersonRow | None]:
        return _loader(self._pool, persons.by_ids)

    @cached_property
    def global_roles_by_person(self) -> DataLoader[uuid.UUID, list[str] | None]:
        return _loader(self._pool, persons.global_roles)

    @cached_property
    def otp_channel_by_person(self) -> DataLoader[uuid.UUID, str | None]:
        return _loader(self._pool, accounts.otp_channels_by_person)

    @cached_property
    def visibility_by_person(self) -> DataLoader[uuid.UUID, dict[str, str] | None]:
        return _loader(self._pool, persons.visibilities)

    # --- plans and participants ------------------------------------------------------------

    @cached_property
    def plan_view_by_id(self) -> DataLoader[uuid.UUID, plans.PlanView | None]:
        return self._viewer_bound(plans.views)

    @cached_property
    def participants_by_plan(self) -> DataLoader[uuid.UUID, list[plans.ParticipantRow] | None]:
        return _loader(self._pool, self._members)

    @cached_property
    def leads_by_plan(self) -> DataLoader[uuid.UUID, list[plans.ParticipantRow] | None]:
        """Owner and coordinator only (the plan list's columns), not the whole plan group."""
        return _loader(self._pool, self._leads)

    @cached_property
    def participant_by_id(self) -> DataLoader[uuid.UUID, plans.ParticipantRow | None]:
        return _loader(self._pool, plans.participants_by_ids)

    @cached_property
    def notifications_by_participant(
        self,
    ) -> DataLoader[uuid.UUID, dict[str, tuple[bool, bool]] | None]:
        return _loader(self._pool, plans.notification_settings)

    @cached_property
    def shared_plans_by_viewer(
        self,
    ) -> DataLoader[uuid.UUID, dict[uuid.UUID, list[plans.SharedPlan]] | None]:
        """Keyed by the viewer alone: one statement answers "do I share an active plan with
        X" for every person of the request, however deep in the query they are reached."""
        return _loader(self._pool, _shared_plans_of_viewers)

    @cached_property
    def marks_by_plan(self) -> DataLoader[uuid.UUID, plans.PlanMarks | None]:
        return self._viewer_bound(_for_viewer(partial(plans.marks, visible=MESSAGE_VISIBLE)))

    # --- content ---------------------------------------------------------------------------

    @cached_property
    def goals_by_plan(self) -> DataLoader[uuid.UUID, list[content.GoalRow] | None]:
        return _loader(self._pool, content.goals_of_plans)

    @cached_property
    def goal_by_id(self) -> DataLoader[uuid.UUID, content.GoalRow | None]:
        return _loader(self._pool, content.goals_by_ids)

    @cached_property
    def activities_by_goal(self) -> DataLoader[uuid.UUID, list[content.ActivityRow] | None]:
        return _loader(self._pool, content.activities_of_goals)

    @cached_property
    def comments_by_goal(self) -> DataLoader[uuid.UUID, list[content.CommentRow] | None]:
        return _loader(self._pool, content.comments_of_goals)

    @cached_property
    def comments_by_activity(self) -> DataLoader[uuid.UUID, list[content.CommentRow] | None]:
        return _loader(self._pool, content.comments_of_activities)

    @cached_property
    def calendar_by_key(
        self,
    ) -> DataLoader[content.CalendarKey, list[content.CalendarRow] | None]:
        return _loader(self._pool, content.calendar_of_plans)

    @cached_property
    def documents_by_plan(self) -> DataLoader[uuid.UUID, list[content.DocumentRow] | None]:
        return _loader(self._pool, content.documents_of_plans)

    @cached_property
    def links_by_plan(self) -> DataLoader[uuid.UUID, list[links.LinkRow] | None]:
        return _loader(self._pool, links.of_plans)

    # --- messages --------------------------------------------------------------------------

    @cached_property
    def message_page(self) -> DataLoader[messages.PageKey, list[messages.MessageRow] | None]:
        return _loader(self._pool, partial(messages.pages, visible=MESSAGE_VISIBLE))

    @cached_property
    def message_by_id(self) -> DataLoader[uuid.UUID, messages.MessageRow | None]:
        return _loader(self._pool, messages.by_ids)

    @cached_property
    def read_mark_by_plan(self) -> DataLoader[uuid.UUID, dt.datetime | None]:
        return self._viewer_bound(_for_viewer(messages.read_marks))

    # --- batch functions that prime other loaders --------------------------------------------

    async def _members(
        self, conn: Conn, plan_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[plans.ParticipantRow]]:
        return await self._primed(conn, plan_ids, only=None)

    async def _leads(
        self, conn: Conn, plan_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[plans.ParticipantRow]]:
        return await self._primed(conn, plan_ids, only=IS_LEAD)

    async def _primed(
        self, conn: Conn, plan_ids: Sequence[uuid.UUID], *, only: SqlRule | None
    ) -> dict[uuid.UUID, list[plans.ParticipantRow]]:
        """Participants by plan; their persons and visibility choices come in the same round
        trip and are primed, so reading them later costs no statement."""
        found = await plans.members_of(conn, plan_ids, only=only)
        for members in found.values():
            for m in members:
                self.person_by_id.prime(m.person.id, m.person)
                self.visibility_by_person.prime(m.person.id, m.visibility)
                self.participant_by_id.prime(m.participant.id, m.participant)
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
