"""The SQL of each covered type's fields. Each emitter mirrors one resolver (named in its
docstring) and asks the same rule, through its SQL rendering; the differential test holds
them to the resolvers' answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resolvers import policy
from resolvers.compiled.emit import (
    TODAY,
    VIEWER,
    Emitter,
    PlanScope,
    Statement,
    cursor_of,
    denied_or,
    fields_of,
    obj,
    page_info,
    quoted,
    scalar,
)
from resolvers.compiled.selection import Field, Uncovered
from resolvers.policy.consent import CONSENT_EXPIRY
from resolvers.policy.facts import ROLES as ROLE_ORDER
from resolvers.policy.participants import PARTICIPANT_DETAIL, PARTICIPANT_RIGHTS
from resolvers.policy.persons import PERSON_FIELD, READ_IS_LOGGED, SHARES_FOR_VISIBILITY
from resolvers.policy.sections import LEVEL, MESSAGE_VISIBLE, SECTION_READ

# --- scopes: the aliases a row's fields are built from ------------------------------------


@dataclass(frozen=True)
class ParticipantScope:
    plan: PlanScope
    pa: str


@dataclass(frozen=True)
class PersonScope:
    """A person row pe, with pv: its field visibilities and whether it shares an
    active-consent plan with the viewer, looked up once per person (person_select)."""

    pe: str
    pv: str


@dataclass(frozen=True)
class RowScope:
    """A content row (goal, activity, message) of the plan in scope."""

    plan: PlanScope
    row: str


def _column(name: str, kind: str = "plain") -> Emitter:
    def emit(st: Statement, f: Field, scope: Any) -> str:
        alias = (
            scope.pa
            if isinstance(scope, ParticipantScope)
            else scope.pe
            if isinstance(scope, PersonScope)
            else scope.row
            if isinstance(scope, RowScope)
            else scope.p
        )
        return scalar(f"{alias}.{name}", kind)

    return emit


def _reads(plan: str, what: list[str]) -> str:
    """The marker for reads of this object: (plan, no subject, each of ``what`` that is not
    NULL)."""
    return (
        f"json_build_object('plan', {plan}, 'subject', NULL, 'what',"
        f" array_remove(ARRAY[{', '.join(what)}]::text[], NULL))"
    )


def _read_if(denial: str, what: str) -> str:
    return f"CASE WHEN ({denial}) IS NULL THEN {quoted(what)} END"


def _section_denial(scope: PlanScope, section: str) -> str:
    return SECTION_READ[section].sql(scope.bindings)


# --- Person -------------------------------------------------------------------------------

_PERSON_FIELDS = {
    "birthDate": ("BIRTH_DATE", "birth_date"),
    "workplace": ("WORKPLACE", "workplace"),
    "email": ("EMAIL", "email"),
    "mobile": ("MOBILE", "mobile"),
    "phone": ("PHONE", "phone"),
    "fax": ("FAX", "fax"),
}

# Whether the person pe shares an active-consent plan with the viewer where the viewer may read
# the plan group (policy's shares_for_visibility), for PLAN visibility: from the person's own
# current participations, each checked against the viewer's in the same plan by index.
SHARES = (
    "EXISTS (SELECT 1 FROM participants th"
    f" JOIN participants sme ON sme.plan_id = th.plan_id AND sme.person_id = {VIEWER}"
    " AND sme.left_on IS NULL"
    " JOIN plans sp ON sp.id = th.plan_id LEFT JOIN consents sc ON sc.id = sp.consent_id"
    " WHERE th.person_id = {pe}.id AND th.left_on IS NULL AND {rule})"
)


def _shares(pe: str) -> str:
    bindings = PlanScope("sp", "sc", "sme").bindings | {
        "other_role": "th.role",
        "other_expires_on": "th.consent_expires_on",
    }
    return SHARES.replace("{rule}", SHARES_FOR_VISIBILITY.sql(bindings)).replace("{pe}", pe)


def _visibility_column(field: str) -> str:
    return f"vis_{field.lower()}"


def _person_facts(pe: str, pv: str) -> str:
    """The LATERAL of a person's facts, computed once per person and not once per use: each
    field's visibility (its default when not chosen) and the shared-plan fact. OFFSET 0 keeps
    PostgreSQL from folding the subquery (and its EXISTS) back into every reference."""
    columns = ", ".join(
        f"coalesce(max(v.visibility) FILTER (WHERE v.field = {quoted(name)}),"
        f" {quoted(policy.DEFAULT_VISIBILITY)}) AS {_visibility_column(name)}"
        for name in policy.PERSON_FIELDS
    )
    return (
        f" CROSS JOIN LATERAL (SELECT {columns}, {pe}.id <> {VIEWER} AND {_shares(pe)} AS shares"
        f" FROM person_field_visibility v WHERE v.person_id = {pe}.id OFFSET 0) {pv}"
    )


def _field_denial(scope: PersonScope, field: str) -> str:
    return PERSON_FIELD.sql(
        {
            "logged_in": "TRUE",  # a compiled root has a viewer
            "is_self": f"{scope.pe}.id = {VIEWER}",
            "visibility": f"{scope.pv}.{_visibility_column(field)}",
            "shares_active_plan": f"{scope.pv}.shares",
        }
    )


def _address_value(st: Statement, f: Field, pe: str) -> str:
    if f.children is None:
        raise Uncovered("address")
    columns = {"street": "street", "postcode": "postcode", "city": "city"}
    pairs = []
    for child in f.children:
        if child.name not in columns:
            raise Uncovered(f"Address.{child.name}")
        pairs.append((child.key, f"to_json({pe}.{columns[child.name]})"))
    return (
        f"(CASE WHEN {pe}.street IS NULL AND {pe}.postcode IS NULL AND {pe}.city IS NULL"
        f" THEN NULL ELSE {obj(pairs)} END)"
    )


def _person_field(field: str, column: str) -> Emitter:
    """persons.read_field: hidden by the field's visibility (FIELD_HIDDEN)."""

    def emit(st: Statement, f: Field, scope: Any) -> str:
        return denied_or(_field_denial(scope, field), f"to_json({scope.pe}.{column})")

    return emit


