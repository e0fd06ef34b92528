"""The checks a resolver passes before it reads or writes a plan: who is asking, which plan
they may know of, and the policy's verdict turned into the error the caller sees.

Shared by every plan area (plans, content, messages, lifecycle); the rules themselves live in
resolvers/policy/.

The guards at the end (``admit_*``) are the only makers of ``Admitted`` rows, and the schema
types of plan content, participants and persons take nothing else: a ``Goal`` is checked because
it is a goal, whatever path led to it (docs/access-model.md, "Which rule guards which type").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from graphql import GraphQLError

from db import plans
from db.content import ActivityRow, CalendarRow, CommentRow, DocumentRow, GoalRow
from db.messages import MessageRow
from db.persons import PersonRow
from db.plans import ParticipantRow, PlanView
from db.pool import Conn
from resolvers import policy, validation
from resolvers.context import Context, Viewer
from resolvers.errors import forbidden, not_found, unauthenticated
from resolvers.policy.build import facts

T = TypeVar("T")


def require_viewer(ctx: Context) -> Viewer:
    """The logged-in person asking; UNAUTHENTICATED otherwise."""
    if ctx.viewer is None:
        raise unauthenticated()
    return ctx.viewer


def deny(reason: policy.Denial) -> None:
    """FORBIDDEN with the policy's reason code, if it gave one."""
    if reason:
        raise forbidden(reason)


async def visible_plan(ctx: Context, plan_id: str | uuid.UUID, field: str = "id") -> PlanView:
    """The plan if the viewer may know of it; NOT_FOUND otherwise (no leak of existence)."""
    viewer = require_viewer(ctx)
    pid = plan_id if isinstance(plan_id, uuid.UUID) else validation.identifier(field, plan_id)
    view = await ctx.loaders.plan_view_by_id.load(pid)
    if view is None or not policy.plan_visible(facts(view), viewer.global_roles):
        raise not_found("plan")
    return view


async def view_of(ctx: Context, plan_id: uuid.UUID) -> PlanView:
    """The plan of a row the viewer already reached (no check of its own)."""
    view = await ctx.loaders.plan_view_by_id.load(plan_id)
    assert view is not None
    return view


def require_section(ctx: Context, view: PlanView, section: str) -> None:
    """Reading a section: allowed by policy.section_denial, and written to the access log."""
    denial = policy.section_denial(facts(view), section, ctx.today())
    if denial:
        raise forbidden(denial)
    ctx.record_read(view.plan.id, None, section)


async def locked_view(conn: Conn, ctx: Context, plan_id: uuid.UUID) -> PlanView:
    """For a write: the plan locked in the caller's transaction and read anew, if the viewer
    may know of it; NOT_FOUND otherwise."""
    viewer = require_viewer(ctx)
    await plans.lock_plan(conn, plan_id)
    view = (await plans.views(conn, viewer.person_id, [plan_id])).get(plan_id)
    if view is None or not policy.plan_visible(facts(view), viewer.global_roles):
        raise not_found("plan")
    return view


async def writable(conn: Conn, ctx: Context, plan_id: uuid.UUID, section: str) -> PlanView:
    """For a write to a section: the locked plan, if policy.write_denial allows it."""
    view = await locked_view(conn, ctx, plan_id)
    denial = policy.write_denial(facts(view), section, ctx.today())
    if denial:
        raise forbidden(denial)
    assert view.mine is not None
    return view


async def writable_content(
    conn: Conn, ctx: Context, plan_id: uuid.UUID, section: str, what: str
) -> PlanView:
    """For a change to one row of plan content addressed by its id: as ``writable``, but
    NOT_FOUND (naming ``what``) for anyone who takes no part in the plan, an administrator
    who knows of the plan included: its content is not theirs to know of (as for goals)."""
    require_viewer(ctx)
    try:
        view = await locked_view(conn, ctx, plan_id)
    except GraphQLError:  # the plan is unknown to the viewer
        raise not_found(what) from None
    if view.mine is None:
        raise not_found(what)
    deny(policy.write_denial(facts(view), section, ctx.today()))
    return view


# --- admitted rows: what the schema types are built from ---------------------------------------


@dataclass(frozen=True)
class Admitted(Generic[T]):
    """A row a guard below let through to this viewer, and the name of the rule that did.
    Made only in this module; Goal, Activity, Comment, Message, CalendarEntry, Document,
    Participant and Person are built from nothing else."""

    row: T
    rule: str


# The rule names an Admitted row carries (section rules carry the section too).
PARTICIPANT = "participant_denial"
NAMED_PARTICIPANT = "participant_denial(named)"
MESSAGE = "section_denial(messages)+message_visible"
SIGNED_IN = "require_viewer"
OWN_PERSON = "own_account_denial"

Content = TypeVar("Content", GoalRow, ActivityRow, CommentRow, CalendarRow, DocumentRow, MessageRow)


class _OfPlan(Protocol):
    @property
    def plan_id(self) -> uuid.UUID: ...


Row = TypeVar("Row", bound=_OfPlan)
_SECTION_OF_TYPE: dict[type, str] = {
    GoalRow: "goals",
    ActivityRow: "activities",
    CalendarRow: "calendar",
    DocumentRow: "documents",
    MessageRow: "messages",
}


