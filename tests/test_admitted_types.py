"""Enforcement at the type (issue 11): a Goal is checked because it is a goal.

Goal, Activity, Comment, Message, CalendarEntry, Document, Participant and Person are built
only from ``Admitted`` rows, and only the guards in resolvers/guard.py make those, each by its
type's rule (docs/access-model.md, "Which rule guards which type"). mypy --strict rejects a
type built from a raw row; the code scans below keep the two ends of that contract in place.

The behaviour: every field of the schema that returns one of these types (or a holder of one,
such as MessageConnection) is resolved on a FORGED parent, an object no guard admitted, built
from real rows of a plan with markers in every section (tests/http/test_neighbour_walk.py).
That is what a field that trusted the path leading to it would be handed. A viewer without the
right gets null and FORBIDDEN with the rule's reason from every such field, whatever the parent
was; the list of fields is generated from the schema, so a new one needs its recipe here. The
root fields are walked over HTTP in tests/http/test_neighbour_walk.py (a participant without
the section, and nobody logged in).
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import typing
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import strawberry
from graphql import get_named_type, is_object_type
from strawberry.types.private import StrawberryPrivate

from db.access_log import LogRow
from db.content import ActivityRow, CalendarRow, CommentRow, DocumentRow, GoalRow
from db.messages import MessageRow
from db.persons import PersonRow
from db.plans import ParticipantRow
from resolvers.context import Context, Viewer
from resolvers.guard import Admitted
from resolvers.loaders import Loaders
from schema import build_schema
from schema import types as schema_types
from schema.context import Info
from schema.extensions import ErrorCodes
from tests.conftest import Gateway
from tests.http.test_neighbour_walk import VIEWER, Scene, build_scene, sdl_schema
from tests.plan_world import COORDINATOR, OUTSIDER, RELATIVE, SECTIONS

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "schema", "resolvers", "db")
GUARD = Path("resolvers/guard.py")
# Each guarded schema type and the row it is admitted with.
GUARDED: dict[str, type] = {
    "Goal": GoalRow,
    "Activity": ActivityRow,
    "Comment": CommentRow,
    "Message": MessageRow,
    "CalendarEntry": CalendarRow,
    "Document": DocumentRow,
    "Participant": ParticipantRow,
    "Person": PersonRow,
}


# --- (1) the code: Admitted is made in the guard, the types take nothing else ------------------


def _modules() -> list[tuple[Path, ast.Module]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found.append((path.relative_to(ROOT), ast.parse(path.read_text(), str(path))))
    return found


def _called(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def test_admitted_rows_are_made_only_by_the_guards() -> None:
    makers, aliases = [], []
    for path, module in _modules():
        for node in ast.walk(module):
            if isinstance(node, ast.Call) and _called(node) == "Admitted" and path != GUARD:
                makers.append(f"{path}:{node.lineno}")
            if isinstance(node, ast.ImportFrom | ast.Import):
                aliases += [
                    f"{path}:{node.lineno}"
                    for a in node.names
                    if a.name.endswith("Admitted") and a.asname not in (None, "Admitted")
                ]
    assert not makers, f"Admitted(...) outside resolvers/guard.py: {makers}"
    assert not aliases, f"Admitted imported under another name: {aliases}"


@pytest.mark.parametrize("name", GUARDED)
def test_a_guarded_type_is_built_only_from_an_admitted_row(name: str) -> None:
    kind = getattr(schema_types, name)
    parameters = [p for p in inspect.signature(kind).parameters if p != "self"]
    assert parameters == ["admitted"], (name, parameters)
    hint = typing.get_type_hints(kind, include_extras=True)["admitted"]
    assert typing.get_origin(hint) is typing.Annotated, hint
    admitted, *marks = typing.get_args(hint)
    assert any(isinstance(m, StrawberryPrivate) for m in marks), hint
    assert typing.get_origin(admitted) is Admitted, hint
    assert typing.get_args(admitted) == (GUARDED[name],), hint


def test_guarded_types_are_constructed_with_the_admitted_keyword_only() -> None:
    wrong = []
    for path, module in _modules():
        for node in ast.walk(module):
            if isinstance(node, ast.Call) and _called(node) in GUARDED:
                keywords = [k.arg for k in node.keywords]
                if node.args or keywords != ["admitted"]:
                    wrong.append(f"{path}:{node.lineno}")
    assert not wrong, f"a guarded type built other than Type(admitted=...): {wrong}"


MYPY_PROBE = """
from typing import Any
from db.content import ActivityRow, CalendarRow, CommentRow, DocumentRow, GoalRow
from db.messages import MessageRow
from db.persons import PersonRow
from db.plans import ParticipantRow
from resolvers.guard import Admitted
from schema import types