def _address(st: Statement, f: Field, scope: Any) -> str:
    return denied_or(_field_denial(scope, "ADDRESS"), _address_value(st, f, scope.pe))


def _visible_fields(st: Statement, f: Field, scope: Any) -> str:
    """persons.visible_fields: the contact fields this viewer may read."""
    arms = ", ".join(
        f"CASE WHEN ({_field_denial(scope, name)}) IS NULL THEN {quoted(name)} END"
        for name in policy.PERSON_FIELDS
    )
    return f"to_json(array_remove(ARRAY[{arms}]::text[], NULL))"


PERSON: dict[str, Emitter] = {
    "id": _column("id", "id"),
    "firstName": _column("first_name"),
    "lastName": _column("last_name"),
    "position": _column("position"),
    "address": _address,
    "visibleFields": _visible_fields,
} | {name: _person_field(field, column) for name, (field, column) in _PERSON_FIELDS.items()}


_GUARDED = {*_PERSON_FIELDS, "address", "visibleFields"}


def person_select(st: Statement, f: Field, person_id: str) -> str:
    """The person with id ``person_id`` as JSON, with the reads persons.read_field logs:
    another person's non-public field with a value."""
    scope = PersonScope(st.alias("pe"), st.alias("pv"))
    pe = scope.pe
    what = []
    for child in f.children or ():
        if child.name in _PERSON_FIELDS or child.name == "address":
            field, column = _PERSON_FIELDS.get(child.name, ("ADDRESS", ""))
            has_value = (
                f"{pe}.{column} IS NOT NULL"
                if column
                else f"NOT ({pe}.street IS NULL AND {pe}.postcode IS NULL AND {pe}.city IS NULL)"
            )
            logged = READ_IS_LOGGED.sql(
                {
                    "is_self": f"{pe}.id = {VIEWER}",
                    "has_value": has_value,
                    "visibility": f"{scope.pv}.{_visibility_column(field)}",
                }
            )
            what.append(
                f"CASE WHEN ({_field_denial(scope, field)}) IS NULL AND {logged}"
                f" THEN 'person:{field}' END"
            )
    reads = (
        f"json_build_object('plan', NULL, 'subject', {pe}.id, 'what',"
        f" array_remove(ARRAY[{', '.join(what)}]::text[], NULL))"
        if what
        else None
    )
    body = fields_of(st, f, scope, PERSON, reads)
    guarded = any(child.name in _GUARDED for child in f.children or ())
    facts = _person_facts(pe, scope.pv) if guarded else ""
    return f"(SELECT {body} FROM persons {pe}{facts} WHERE {pe}.id = {person_id})"


