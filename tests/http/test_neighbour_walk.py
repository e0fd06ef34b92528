"""Content reached through a neighbour: every field decides for itself (issue 9).

``updateActivity(...) { goal { title } }`` once returned the goal to a participant with GOALS
NONE: the field trusted the path that led to it. Now each field that returns plan content
decides by the content's own section (Goal → GOALS, Activity → ACTIVITIES, Comment → its
parent's section, Message → MESSAGES and the row rule, CalendarEntry → CALENDAR, Document →
DOCUMENTS, Participant → PARTICIPANTS), and a participant named as author, responsible,
createdBy or uploadedBy is seen (name and position) with whatever names them.

The walk: for each section, a plan whose service provider (the viewer) has NONE there and
WRITE elsewhere, with unique marker strings seeded in every section. The viewer calls every
mutation of the schema once (one fixture per mutation, below; a mutation without one fails
the test) and every query root, each with a selection GENERATED from the schema: every field,
recursing into every object-returning field to a bounded depth, never following the same
(type, field) edge twice on one path. A field added to the schema is walked without a new
test. No marker of the NONE section may appear anywhere in any answer; every error carries a
contract code, FORBIDDEN with a reason; a mutation the viewer may not call is refused
(FORBIDDEN or NOT_FOUND). So that the walk cannot pass by reaching nothing, the markers of
every other section must each show up somewhere.

Enforcement at the type (issue 11): wherever an answer holds a field that returns the NONE
section's type (Plan.goals, Activity.goal, Goal.activities, addGoal …), that field is null with
FORBIDDEN at its own path, and a write whose answer is of that section answers null. Nobody
logged in gets no Goal, Activity, Comment, Message, CalendarEntry, Document, Participant or
Person through any root. tests/test_admitted_types.py resolves every field into those types
on forged parents, for the fields this walk cannot reach (Goal.parent under GOALS NONE …).

Real HTTP against real PostgreSQL; plans come from tests/plan_world.py.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from graphql import (
    GraphQLField,
    GraphQLInputType,
    GraphQLObjectType,
    GraphQLSchema,
    Lexer,
    Source,
    TokenKind,
    get_named_type,
    is_abstract_type,
    is_enum_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql import build_schema as schema_from_sdl

from resolvers.errors import CODES
from schema import print_sdl
from schema.extensions import MAX_TOKENS
from tests.conftest import Gateway
from tests.plan_world import (
    ADDED_ROLES,
    COORDINATOR,
    OUTSIDER,
    OWNER,
    RELATIVE,
    SECTIONS,
    SERVICE_PROVIDER,
    PlanWorld,
    api_name,
    build_world,
    ok,
    today_of,
)
from tests.support import PASSWORD

VIEWER = SERVICE_PROVIDER
REASONS = {
    "NOT_PARTICIPANT",
    "NO_GRANT",
    "CONSENT_EXPIRED",
    "PLAN_ENDED",
    "FIELD_HIDDEN",
    "ROLE_REQUIRED",
}
# Codes a mutation outside the viewer's role must answer with (and no data).
REFUSAL_CODES = {"FORBIDDEN", "NOT_FOUND"}
# Error codes of the contract that may not be in resolvers.errors.CODES (raised elsewhere).
EXTRA_CODES = {"POSSIBLE_DUPLICATE"}
MAX_DEPTH = 6
MIN_DEPTH = 3
# (NONE section, section) pairs where the second cannot be reached at all: activities hang
# under goals, and every path to one passes a goal (Plan.goals, or the non-null Activity.goal
# in the activity mutations' answers, whose denial nulls the whole answer).
UNREACHABLE = {("goals", "activities")}
# The types built only from admitted rows (resolvers/guard.py).
GUARDED = {
    "Goal",
    "Activity",
    "Comment",
    "Message",
    "CalendarEntry",
    "Document",
    "Participant",
    "Person",
}
# Per NONE section: the fields it refuses wherever an answer holds them (null + FORBIDDEN),
# by the type they return, and by name where the type alone does not say (a Comment is of
# its goal's or its activity's section; a Participant is seen when named).
REFUSED_TYPES = {
    "goals": {"Goal"},
    "activities": {"Activity"},
    "messages": {"Message", "MessageConnection"},
    "calendar": {"CalendarEntry"},
    "documents": {"Document"},
    "participants": set(),
    "linked_plans": {"LinkedPlan"},
}
REFUSED_FIELDS = {
    "goals": {("Goal", "comments")},
    "activities": {("Activity", "comments")},
    "participants": {("Plan", "participants")},
    "linked_plans": {("Goal", "serves")},
}
# Per NONE section, a field the walk must have found refused (so the check is not vacuous).
MUST_REFUSE = {
    "goals": ("Plan", "goals"),
    "activities": ("Goal", "activities"),
    "messages": ("Plan", "messages"),
    "calendar": ("Plan", "calendar"),
    "documents": ("Plan", "documents"),
    "participants": ("Plan", "participants"),
    "linked_plans": ("Plan", "linkedPlans"),
}
# Writes whose answer is content of these sections: with one of them NONE, the answer is
# null with FORBIDDEN (the write refused, or its answer: Activity.goal is non-null).
ANSWER_SECTIONS = {
    "addGoal": {"goals"},
    "updateGoal": {"goals"},
    "setGoalServes": {"goals"},
    "addActivity": {"activities", "goals"},
    "updateActivity": {"activities", "goals"},
    "addComment": {"activities"},  # the fixture comments on an activity
    "postMessage": {"messages"},
    "addCalendarEntry": {"calendar"},
    "uploadDocument": {"documents"},
}


# --- selections generated from the schema -----------------------------------------------------


def sdl_schema() -> GraphQLSchema:
    """The served schema, from the SDL the server prints (no introspection over HTTP)."""
    return schema_from_sdl(print_sdl())


def literal(kind: GraphQLInputType, today: dt.date) -> str:
    """A value of an input type, for a required argument of a nested field."""
    if is_non_null_type(kind):
        return literal(kind.of_type, today)
    if is_list_type(kind):
        return f"[{literal(kind.of_type, today)}]"
    if is_enum_type(kind):
        return str(next(iter(kind.values)))
    name = get_named_type(kind).name
    values = {"Int": "30", "Boolean": "false", "String": '"x"', "Date": f'"{today}"'}
    assert name in values, f"no literal for argument type {name}: add one"
    return values[name]


def arguments(f: GraphQLField, today: dt.date) -> str:
    required = [
        f"{name}: {literal(arg.type, today)}"
        for name, arg in f.args.items()
        if is_non_null_type(arg.type) and arg.default_value is None
    ]
    return f"({', '.join(required)})" if required else ""


def selection(
    kind: GraphQLObjectType,
    depth: int,
    today: dt.date,
    path: frozenset[tuple[str, str]] = frozenset(),
    edges: set[tuple[str, str]] | None = None,
) -> str:
    """Every field of ``kind``; object fields recursed into while ``depth`` lasts, never
    along a (type, field) edge already on the path. ``edges`` collects the edges taken."""
    parts = []
    for name, f in kind.fields.items():
        inner = get_named_type(f.type)
        assert not is_abstract_type(inner), f"{kind.name}.{name}: teach the walk abstract types"
        if not is_object_type(inner):
            parts.append(name)
            continue
        edge = (kind.name, name)
        if depth <= 0 or edge in path:
            continue
        sub = selection(inner, depth - 1, today, path | {edge}, edges)
        if not sub:  # only object fields, and no depth left for them
            continue
        if edges is not None:
            edges.add(edge)
        parts.append(f"{name}{arguments(f, today)} {{ {sub} }}")
    return " ".join(parts)


def object_edges(schema: GraphQLSchema) -> set[tuple[str, str]]:
    """Every object-returning field of every object type reachable from Query and Mutation."""
    found: set[tuple[str, str]] = set()
    seen: set[str] = set()
    todo = [schema.query_type, schema.mutation_type]
    while todo:
        kind = todo.pop()
        assert kind is not None
        if kind.name in seen:
            continue
        seen.add(kind.name)
        for name, f in kind.fields.items():
            inner = get_named_type(f.type)
            if is_object_type(inner):
                if kind not in (schema.query_type, schema.mutation_type):
                    found.add((kind.name, name))
                todo.append(inner)
    return found


def occurrences(
    kind: GraphQLObjectType, data: dict[str, Any], path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], tuple[str, str], Any]]:
    """Every field value in an answer's data: its path, the (type, field) it answers, the
    value. The generated selections use no aliases, so a key is its field's name."""
    for name, value in data.items():
        here = (*path, name)
        yield here, (kind.name, name), value
        inner = get_named_type(kind.fields[name].type)
        if not is_object_type(inner):
            continue
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for i, item in items:
            if isinstance(item, dict):
                yield from occurrences(inner, item, here if i is None else (*here, i))