def built(rows: tuple[Any, ...], admitted: tuple[Any, ...]) -> None:
"""


def test_mypy_rejects_a_guarded_type_built_from_a_raw_row(tmp_path: Path) -> None:
    """mypy --strict, as scripts/check runs it: a raw row is an error, an admitted one is not."""
    lines = MYPY_PROBE.splitlines()
    raw_lines = []
    for name, row in GUARDED.items():
        lines.append(f"    raw_{name}: {row.__name__} = rows[0]")
        lines.append(f"    types.{name}(admitted=raw_{name})")
        raw_lines.append(len(lines))
        lines.append(f"    ok_{name}: Admitted[{row.__name__}] = admitted[0]")
        lines.append(f"    types.{name}(admitted=ok_{name})")
    probe = tmp_path / "probe.py"
    probe.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", "pyproject.toml", str(probe)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    flagged = sorted(int(line.split(":")[1]) for line in errors)
    assert flagged == raw_lines, done.stdout
    assert all("[arg-type]" in line for line in errors), done.stdout


# --- (2) the behaviour: every field into a guarded type, on a forged parent ---------------------


def _forge(row: Any) -> Admitted[Any]:
    """What no guard made: the row as a field that trusted its path would get it."""
    return Admitted(row, "forged")


def _one(rows: list[Any] | None) -> Any:
    assert rows, "the scene has this row"
    return rows[0]


@strawberry.type
class Forged:
    """Objects of every type that has fields into a guarded type, built from real rows with
    no guard in between."""

    @strawberry.field
    async def plan(self, info: Info, id: strawberry.ID) -> schema_types.Plan | None:
        view = await info.context.loaders.plan_view_by_id.load(uuid.UUID(id))
        assert view is not None
        return schema_types.Plan(view=view)

    @strawberry.field
    async def goal(self, info: Info, id: strawberry.ID) -> schema_types.Goal | None:
        row = await info.context.loaders.goal_by_id.load(uuid.UUID(id))
        return schema_types.Goal(admitted=_forge(row))

    @strawberry.field
    async def activity(self, info: Info, goal_id: strawberry.ID) -> schema_types.Activity | None:
        rows = await info.context.loaders.activities_by_goal.load(uuid.UUID(goal_id))
        return schema_types.Activity(admitted=_forge(_one(rows)))

    @strawberry.field
    async def goal_comment(self, info: Info, goal_id: strawberry.ID) -> schema_types.Comment | None:
        rows = await info.context.loaders.comments_by_goal.load(uuid.UUID(goal_id))
        return schema_types.Comment(admitted=_forge(_one(rows)))

    @strawberry.field
    async def activity_comment(
        self, info: Info, activity_id: strawberry.ID
    ) -> schema_types.Comment | None:
        rows = await info.context.loaders.comments_by_activity.load(uuid.UUID(activity_id))
        return schema_types.Comment(admitted=_forge(_one(rows)))

    @strawberry.field
    async def message(self, info: Info, id: strawberry.ID) -> schema_types.Message | None:
        row = await info.context.loaders.message_by_id.load(uuid.UUID(id))
        return schema_types.Message(admitted=_forge(row))

    @strawberry.field
    async def calendar_entry(
        self, info: Info, plan_id: strawberry.ID
    ) -> schema_types.CalendarEntry | None:
        rows = await info.context.loaders.calendar_by_key.load((uuid.UUID(plan_id), None, None))
        return schema_types.CalendarEntry(admitted=_forge(_one(rows)))

    @strawberry.field
    async def document(self, info: Info, plan_id: strawberry.ID) -> schema_types.Document | None:
        rows = await info.context.loaders.documents_by_plan.load(uuid.UUID(plan_id))
        return schema_types.Document(admitted=_forge(_one(rows)))

    @strawberry.field
    async def participant(self, info: Info, id: strawberry.ID) -> schema_types.Participant | None:
        row = await info.context.loaders.participant_by_id.load(uuid.UUID(id))
        return schema_types.Participant(admitted=_forge(row))

    @strawberry.field
    async def consent(self, info: Info, plan_id: strawberry.ID) -> schema_types.Consent | None:
        view = await info.context.loaders.plan_view_by_id.load(uuid.UUID(plan_id))
        assert view is not None and view.consent is not None
        return schema_types.Consent(row=view.consent)

    @strawberry.field
    async def access_log_entry(
        self, info: Info, plan_id: strawberry.ID, viewer_id: strawberry.ID
    ) -> schema_types.AccessLogEntry | None:
        at = info.context.now()
        row = LogRow(0, at, uuid.UUID(viewer_id), uuid.UUID(plan_id), "goals")
        return schema_types.AccessLogEntry(row=row)


FORGED = strawberry.Schema(query=Forged, extensions=[ErrorCodes])


@dataclass(frozen=True)
class Recipe:
    """A forged parent for one field: the Forged root that makes it, and the sections whose
    NONE refuses the field to the walk's viewer (with ``reason``)."""

    root: str
    refused_by: frozenset[str]
    reason: str = "NO_GRANT"