# --- Participant --------------------------------------------------------------------------


def _participant_person(st: Statement, f: Field, scope: Any) -> str:
    """plans.participant_person: the person of a participant the viewer may see."""
    return person_select(st, f, f"{scope.pa}.person_id")


def _responsibility(st: Statement, f: Field, scope: Any) -> str:
    """plans.responsibility: participant_detail."""
    denial = PARTICIPANT_DETAIL.sql(scope.plan.bindings | {"participant_id": f"{scope.pa}.id"})
    return denied_or(denial, f"to_json({scope.pa}.responsibility)")


def _their_bindings(scope: ParticipantScope) -> dict[str, str]:
    """The plan's facts with this participant in the viewer's place (their grant, expiry)."""
    pa = scope.pa
    return (
        scope.plan.bindings
        | {
            "mine_id": f"{pa}.id",
            "mine_role": f"{pa}.role",
            "mine_expires_on": f"{pa}.consent_expires_on",
            "mine_person_id": f"{pa}.person_id",
        }
        | {f"rights_{s}": f"{pa}.rights->>{quoted(s)}" for s in policy.SECTIONS}
        | {f"rights_{r}": f"({pa}.rights->>{quoted(r)})::boolean" for r in ("edit_person", "print")}
    )


def _rights_denial(scope: ParticipantScope) -> str:
    return PARTICIPANT_RIGHTS.sql(scope.plan.bindings | {"participant_id": f"{scope.pa}.id"})


def _participant_expiry(st: Statement, f: Field, scope: Any) -> str:
    """plans.participant_consent_expiry: participant_rights, then their consent_expiry."""
    return denied_or(
        _rights_denial(scope), f"to_json({CONSENT_EXPIRY.sql(_their_bindings(scope))})"
    )


def _participant_rights(st: Statement, f: Field, scope: Any) -> str:
    """plans.participant_rights: participant_rights, then their effective grant."""
    return denied_or(_rights_denial(scope), access_grant(f, _their_bindings(scope)))


PARTICIPANT: dict[str, Emitter] = {
    "id": _column("id", "id"),
    "role": _column("role"),
    "joinedOn": _column("joined_on"),
    "leftOn": _column("left_on"),
    "person": _participant_person,
    "responsibility": _responsibility,
    "consentExpiresOn": _participant_expiry,
    "rights": _participant_rights,
}


def participant_object(st: Statement, f: Field, plan: PlanScope, pa: str) -> str:
    return fields_of(st, f, ParticipantScope(plan, pa), PARTICIPANT)


def named_participant(st: Statement, f: Field, plan: PlanScope, participant_id: str) -> str:
    """plans.named_participant: the author or responsible of content the viewer may read,
    seen with it (participant rule with named, which holds for a visible plan)."""
    pa = st.alias("pa")
    return (
        f"(SELECT {participant_object(st, f, plan, pa)} FROM participants {pa}"
        f" WHERE {pa}.id = {participant_id})"
    )


# --- AccessGrant --------------------------------------------------------------------------

_GRANT_FIELDS = {
    "participants": "participants",
    "goals": "goals",
    "activities": "activities",
    "messages": "messages",
    "calendar": "calendar",
    "documents": "documents",
    "linkedPlans": "linked_plans",
    "editPerson": "edit_person",
    "print": "print",
}


def access_grant(f: Field, bindings: dict[str, str]) -> str:
    """AccessGrant.of(policy.effective_grant): each level and right by its rule."""
    pairs = []
    for child in f.children or ():
        name = _GRANT_FIELDS.get(child.name)
        if name is None:
            raise Uncovered(f"AccessGrant.{child.name}")
        pairs.append((child.key, f"to_json({LEVEL[name].sql(bindings)})"))
    return obj(pairs)


# --- Goal and Activity --------------------------------------------------------------------


def _responsible(section: str) -> Emitter:
    """content.goal_responsible / activity_responsible: seen with the content (its section)."""

    def emit(st: Statement, f: Field, scope: Any) -> str:
        row = scope.row
        who = named_participant(st, f, scope.plan, f"{row}.responsible_id")
        seen = denied_or(_section_denial(scope.plan, section), who)
        return f"(CASE WHEN {row}.responsible_id IS NULL THEN NULL ELSE {seen} END)"

    return emit