def tokens(document: str) -> int:
    lexer, n = Lexer(Source(document)), 0
    while lexer.advance().kind != TokenKind.EOF:
        n += 1
    return n


@dataclass(frozen=True)
class Operation:
    root: str
    document: str
    depth: int


def operation(
    schema: GraphQLSchema,
    kind: str,
    root: str,
    given: dict[str, Any],
    today: dt.date,
    edges: set[tuple[str, str]],
) -> Operation:
    """One root field with the given arguments as variables, and the deepest generated
    selection that fits the server's token limit."""
    parent = schema.mutation_type if kind == "mutation" else schema.query_type
    assert parent is not None
    f = parent.fields[root]
    missing = {
        n for n, a in f.args.items() if is_non_null_type(a.type) and a.default_value is None
    } - set(given)
    assert not missing, f"fixture of {root} lacks {missing}"
    unknown = set(given) - set(f.args)
    assert not unknown, f"fixture of {root} has unknown arguments {unknown}"
    header = ", ".join(f"${n}: {f.args[n].type}" for n in given)
    call = ", ".join(f"{n}: ${n}" for n in given)
    head = f"{kind}{f'({header})' if header else ''} {{ {root}{f'({call})' if call else ''}"
    result = get_named_type(f.type)
    if not is_object_type(result):
        return Operation(root, head + " }", 0)
    for depth in range(MAX_DEPTH, MIN_DEPTH - 1, -1):
        taken: set[tuple[str, str]] = set()
        document = f"{head} {{ {selection(result, depth, today, edges=taken)} }} }}"
        if tokens(document) <= MAX_TOKENS * 0.9:
            edges |= taken
            return Operation(root, document, depth)
    raise AssertionError(f"{root}: no selection of depth >= {MIN_DEPTH} fits {MAX_TOKENS} tokens")