def section_of(
    row: GoalRow | ActivityRow | CommentRow | CalendarRow | DocumentRow | MessageRow,
) -> str:
    """The plan section a row of content belongs to; a comment, to what it comments on."""
    if isinstance(row, CommentRow):
        return "goals" if row.goal_id is not None else "activities"
    return _SECTION_OF_TYPE[type(row)]


def _section_rows(
    ctx: Context, view: PlanView, section: str, rows: Iterable[Row]
) -> list[Admitted[Row]]:
    """Rows of one section of one plan (``view``): policy.section_denial, decided once for them
    all (and for none: an empty list is refused alike)."""
    deny(policy.section_denial(facts(view), section, ctx.today()))
    admitted = [Admitted(row, f"section_denial({section})") for row in rows]
    assert all(a.row.plan_id == view.plan.id for a in admitted)
    return admitted


def admit(ctx: Context, view: PlanView, row: Content) -> Admitted[Content]:
    """One row of plan content, by its own section's rule (section_of): policy.section_denial,
    and for a message also policy.message_visible (NO_GRANT when it is not meant for the
    viewer). ``view`` is the row's plan."""
    assert row.plan_id == view.plan.id
    if isinstance(row, MessageRow):
        deny(
            policy.message_read_denial(
                facts(view),
                author_id=row.author_id,
                recipient_ids=row.recipient_ids,
                today=ctx.today(),
            )
        )
        return Admitted(row, MESSAGE)
    (admitted,) = _section_rows(ctx, view, section_of(row), [row])
    return admitted


def admit_goals(ctx: Context, view: PlanView, rows: Iterable[GoalRow]) -> list[Admitted[GoalRow]]:
    """Mål of one plan: GOALS >= READ."""
    return _section_rows(ctx, view, "goals", rows)


def admit_activities(
    ctx: Context, view: PlanView, rows: Iterable[ActivityRow]
) -> list[Admitted[ActivityRow]]:
    """Tiltak of one plan: ACTIVITIES >= READ."""
    return _section_rows(ctx, view, "activities", rows)


def admit_comments(
    ctx: Context, view: PlanView, on: GoalRow | ActivityRow, rows: Iterable[CommentRow]
) -> list[Admitted[CommentRow]]:
    """The comments on one goal or activity: the section of what they comment on."""
    return _section_rows(ctx, view, section_of(on), rows)


def admit_calendar(
    ctx: Context, view: PlanView, rows: Iterable[CalendarRow]
) -> list[Admitted[CalendarRow]]:
    """Kalender entries of one plan: CALENDAR >= READ."""
    return _section_rows(ctx, view, "calendar", rows)


def admit_documents(
    ctx: Context, view: PlanView, rows: Iterable[DocumentRow]
) -> list[Admitted[DocumentRow]]:
    """Dokumenter of one plan: DOCUMENTS >= READ."""
    return _section_rows(ctx, view, "documents", rows)


def admit_messages(
    ctx: Context, view: PlanView, rows: Iterable[MessageRow]
) -> list[Admitted[MessageRow]]:
    """The messages among ``rows`` the viewer may read: none while policy.section_denial
    closes MESSAGES (decided once), and of the rest those policy.message_visible lets
    through. A filter, never an error: callers that must refuse do so first
    (require_section)."""
    if policy.section_denial(facts(view), "messages", ctx.today()):
        return []
    return [Admitted(row, MESSAGE) for row in rows if _meant_for(view, row)]


def _meant_for(view: PlanView, row: MessageRow) -> bool:
    return policy.message_visible(
        plan=facts(view), author_id=row.author_id, recipient_ids=row.recipient_ids
    )


def admit_participant(
    ctx: Context, view: PlanView, row: ParticipantRow, *, named: bool
) -> Admitted[ParticipantRow]:
    """A plandeltaker reached through any field: policy.participant_denial. ``named``: the
    author, responsible, createdBy or uploadedBy of content the caller has admitted; the
    Participant remembers it (NAMED_PARTICIPANT) for its own fields."""
    viewer = require_viewer(ctx)
    assert row.plan_id == view.plan.id
    deny(
        policy.participant_denial(
            facts(view),
            viewer.global_roles,
            participant_id=row.id,
            participant_role=row.role,
            named=named,
            today=ctx.today(),
        )
    )
    return Admitted(row, NAMED_PARTICIPANT if named else PARTICIPANT)


def admit_participants(
    ctx: Context, view: PlanView, rows: Iterable[ParticipantRow]
) -> list[Admitted[ParticipantRow]]:
    """Plangruppa, the whole list: PARTICIPANTS >= READ (policy.section_denial, decided once;
    it lets through whomever policy.participant_denial would)."""
    return _section_rows(ctx, view, "participants", rows)


def admit_person(ctx: Context, row: PersonRow) -> Admitted[PersonRow]:
    """A person, however reached: anyone logged in who finds them reads the name and position
    (UNAUTHENTICATED otherwise); each contact field then decides for itself
    (policy.person_field_denial, in resolvers/persons.py)."""
    require_viewer(ctx)
    return Admitted(row, SIGNED_IN)


def admit_own_person(person_id: uuid.UUID, row: PersonRow) -> Admitted[PersonRow]:
    """The person a new session belongs to, before it is the request's viewer
    (verifyLoginCode's answer): policy.own_account_denial."""
    deny(policy.own_account_denial(person_id, row.id))
    return Admitted(row, OWN_PERSON)