def _by(*sections: str) -> frozenset[str]:
    return frozenset(sections)


# Every field of a schema type that returns a guarded type, or a holder of one.
RECIPES: dict[tuple[str, str], tuple[Recipe, ...]] = {
    ("Plan", "owner"): (Recipe("plan", _by()),),
    ("Plan", "coordinator"): (Recipe("plan", _by()),),
    ("Plan", "myParticipation"): (Recipe("plan", _by()),),
    ("Plan", "participants"): (Recipe("plan", _by("participants")),),
    ("Plan", "goals"): (Recipe("plan", _by("goals")),),
    ("Plan", "messages"): (Recipe("plan", _by("messages")),),
    ("Plan", "calendar"): (Recipe("plan", _by("calendar")),),
    ("Plan", "documents"): (Recipe("plan", _by("documents")),),
    ("Goal", "responsible"): (Recipe("goal", _by("goals")),),
    ("Goal", "parent"): (Recipe("goal", _by("goals")),),
    ("Goal", "subGoals"): (Recipe("goal", _by("goals")),),
    ("Goal", "activities"): (Recipe("goal", _by("activities")),),
    ("Goal", "comments"): (Recipe("goal", _by("goals")),),
    # The scene has no linked plan: answered null when allowed (EMPTY_HERE).
    ("Goal", "serves"): (Recipe("goal", _by("goals", "linked_plans")),),
    ("Activity", "goal"): (Recipe("activity", _by("goals")),),
    ("Activity", "responsible"): (Recipe("activity", _by("activities")),),
    ("Activity", "comments"): (Recipe("activity", _by("activities")),),
    ("Comment", "author"): (
        Recipe("goalComment", _by("goals")),
        Recipe("activityComment", _by("activities")),
    ),
    ("CalendarEntry", "createdBy"): (Recipe("calendarEntry", _by("calendar")),),
    ("Document", "uploadedBy"): (Recipe("document", _by("documents")),),
    ("Message", "author"): (Recipe("message", _by("messages")),),
    # The scene's message corrects none: answered null when allowed (EMPTY_HERE).
    ("Message", "corrects"): (Recipe("message", _by("messages")),),
    # To the viewer and the relative: a recipient list needs the plan group.
    ("Message", "recipients"): (Recipe("message", _by("messages", "participants")),),
    # Forged as not named: the relative, seen only with the plan group.
    ("Participant", "person"): (Recipe("participant", _by("participants")),),
    # The consent document is the owner's side's, whatever the viewer's sections.
    ("Consent", "givenBy"): (Recipe("consent", _by(*SECTIONS), "ROLE_REQUIRED"),),
    ("AccessLogEntry", "viewer"): (Recipe("accessLogEntry", _by()),),
}
# Null without an error for someone who takes no part: there is no participation to refuse.
NOBODY_HERE = {("Plan", "myParticipation")}
# Null without an error for everyone the field is not refused to: the scene has none.
EMPTY_HERE = {("Goal", "serves"), ("Message", "corrects")}
# Admitted for anyone logged in (the person rule); refused only to nobody logged in.
SIGNED_IN = {("AccessLogEntry", "viewer")}
# What the field's selection asks for, when its type is a holder of the guarded type.
INNER = {"MessageConnection": "{ edges { node { __typename } } }"}