# --- the scene: a plan with markers in every section -------------------------------------------


@dataclass(frozen=True)
class File:
    name: str
    data: bytes


@dataclass
class Scene:
    world: PlanWorld
    none: str  # the section the viewer may not read
    tag: str
    goal_id: str = ""
    sub_goal_id: str = ""
    activity_id: str = ""
    markers: dict[str, set[str]] = field(default_factory=dict)
    # Never for the viewer in any world: a message to someone else (the row rule).
    always_hidden: set[str] = field(default_factory=set)

    def pid(self, key: str) -> str:
        return self.world.person_id(key)

    def part(self, key: str) -> str:
        return self.world.participant_ids[key]

    def mark(self, section: str, what: str) -> str:
        text = f"{section}mark{what}{self.tag}"
        self.markers.setdefault(section, set()).add(text)
        return text


ADD_GOAL = """mutation($p: ID!, $t: String!, $d: String, $r: ID, $parent: ID) {
  addGoal(planId: $p, title: $t, description: $d, responsibleId: $r, parentId: $parent) { id } }"""
ADD_ACTIVITY = """mutation($g: ID!, $t: String!, $d: String, $r: ID) {
  addActivity(goalId: $g, title: $t, description: $d, responsibleId: $r) { id } }"""
ADD_COMMENT = """mutation($g: ID, $a: ID, $b: String!) {
  addComment(goalId: $g, activityId: $a, body: $b) { id } }"""
POST_MESSAGE = """mutation($p: ID!, $b: String!, $to: [ID!]) {
  postMessage(planId: $p, body: $b, recipientIds: $to) { id } }"""
ADD_CALENDAR = """mutation($p: ID!, $t: String!, $l: String) { addCalendarEntry(planId: $p,
  title: $t, startsAt: "2026-12-03T10:00:00+01:00", location: $l) { id } }"""
SET_RESPONSIBILITY = """mutation($id: ID!, $r: String) {
  updateParticipant(id: $id, responsibility: $r) { id } }"""
ALL_WRITE = dict.fromkeys(map(api_name, SECTIONS), "WRITE")


async def send(
    gateway: Gateway, token: str | None, document: str, variables: dict[str, Any]
) -> Any:
    """A GraphQL request (token None: nobody logged in); with File values, a multipart one
    that sends them as files."""
    files = {n: v for n, v in variables.items() if isinstance(v, File)}
    plain = {n: (None if isinstance(v, File) else v) for n, v in variables.items()}
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if not files:
        return await gateway.client.http.post(
            "/graphql", json={"query": document, "variables": plain}, headers=headers
        )
    response = await gateway.client.http.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": document, "variables": plain}),
            "map": json.dumps({str(i): [f"variables.{n}"] for i, n in enumerate(files)}),
        },
        files={str(i): (f.name, f.data, "text/plain") for i, f in enumerate(files.values())},
        headers=headers,
    )
    return response