def _activities_of_goal(st: Statement, f: Field, scope: Any) -> str:
    """content.goal_activities: ACTIVITIES >= READ."""
    a = st.alias("a")
    body = (
        f"(SELECT coalesce(json_agg({activity_object(st, f, scope.plan, a)}"
        f" ORDER BY {a}.created_at, {a}.id), '[]'::json) FROM activities {a}"
        f" WHERE {a}.goal_id = {scope.row}.id)"
    )
    return denied_or(_section_denial(scope.plan, "activities"), body)


def _sub_goals(st: Statement, f: Field, scope: Any) -> str:
    """content.sub_goals: GOALS >= READ (reached only where that holds: the list is
    non-null)."""
    g = st.alias("g")
    return (
        f"(SELECT coalesce(json_agg({goal_object(st, f, scope.plan, g)}"
        f" ORDER BY {g}.created_at, {g}.id), '[]'::json) FROM goals {g}"
        f" WHERE {g}.parent_id = {scope.row}.id)"
    )


def _parent_goal(st: Statement, f: Field, scope: Any) -> str:
    """content.parent_goal: GOALS >= READ."""
    g = st.alias("g")
    value = (
        f"(SELECT {goal_object(st, f, scope.plan, g)} FROM goals {g}"
        f" WHERE {g}.id = {scope.row}.parent_id)"
    )
    return (
        f"(CASE WHEN {scope.row}.parent_id IS NULL THEN NULL ELSE"
        f" {denied_or(_section_denial(scope.plan, 'goals'), value)} END)"
    )


GOAL: dict[str, Emitter] = {
    "id": _column("id", "id"),
    "title": _column("title"),
    "description": _column("description"),
    "status": _column("status"),
    "createdAt": _column("created_at", "datetime"),
    "closedOn": _column("closed_on"),
    "evaluation": _column("evaluation"),
    "responsible": _responsible("goals"),
    "activities": _activities_of_goal,
    "subGoals": _sub_goals,
    "parent": _parent_goal,
}


def goal_object(st: Statement, f: Field, plan: PlanScope, g: str) -> str:
    """A goal, with the section reads its fields log (content.py's _section)."""
    goals_ok = f"({_section_denial(plan, 'goals')}) IS NULL"
    what = []
    for child in f.children or ():
        if child.name == "activities":
            what.append(_read_if(_section_denial(plan, "activities"), "activities"))
        elif child.name == "subGoals":
            what.append(f"CASE WHEN {goals_ok} THEN 'goals' END")
        elif child.name == "responsible":
            what.append(f"CASE WHEN {g}.responsible_id IS NOT NULL AND {goals_ok} THEN 'goals' END")
        elif child.name == "parent":
            what.append(f"CASE WHEN {g}.parent_id IS NOT NULL AND {goals_ok} THEN 'goals' END")
    reads = _reads(f"{g}.plan_id", what) if what else None
    return fields_of(st, f, RowScope(plan, g), GOAL, reads)


ACTIVITY: dict[str, Emitter] = {
    "id": _column("id", "id"),
    "title": _column("title"),
    "description": _column("description"),
    "status": _column("status"),
    "startDate": _column("start_date"),
    "endDate": _column("end_date"),
    "responsible": _responsible("activities"),
}


def activity_object(st: Statement, f: Field, plan: PlanScope, a: str) -> str:
    what = []
    for child in f.children or ():
        if child.name == "responsible":
            what.append(
                f"CASE WHEN {a}.responsible_id IS NOT NULL"
                f" AND ({_section_denial(plan, 'activities')}) IS NULL THEN 'activities' END"
            )
    reads = _reads(f"{a}.plan_id", what) if what else None
    return fields_of(st, f, RowScope(plan, a), ACTIVITY, reads)


# --- Message ------------------------------------------------------------------------------


def _author(st: Statement, f: Field, scope: Any) -> str:
    """messages.author: seen with the message."""
    return named_participant(st, f, scope.plan, f"{scope.row}.author_id")