def holders() -> set[str]:
    """Types whose fields are all plain attributes (MessageConnection, MessageEdge, Session …):
    built with objects that a field above them admitted."""
    schema = build_schema()
    found = set()
    for name, kind in schema.schema_converter.type_map.items():
        fields = getattr(kind.definition, "fields", None)
        if fields and all(f.base_resolver is None for f in fields):
            found.add(name)
    return found


def guarded_edges() -> set[tuple[str, str]]:
    """Every field of a schema type (not a root, not a holder) whose result is a guarded type
    or a holder through which one is reached."""
    schema, plain = sdl_schema(), holders()

    def reaches(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name in GUARDED:
            return True
        kind = schema.type_map[name]
        if name not in plain or name in seen or not is_object_type(kind):
            return False
        return any(
            reaches(get_named_type(f.type).name, seen | {name}) for f in kind.fields.values()
        )

    roots = {"Query", "Mutation", "Subscription"}
    return {
        (name, field)
        for name, kind in schema.type_map.items()
        if is_object_type(kind) and name not in roots | plain and not name.startswith("__")
        for field, f in kind.fields.items()
        if reaches(get_named_type(f.type).name)
    }


def test_every_field_into_a_guarded_type_has_a_recipe() -> None:
    assert guarded_edges() == set(RECIPES), (
        sorted(guarded_edges() - set(RECIPES)),
        sorted(set(RECIPES) - guarded_edges()),
    )


def _query(root: str, field: str, args: dict[str, str]) -> str:
    query_root = FORGED._schema.query_type
    assert query_root is not None
    parent = get_named_type(query_root.fields[root].type)
    assert is_object_type(parent)
    inner = get_named_type(parent.fields[field].type).name
    header = ", ".join(f"${n}: ID!" for n in args)
    call = ", ".join(f"{n}: ${n}" for n in args)
    selection = INNER.get(inner, "{ __typename }")
    return f"query({header}) {{ {root}({call}) {{ {field} {selection} }} }}"


async def _scene_ids(scene: Scene) -> dict[str, dict[str, str]]:
    """The arguments of each Forged root in this scene."""
    world = scene.world
    async with world.gateway.pool.acquire() as conn:
        message_id = await conn.fetchval(
            "SELECT id FROM messages WHERE plan_id = $1 AND body LIKE 'messagesmarkto%'",
            uuid.UUID(world.plan_id),
        )
    plan = {"planId": world.plan_id}
    return {
        "plan": {"id": world.plan_id},
        "goal": {"id": scene.sub_goal_id},
        "activity": {"goalId": scene.goal_id},
        "goalComment": {"goalId": scene.goal_id},
        "activityComment": {"activityId": scene.activity_id},
        "message": {"id": str(message_id)},
        "calendarEntry": plan,
        "document": plan,
        "participant": {"id": scene.part(RELATIVE)},
        "consent": plan,
        "accessLogEntry": {**plan, "viewerId": scene.pid(RELATIVE)},
    }


def _context(gateway: Gateway, scene: Scene, key: str | None) -> Context:
    viewer = None
    if key is not None:
        user = scene.world.actors[key].user
        viewer = Viewer(user.person_id, user.account_id, None, frozenset())
    return Context(
        pool=gateway.pool,
        settings=gateway.settings,
        clock=gateway.clock,
        viewer=viewer,
        client_addr=None,
        loaders=Loaders(gateway.pool, viewer.person_id if viewer else None),
    )


Outcome = tuple[str, str | None] | None  # (code, reason) of the refusal, or None: answered


def _expected(edge: tuple[str, str], recipe: Recipe, who: str, none: str) -> Outcome:
    if who == COORDINATOR:
        return None
    if who in (OUTSIDER, "nobody"):
        if edge in NOBODY_HERE or (who == OUTSIDER and edge in SIGNED_IN):
            return None
        return ("FORBIDDEN", "NOT_PARTICIPANT")
    return ("FORBIDDEN", recipe.reason) if none in recipe.refused_by else None


async def _outcome(
    ctx: Context, root: str, field: str, args: dict[str, str]
) -> tuple[Outcome, Any]:
    result = await FORGED.execute(_query(root, field, args), args, context_value=ctx)
    errors: list[tuple[Any, Any, Any]] = [
        (e.path, (e.extensions or {}).get("code"), (e.extensions or {}).get("reason"))
        for e in result.errors or []
    ]
    if not errors:
        assert result.data is not None and result.data[root] is not None, result
        return None, result.data[root][field]
    assert len(errors) == 1, (root, field, errors)
    ((path, code, reason),) = errors
    assert path == [root, field], (root, field, errors)
    value = (result.data or {}).get(root)
    return (code, reason), None if value is None else value[field]


@pytest.mark.parametrize("none", SECTIONS)
async def test_every_field_into_a_guarded_type_refuses_a_forged_parent(
    gateway: Gateway, none: str
) -> None:
    """The walk's viewer has NONE on ``none``; a forged parent gets them nothing of it."""
    scene = await build_scene(gateway, none)
    ids = await _scene_ids(scene)
    people: list[str | None] = [VIEWER]
    if none == SECTIONS[0]:  # the same for every scene: asked once
        people += [COORDINATOR, OUTSIDER, None]
    seen = []
    for who in people:
        ctx = _context(gateway, scene, who)
        for edge, recipes in sorted(RECIPES.items()):
            for recipe in recipes:
                expected = _expected(edge, recipe, who or "nobody", none)
                got, value = await _outcome(ctx, recipe.root, edge[1], ids[recipe.root])
                if who is None and expected is not None and got is not None:
                    # Nobody logged in: refused as a stranger, or asked to log in first.
                    assert got in (expected, ("UNAUTHENTICATED", None)), (who, edge, got)
                else:
                    assert got == expected, (none, who, edge, recipe.root, got, value)
                if expected is not None:
                    assert value is None, (none, who, edge, value)
                elif edge not in EMPTY_HERE and (
                    edge not in NOBODY_HERE or who in (VIEWER, COORDINATOR)
                ):
                    assert value is not None, (none, who, edge, "answered nothing")
                seen.append((who, edge, got))
    # Not vacuous: the viewer was refused something, and answered the rest.
    assert any(w == VIEWER and g is not None for w, _, g in seen)
    assert any(w == VIEWER and g is None for w, _, g in seen)


def test_recipes_name_sections_and_forged_roots() -> None:
    query_root = FORGED._schema.query_type
    assert query_root is not None
    roots = set(query_root.fields)
    for recipes in RECIPES.values():
        for recipe in recipes:
            assert recipe.refused_by <= set(SECTIONS), recipe
            assert recipe.root in roots, recipe