async def build_scene(gateway: Gateway, none: str) -> Scene:
    world = await build_world(
        gateway,
        default_grant=ALL_WRITE,
        rights={VIEWER: {api_name(none): "NONE", "editPerson": True, "print": True}},
    )
    scene = Scene(world, none, tag=world.short_name.split()[-1])
    pid = world.plan_id

    async def as_(who: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return ok(await world.post(who, query, variables), query.split("(")[0])

    # The plan group: everyone else's responsibility and contact data.
    for key in (OWNER, COORDINATOR, *[k for k in ADDED_ROLES if k != VIEWER]):
        text = scene.mark("participants", key.replace("_", ""))
        await as_(COORDINATOR, SET_RESPONSIBILITY, {"id": scene.part(key), "r": text})
        email = world.actors[key].user.email
        assert email is not None
        scene.markers["participants"].add(email)

    # Goals and activities, with the relative responsible (a named participant).
    relative = scene.part(RELATIVE)
    goal = await as_(
        COORDINATOR,
        ADD_GOAL,
        {"p": pid, "t": scene.mark("goals", "t"), "d": scene.mark("goals", "d"), "r": relative},
    )
    scene.goal_id = goal["addGoal"]["id"]
    sub = await as_(
        COORDINATOR,
        ADD_GOAL,
        {"p": pid, "t": scene.mark("goals", "sub"), "r": relative, "parent": scene.goal_id},
    )
    scene.sub_goal_id = sub["addGoal"]["id"]
    activity = await as_(
        COORDINATOR,
        ADD_ACTIVITY,
        {
            "g": scene.goal_id,
            "t": scene.mark("activities", "t"),
            "d": scene.mark("activities", "d"),
            "r": relative,
        },
    )
    scene.activity_id = activity["addActivity"]["id"]
    await as_(RELATIVE, ADD_COMMENT, {"g": scene.goal_id, "b": scene.mark("goals", "c")})
    await as_(RELATIVE, ADD_COMMENT, {"a": scene.activity_id, "b": scene.mark("activities", "c")})

    # Messages: to all by the relative, to the viewer and the relative, to someone else.
    await as_(RELATIVE, POST_MESSAGE, {"p": pid, "b": scene.mark("messages", "all")})
    await as_(
        COORDINATOR,
        POST_MESSAGE,
        {"p": pid, "b": scene.mark("messages", "to"), "to": [scene.part(VIEWER), relative]},
    )
    other = f"messagesmarkelse{scene.tag}"
    scene.always_hidden.add(other)
    await as_(COORDINATOR, POST_MESSAGE, {"p": pid, "b": other, "to": [relative]})

    # Calendar and documents, made by the relative.
    await as_(
        RELATIVE,
        ADD_CALENDAR,
        {"p": pid, "t": scene.mark("calendar", "t"), "l": scene.mark("calendar", "l")},
    )
    name = scene.mark("documents", "n") + ".txt"
    uploaded = await send(
        gateway,
        world.token(RELATIVE),
        "mutation($p: ID!, $f: Upload!) { uploadDocument(planId: $p, file: $f) { id } }",
        {"p": pid, "f": File(name, b"Innhold")},
    )
    assert uploaded.status_code == 200 and "errors" not in uploaded.json(), uploaded.text
    return scene


# --- one fixture per root field ------------------------------------------------------------

Fixture = Callable[[Scene], dict[str, Any]]


def _today(s: Scene) -> str:
    return today_of(s.world.gateway).isoformat()


MUTATIONS: dict[str, Fixture] = {
    "login": lambda s: {"username": s.world.actors[VIEWER].user.username, "password": PASSWORD},
    "verifyLoginCode": lambda s: {"challengeId": str(uuid.uuid4()), "code": "000000"},
    "changePassword": lambda s: {
        "currentPassword": "Feil-Passord-1",
        "newPassword": "Nytt-Passord-2x",
    },
    "requestPasswordReset": lambda s: {"usernameOrEmail": s.world.actors[VIEWER].user.username},
    "resetPassword": lambda s: {"token": "A" * 43, "newPassword": "Nytt-Passord-2x"},
    "setupAuthenticatorApp": lambda s: {},
    "confirmAuthenticatorApp": lambda s: {"code": "000000"},
    "createAccount": lambda s: {
        "personId": s.pid(OUTSIDER),
        "username": f"ny-{s.tag}",
        "otpChannel": "EMAIL",
    },
    "createPerson": lambda s: {"input": {"firstName": "Ny", "lastName": f"Person{s.tag}"}},
    "updatePerson": lambda s: {"id": s.pid(RELATIVE), "input": {"position": "Ny stilling"}},
    "confirmContactChange": lambda s: {"token": "A" * 43},
    "setFieldVisibility": lambda s: {"field": "FAX", "visibility": "PLAN"},
    "setGlobalRoles": lambda s: {"personId": s.pid(VIEWER), "roles": ["SYSTEM_ADMIN"]},
    "createPlan": lambda s: {
        "input": {
            "ownerId": s.pid(RELATIVE),
            "coordinatorId": s.pid(VIEWER),
            "shortName": "Ny plan",
            "type": "IP",
            "startDate": _today(s),
        }
    },
    "updatePlan": lambda s: {"id": s.world.plan_id, "shortName": "Nytt navn"},
    "recordConsent": lambda s: {
        "planId": s.world.plan_id,
        "input": {
            "givenById": s.pid(OWNER),
            "givenByRelation": "SELF",
            "givenOn": _today(s),
            "expiresOn": "2030-01-01",
            "defaultGrant": ALL_WRITE,
        },
    },
    "revokeConsent": lambda s: {"planId": s.world.plan_id},
    "addParticipant": lambda s: {
        "planId": s.world.plan_id,
        "personId": s.pid(OUTSIDER),
        "role": "RELATIVE",
    },
    # Another's responsibility: refused (one's own is the participant's to write).
    "updateParticipant": lambda s: {"id": s.part(RELATIVE), "responsibility": "Mer ansvar"},
    "removeParticipant": lambda s: {"id": s.part(RELATIVE)},
    "setNotification": lambda s: {
        "participantId": s.part(VIEWER),
        "event": "COMMENT",
        "sms": False,
        "email": True,
    },
    "markPlanVisited": lambda s: {"id": s.world.plan_id},
    "addGoal": lambda s: {
        "planId": s.world.plan_id,
        "title": "Eget delmaal",
        "responsibleId": s.part(RELATIVE),
        "parentId": s.goal_id,
    },
    "updateGoal": lambda s: {"id": s.sub_goal_id, "status": "IN_PROGRESS"},
    "addActivity": lambda s: {
        "goalId": s.goal_id,
        "title": "Eget tiltak",
        "responsibleId": s.part(RELATIVE),
    },
    "updateActivity": lambda s: {"id": s.activity_id, "status": "IN_PROGRESS"},
    "addComment": lambda s: {"activityId": s.activity_id, "body": "Egen kommentar"},
    "postMessage": lambda s: {
        "planId": s.world.plan_id,
        "body": "Egen melding",
        "recipientIds": [s.part(VIEWER), s.part(RELATIVE)],
    },
    "markMessagesRead": lambda s: {"planId": s.world.plan_id},
    "addCalendarEntry": lambda s: {
        "planId": s.world.plan_id,
        "title": "Eget moete",
        "startsAt": "2026-12-04T10:00:00+01:00",
    },
    "uploadDocument": lambda s: {"planId": s.world.plan_id, "file": File("eget.txt", b"Eget")},
    "endPlan": lambda s: {"id": s.world.plan_id, "endDate": _today(s), "reason": "Ferdig"},
    "archivePlan": lambda s: {"id": s.world.plan_id},
    "createApiKey": lambda s: {"name": "Rapport", "roles": ["REPORTER"]},
    "revokeApiKey": lambda s: {"id": str(uuid.uuid4())},
    "createServiceUnit": lambda s: {"name": f"Enhet {s.tag}"},
    "exchangeLoginCode": lambda s: {"code": "A" * 43},
    "changeParticipantRole": lambda s: {
        "id": s.world.participant_ids[RELATIVE],
        "role": "GUARDIAN",
    },
    "setSearchRestricted": lambda s: {"restricted": False},
    "updateCalendarEntry": lambda s: {"id": str(uuid.uuid4()), "title": "Flyttet"},
    "cancelCalendarEntry": lambda s: {"id": str(uuid.uuid4())},
    "withdrawDocument": lambda s: {"id": str(uuid.uuid4()), "reason": "Feil plan"},
    "editMessage": lambda s: {"id": str(uuid.uuid4()), "body": "Rettet"},
    "linkPlan": lambda s: {"planId": s.world.plan_id, "linkedPlanId": str(uuid.uuid4())},
    "unlinkPlan": lambda s: {"planId": s.world.plan_id, "linkedPlanId": str(uuid.uuid4())},
    "setGoalServes": lambda s: {"goalId": s.sub_goal_id, "servesGoalId": None},
    "withdrawMessage": lambda s: {"id": str(uuid.uuid4())},
    "proposeConsent": lambda s: {
        "planId": s.world.plan_id,
        "input": {
            "givenById": s.pid(OWNER),
            "givenByRelation": "SELF",
            "expiresOn": "2099-01-01",
            "defaultGrant": {"participants": "READ"},
        },
    },
    "giveConsent": lambda s: {"proposalId": str(uuid.uuid4())},
    "closeGoal": lambda s: {
        "id": str(uuid.uuid4()),
        "status": "ACHIEVED",
        "closedOn": _today(s),
        "evaluation": "Nådd",
    },
    "recordRevision": lambda s: {
        "planId": s.world.plan_id,
        "revisedOn": _today(s),
        "participantIds": [s.part(VIEWER)],
    },
    "erasePerson": lambda s: {"personId": s.pid(OUTSIDER)},
    "requestLoginChannelChange": lambda s: {"channel": "SMS"},
    "confirmLoginChannelChange": lambda s: {"changeId": str(uuid.uuid4()), "code": "000000"},
    "changeCoordinator": lambda s: {"planId": s.world.plan_id, "personId": s.pid(RELATIVE)},
    "deactivateAccount": lambda s: {"personId": s.pid(OUTSIDER)},
    "reactivateAccount": lambda s: {"personId": s.pid(OUTSIDER)},
    "resendInvitation": lambda s: {"personId": s.pid(OUTSIDER)},
    "startPasswordReset": lambda s: {"personId": s.pid(OUTSIDER)},
    "linkIdentity": lambda s: {
        "personId": s.pid(OUTSIDER),
        "provider": "idporten",
        "identity": "12345678901",
    },
    "endSession": lambda s: {},  # called last but one: it ends the viewer's session
    "logout": lambda s: {},  # called last: it ends the viewer's session
}
# Outside the viewer's role: no data, FORBIDDEN or NOT_FOUND.
REFUSED = {
    "createAccount",
    "createPerson",
    "setGlobalRoles",
    "createPlan",
    "updatePlan",
    "recordConsent",
    "revokeConsent",
    "addParticipant",
    "updateParticipant",
    "removeParticipant",
    "endPlan",
    "archivePlan",
    "createApiKey",
    "revokeApiKey",
    "createServiceUnit",
    "changeCoordinator",
    "changeParticipantRole",
    "erasePerson",
    "updateCalendarEntry",
    "cancelCalendarEntry",
    "withdrawDocument",
    "editMessage",
    "withdrawMessage",
    "linkPlan",
    "unlinkPlan",
    "recordRevision",
    "deactivateAccount",
    "reactivateAccount",
    "resendInvitation",
    "startPasswordReset",
}
QUERIES: dict[str, Fixture] = {
    "me": lambda s: {},
    "plans": lambda s: {},
    "plan": lambda s: {"id": s.world.plan_id},
    "searchPersons": lambda s: {"lastName": f"W{s.tag}"},
    "person": lambda s: {"id": s.pid(RELATIVE)},
    "serviceUnits": lambda s: {},
    "reports": lambda s: {},
    "myAccessLog": lambda s: {},
    "planOverview": lambda s: {},
}


def roots(schema: GraphQLSchema) -> Iterator[tuple[str, str, Fixture]]:
    """Every query root, then every mutation, endSession and logout last; each must have its
    fixture."""
    assert schema.query_type is not None and schema.mutation_type is not None
    for name in schema.query_type.fields:
        assert name in QUERIES, f"query {name} has no fixture in QUERIES: add one"
        yield "query", name, QUERIES[name]
    mutations = sorted(
        schema.mutation_type.fields, key=lambda n: (n in ("endSession", "logout"), n == "logout")
    )
    for name in mutations:
        assert name in MUTATIONS, f"mutation {name} has no fixture in MUTATIONS: add one"
        yield "mutation", name, MUTATIONS[name]


# --- the walk --------------------------------------------------------------------------------


def error_problems(body: dict[str, Any]) -> list[str]:
    """Every error has a contract code, never INTERNAL; FORBIDDEN says why."""
    found = []
    for error in body.get("errors") or []:
        ext = error.get("extensions") or {}
        code = ext.get("code")
        if code not in CODES | EXTRA_CODES or code == "INTERNAL":
            found.append(f"code {code!r}: {error}")
        elif code == "FORBIDDEN" and ext.get("reason") not in REASONS:
            found.append(f"FORBIDDEN without a reason: {error}")
    return found


@dataclass
class Answers:
    text: dict[str, str] = field(default_factory=dict)  # root -> the answer as JSON text
    denials: int = 0
    refused: set[tuple[str, str]] = field(default_factory=set)  # fields found null + FORBIDDEN


def returns(schema: GraphQLSchema, edge: tuple[str, str]) -> str:
    """The name of the type a field returns (lists and non-null unwrapped)."""
    kind = schema.type_map[edge[0]]
    assert is_object_type(kind)
    return get_named_type(kind.fields[edge[1]].type).name


def refused_here(none: str, edge: tuple[str, str], schema: GraphQLSchema) -> bool:
    """Whether a viewer with NONE on ``none`` is refused this field wherever it is asked."""
    return returns(schema, edge) in REFUSED_TYPES[none] or edge in REFUSED_FIELDS.get(none, set())


def check_refusals(
    none: str, kind: str, root: str, body: dict[str, Any], schema: GraphQLSchema
) -> set[tuple[str, str]]:
    """Every field of the answer that the NONE section refuses is null, with FORBIDDEN at
    its own path; returns those fields."""
    forbidden_at = {
        tuple(e.get("path") or ())
        for e in body.get("errors") or []
        if (e.get("extensions") or {}).get("code") == "FORBIDDEN"
    }
    parent = schema.mutation_type if kind == "mutation" else schema.query_type
    assert parent is not None
    found = set()
    for path, edge, value in occurrences(parent, body.get("data") or {}):
        if refused_here(none, edge, schema):
            assert value is None and path in forbidden_at, (none, root, path, value, body)
            found.add(edge)
    return found


async def walk(scene: Scene, schema: GraphQLSchema, edges: set[tuple[str, str]]) -> Answers:
    world, answers = scene.world, Answers()
    today = today_of(world.gateway)
    # linked_plans has no text of its own (a link names plans the viewer takes part in):
    # its walk is held to the refusals alone (MUST_REFUSE).
    hidden = scene.markers.get(scene.none, set()) | scene.always_hidden
    for kind, root, fixture in roots(schema):
        given = fixture(scene)
        op = operation(schema, kind, root, given, today, edges)
        response = await send(world.gateway, world.token(VIEWER), op.document, given)
        assert response.status_code == 200, (root, response.text)
        body = response.json()
        text = json.dumps(body, ensure_ascii=False)
        answers.text[root] = text
        leaked = sorted(m for m in hidden if m in text)
        assert not leaked, (scene.none, root, leaked, body)
        problems = error_problems(body)
        assert not problems, (scene.none, root, problems)
        answers.denials += sum(
            1 for e in body.get("errors") or [] if (e.get("extensions") or {}).get("code")
        )
        if root in REFUSED:
            assert (body.get("data") or {}).get(root) is None, (root, body)
            codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
            assert codes and codes <= REFUSAL_CODES, (root, body)
        answers.refused |= check_refusals(scene.none, kind, root, body, schema)
        if scene.none in ANSWER_SECTIONS.get(root, set()):
            assert (body.get("data") or {}).get(root) is None, (scene.none, root, body)
            paths = [e["path"] for e in body["errors"] if e["extensions"]["code"] == "FORBIDDEN"]
            assert any(p[0] == root for p in paths), (scene.none, root, body)
        elif root in ANSWER_SECTIONS:
            assert (body.get("data") or {}).get(root) is not None, (scene.none, root, body)
    return answers


@pytest.mark.parametrize("none", SECTIONS)
async def test_no_field_shows_a_section_the_viewer_may_not_read(
    gateway: Gateway, none: str
) -> None:
    schema = sdl_schema()
    scene = await build_scene(gateway, none)
    edges: set[tuple[str, str]] = set()
    answers = await walk(scene, schema, edges)

    # Every object-returning field of the schema was in some generated selection, and so
    # was every type built from admitted rows.
    assert object_edges(schema) <= edges, sorted(object_edges(schema) - edges)
    walked = {returns(schema, edge) for edge in edges}
    assert walked >= GUARDED, sorted(GUARDED - walked)
    # Every field the NONE section refuses was null with FORBIDDEN wherever it was reached.
    assert MUST_REFUSE[none] in answers.refused, (none, sorted(answers.refused))
    # The walk reached content: every other section's markers show up somewhere.
    everything = "\n".join(answers.text.values())
    for section, markers in scene.markers.items():
        if section != none and (none, section) not in UNREACHABLE:
            assert any(m in everything for m in markers), (none, section)
    assert answers.denials > 0


async def test_nobody_logged_in_reaches_no_guarded_type(gateway: Gateway) -> None:
    """Every root, asked by nobody logged in, with the walk's generated selections."""
    schema = sdl_schema()
    scene = await build_scene(gateway, "participants")
    today = today_of(gateway)
    for kind, root, fixture in roots(schema):
        if root in ("login", "requestPasswordReset"):
            continue  # they need no session and answer no guarded type: mail, not data
        given = fixture(scene)
        op = operation(schema, kind, root, given, today, set())
        response = await send(gateway, None, op.document, given)
        body = response.json()
        if response.status_code != 200:  # a multipart upload without a session: 415
            assert "data" not in body and body["errors"], (root, response.text)
            continue
        assert not error_problems(body), (root, body)
        parent = schema.mutation_type if kind == "mutation" else schema.query_type
        assert parent is not None
        data = body.get("data") or {}
        shown = [
            (path, edge)
            for path, edge, value in occurrences(parent, data)
            if value and returns(schema, edge) in GUARDED
        ]
        assert not shown, (root, shown, body)
        if returns(schema, (parent.name, root)) in GUARDED | {"Session"} and root != "me":
            assert data.get(root) is None and body.get("errors"), (root, body)


# --- the cases the walk found, spelled out ------------------------------------------------------

UPDATE_ACTIVITY = """mutation($id: ID!) { updateActivity(id: $id, status: "DONE") {
  id status goal { title description subGoals { title } } } }"""
UPDATE_ACTIVITY_ALONE = """mutation($id: ID!) { updateActivity(id: $id, status: "CANCELLED") {
  id status } }"""
ACTIVITY_STATUS = """query($p: ID!) { plan(id: $p) { goals { activities { id status } } } }"""
MESSAGES = """query($p: ID!) { plan(id: $p) { messages { edges { node {
  body author { role responsibility person { firstName position email } } recipients { id } }
  } } goals { title responsible { person { firstName email } } } } }"""


async def test_update_activity_does_not_answer_the_goal_to_goals_none(gateway: Gateway) -> None:
    scene = await build_scene(gateway, "goals")
    world = scene.world
    body = await world.post(VIEWER, UPDATE_ACTIVITY, {"id": scene.activity_id})
    # Activity.goal is non-null: its denial nulls the activity and so the whole answer.
    assert body["data"] is None, body
    assert [
        (e["path"], e["extensions"]["code"], e["extensions"]["reason"]) for e in body["errors"]
    ] == [(["updateActivity", "goal"], "FORBIDDEN", "NO_GRANT")]
    # The write itself went through; asked without the goal, the answer comes.
    activities = ok(await world.post(COORDINATOR, ACTIVITY_STATUS, {"p": world.plan_id}), "plan")
    assert [a["status"] for g in activities["plan"]["goals"] for a in g["activities"]] == ["DONE"]
    alone = ok(await world.post(VIEWER, UPDATE_ACTIVITY_ALONE, {"id": scene.activity_id}), "upd")
    assert alone["updateActivity"]["status"] == "CANCELLED"


async def test_named_participants_are_seen_with_what_names_them(gateway: Gateway) -> None:
    scene = await build_scene(gateway, "participants")
    world = scene.world
    body = await world.post(VIEWER, MESSAGES, {"p": world.plan_id})
    plan = body["data"]["plan"]
    by_body = {e["node"]["body"]: e["node"] for e in plan["messages"]["edges"]}
    to_all, to_us = (next(b for b in by_body if kind in b) for kind in ("markall", "markto"))

    # The relative wrote to all: seen as author (name and position, role), nothing more.
    author = by_body[to_all]["author"]
    assert author["role"] == "RELATIVE" and author["responsibility"] is None
    assert author["person"]["firstName"] == "Relative" and author["person"]["position"]
    assert author["person"]["email"] is None
    # Chosen recipients are not named by the message: they need the plan group.
    assert by_body[to_all]["recipients"] is None
    assert by_body[to_us]["recipients"] is None
    # The goal's responsible (the relative) likewise.
    [goal] = plan["goals"]
    assert goal["responsible"]["person"] == {"firstName": "Relative", "email": None}

    errors: dict[tuple[str, ...], set[tuple[str, str]]] = {}
    for e in body["errors"]:
        named = tuple(p for p in e["path"] if isinstance(p, str))
        errors.setdefault(named, set()).add((e["extensions"]["code"], e["extensions"]["reason"]))
    message = ("plan", "messages", "edges", "node")
    assert errors == {
        (*message, "author", "responsibility"): {("FORBIDDEN", "NO_GRANT")},
        (*message, "author", "person", "email"): {("FORBIDDEN", "FIELD_HIDDEN")},
        (*message, "recipients"): {("FORBIDDEN", "NO_GRANT")},
        ("plan", "goals", "responsible", "person", "email"): {("FORBIDDEN", "FIELD_HIDDEN")},
    }, body
    # Exactly one recipients error: the message to the whole group has none to hide.
    assert sum(1 for e in body["errors"] if e["path"][-1] == "recipients") == 1