MESSAGE: dict[str, Emitter] = {
    "id": _column("id", "id"),
    "body": _column("body"),
    "createdAt": _column("created_at", "datetime"),
    "editedAt": _column("edited_at", "datetime"),
    "withdrawnAt": _column("withdrawn_at", "datetime"),
    "author": _author,
}


def message_visible(plan: PlanScope, m: str) -> str:
    return MESSAGE_VISIBLE.sql(
        plan.bindings
        | {
            "to_all": f"{m}.to_all",
            "author_id": f"{m}.author_id",
            "recipient_ids": "EXISTS (SELECT 1 FROM message_recipients r"
            f" WHERE r.message_id = {m}.id AND r.participant_id = {{x}})",
        }
    )


MAX_MESSAGE_PAGE = 100


def _messages(st: Statement, f: Field, scope: Any) -> str:
    """messages.page: MESSAGES >= READ, newest first, each message only for those it is
    meant for; first in 0..100 and a cursor of this list, else the resolvers answer."""
    plan: PlanScope = scope
    first = f.args.get("first")
    first = 20 if first is None else first
    if not 0 <= first <= MAX_MESSAGE_PAGE or f.args.get("after") is not None:
        raise Uncovered("messages paging")
    m = st.alias("m")
    page = st.alias("pg")
    limit = st.param(first + 1, "int")
    shown = f"(SELECT * FROM {page}_all ORDER BY created_at DESC, seq DESC LIMIT {first})"
    pairs: list[tuple[str, str]] = []
    for child in f.children or ():
        if child.name == "edges":
            edge_fields: list[tuple[str, str]] = []
            for edge in child.children or ():
                if edge.name == "node":
                    node = fields_of(st, edge, RowScope(plan, page), MESSAGE)
                    edge_fields.append((edge.key, node))
                elif edge.name == "cursor":
                    cursor = cursor_of(f"{page}.created_at", f"{page}.seq")
                    edge_fields.append((edge.key, f"to_json({cursor})"))
                else:
                    raise Uncovered(f"MessageEdge.{edge.name}")
            edges = (
                f"coalesce((SELECT json_agg({obj(edge_fields)} ORDER BY {page}.created_at DESC,"
                f" {page}.seq DESC) FROM {shown} {page}), '[]'::json)"
            )
            pairs.append((child.key, edges))
        elif child.name == "pageInfo":
            pairs.append(
                (
                    child.key,
                    page_info(
                        st,
                        child,
                        fetched=f"{page}_all",
                        first=first,
                        shown=shown,
                        last_order="{0}.created_at, {0}.seq",
                        cursor=lambda last: cursor_of(f"{last}.created_at", f"{last}.seq"),
                    ),
                )
            )
        else:
            raise Uncovered(f"MessageConnection.{child.name}")
    body = (
        f"(WITH {page}_all AS (SELECT * FROM messages {m} WHERE {m}.plan_id = {plan.p}.id"
        f" AND {message_visible(plan, m)} ORDER BY {m}.created_at DESC, {m}.seq DESC"
        f" LIMIT {limit}) SELECT {obj(pairs)})"
    )
    return denied_or(_section_denial(plan, "messages"), body)


# --- Plan ---------------------------------------------------------------------------------


def _lead(role: str) -> Emitter:
    """plans.lead_participant: the plan's owner or coordinator, part of its header."""

    def emit(st: Statement, f: Field, scope: Any) -> str:
        pa = st.alias("pa")
        return (
            f"(SELECT {participant_object(st, f, scope, pa)} FROM participants {pa}"
            f" WHERE {pa}.plan_id = {scope.p}.id AND {pa}.role = {quoted(role)}"
            f" AND {pa}.left_on IS NULL ORDER BY {pa}.joined_on, {pa}.id LIMIT 1)"
        )

    return emit


def _my_participation(st: Statement, f: Field, scope: Any) -> str:
    mine = participant_object(st, f, scope, scope.me)
    return f"(CASE WHEN {scope.me}.id IS NULL THEN NULL ELSE {mine} END)"


def _changed(st: Statement, f: Field, scope: Any) -> str:
    """plans.changed_since_my_last_visit."""
    visited = (
        f"(SELECT v.visited_at FROM plan_visits v WHERE v.plan_id = {scope.p}.id"
        f" AND v.person_id = {VIEWER})"
    )
    return (
        f"to_json(CASE WHEN {scope.me}.id IS NULL THEN FALSE"
        f" ELSE {visited} IS NULL OR {scope.p}.changed_at > {visited} END)"
    )


def _unread(st: Statement, f: Field, scope: Any) -> str:
    """plans.has_unread_messages: a message to me, not by me, newer than my read mark, while
    I may read messages."""
    m = st.alias("m")
    return (
        f"to_json(coalesce({scope.me}.id IS NOT NULL AND ({_section_denial(scope, 'messages')})"
        f" IS NULL AND EXISTS (SELECT 1 FROM messages {m} WHERE {m}.plan_id = {scope.p}.id"
        f" AND {m}.author_id <> {scope.me}.id AND {message_visible(scope, m)}"
        f" AND {m}.created_at > coalesce((SELECT r.read_until FROM message_reads r"
        f" WHERE r.plan_id = {scope.p}.id AND r.person_id = {VIEWER}), '-infinity')), FALSE))"
    )


def _expiry(st: Statement, f: Field, scope: Any) -> str:
    return f"to_json({CONSENT_EXPIRY.sql(scope.bindings)})"


def _expiry_days(st: Statement, f: Field, scope: Any) -> str:
    return f"to_json({CONSENT_EXPIRY.sql(scope.bindings)} - {TODAY})"


def _my_access(st: Statement, f: Field, scope: Any) -> str:
    return access_grant(f, scope.bindings)


def _participants(st: Statement, f: Field, scope: Any) -> str:
    """plans.participants: PARTICIPANTS >= READ, in the plan group's order."""
    pa = st.alias("pa")
    order = ", ".join(quoted(r) for r in ROLE_ORDER)
    body = (
        f"(SELECT coalesce(json_agg({participant_object(st, f, scope, pa)}"
        f" ORDER BY array_position(ARRAY[{order}], {pa}.role), {pa}.joined_on, {pa}.id),"
        f" '[]'::json) FROM participants {pa} WHERE {pa}.plan_id = {scope.p}.id"
        f" AND {pa}.left_on IS NULL)"
    )
    return denied_or(_section_denial(scope, "participants"), body)


def _goals(st: Statement, f: Field, scope: Any) -> str:
    """content.goals: GOALS >= READ, the top-level goals."""
    g = st.alias("g")
    body = (
        f"(SELECT coalesce(json_agg({goal_object(st, f, scope, g)}"
        f" ORDER BY {g}.created_at, {g}.id), '[]'::json) FROM goals {g}"
        f" WHERE {g}.plan_id = {scope.p}.id AND {g}.parent_id IS NULL)"
    )
    return denied_or(_section_denial(scope, "goals"), body)


PLAN: dict[str, Emitter] = {
    "id": _column("id", "id"),
    "shortName": _column("short_name"),
    "type": _column("type"),
    "status": _column("status"),
    "startDate": _column("start_date"),
    "endDate": _column("end_date"),
    "revisionDate": _column("revision_date"),
    "lastArchivedAt": _column("last_archived_at", "datetime"),
    "owner": _lead(policy.OWNER),
    "coordinator": _lead(policy.COORDINATOR),
    "changedSinceMyLastVisit": _changed,
    "hasUnreadMessages": _unread,
    "consentExpiresOn": _expiry,
    "consentExpiresInDays": _expiry_days,
    "myParticipation": _my_participation,
    "myAccess": _my_access,
    "participants": _participants,
    "goals": _goals,
    "messages": _messages,
}

_SECTION_FIELDS = {"participants": "participants", "goals": "goals", "messages": "messages"}


def plan_object(st: Statement, f: Field, scope: PlanScope) -> str:
    what = [
        _read_if(_section_denial(scope, _SECTION_FIELDS[c.name]), _SECTION_FIELDS[c.name])
        for c in f.children or ()
        if c.name in _SECTION_FIELDS
    ]
    reads = _reads(f"{scope.p}.id", what) if what else None
    return fields_of(st, f, scope, PLAN, reads)


def plan_from(p: str, c: str, me: str) -> str:
    """The FROM clause of a plan scope: the plan, its consent and the viewer's participation."""
    return (
        f"LEFT JOIN consents {c} ON {c}.id = {p}.consent_id"
        f" LEFT JOIN participants {me} ON {me}.plan_id = {p}.id AND {me}.person_id = {VIEWER}"
        f" AND {me}.left_on IS NULL"
    )
