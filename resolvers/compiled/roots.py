"""The compiled root fields: ``plan(id)`` and ``plans(filter, first, after)``, one statement
each. Argument errors and NOT_FOUND are the resolvers' to answer: a root raises Uncovered or
GraphQLError for the first, its statement answers NULL for the second, and the executor runs
the resolvers."""

from __future__ import annotations

from db.plans import like_prefix
from resolvers import validation
from resolvers.compiled.emit import (
    TODAY,
    VIEWER,
    PlanScope,
    Prepared,
    Statement,
    cursor_of,
    obj,
    page_info,
    quoted,
)
from resolvers.compiled.executor import root
from resolvers.compiled.selection import Field, Uncovered
from resolvers.compiled.types import plan_from, plan_object
from resolvers.plans import MAX_PAGE, decode_cursor
from resolvers.policy import OWNER
from resolvers.policy.plans import PLAN_VISIBLE


@root("plan")
def plan(f: Field) -> Prepared:
    """Query.plan: guard.visible_plan, then the plan. No row (no such plan, or not one the
    viewer may know of) is the resolvers' NOT_FOUND."""
    plan_id = validation.identifier("id", f.args["id"])
    st = Statement()
    scope = PlanScope("p", "c", "me")
    body = plan_object(st, f, scope)
    key = st.param(plan_id, "uuid")
    select = (
        f"SELECT CASE WHEN {PLAN_VISIBLE.sql(scope.bindings)} THEN {body} END"
        f" FROM plans p {plan_from('p', 'c', 'me')} WHERE p.id = {key}"
    )
    return st.prepared(f, [], select)


@root("plans")
def plans(f: Field) -> Prepared:
    """Query.plans: plans.my_plans, oldest first, with the total and cursor paging."""
    st = Statement()
    # graphql-core coerces the input object to a dict under its GraphQL field names.
    flt = f.args.get("filter") or {}
    first = f.args.get("first")
    first = 50 if first is None else first
    after = f.args.get("after")
    owner_first = flt.get("ownerFirstName")
    owner_last = flt.get("ownerLastName")
    if not 0 <= first <= MAX_PAGE:
        raise Uncovered("first out of range")  # the resolvers' BAD_USER_INPUT
    validation.text("ownerFirstName", owner_first, max_length=100)
    validation.text("ownerLastName", owner_last, max_length=100)
    cursor = decode_cursor(after) if after else None
    plan_type = flt.get("type")
    include_ended = st.param(bool(flt.get("includeEnded")), "boolean")
    revision_due = st.param(bool(flt.get("revisionDue")), "boolean")
    type_ = st.param(plan_type.value if plan_type is not None else None, "text")
    first_name = st.param(like_prefix(owner_first), "text")
    last_name = st.param(like_prefix(owner_last), "text")
    after_at = st.param(cursor[0] if cursor else None, "timestamptz")
    after_id = st.param(cursor[1] if cursor else None, "uuid")
    limit = st.param(first + 1, "int")
    mine = (
        "mine AS (SELECT p.id FROM plans p"
        f" JOIN participants me ON me.plan_id = p.id AND me.person_id = {VIEWER}"
        " AND me.left_on IS NULL"
        f" JOIN participants o ON o.plan_id = p.id AND o.role = {quoted(OWNER)}"
        " AND o.left_on IS NULL JOIN persons op ON op.id = o.person_id"
        f" WHERE ({include_ended} OR p.status = 'ACTIVE')"
        f" AND ({type_} IS NULL OR p.type = {type_})"
        f" AND ({first_name} IS NULL OR op.search_first LIKE {first_name} ESCAPE '\\')"
        f" AND ({last_name} IS NULL OR op.search_last LIKE {last_name} ESCAPE '\\')"
        f" AND (NOT {revision_due} OR p.revision_date <= {TODAY}))"
    )
    page = (
        "page AS (SELECT p.id, p.created_at FROM plans p WHERE p.id IN (SELECT id FROM mine)"
        f" AND ({after_at} IS NULL OR (p.created_at, p.id) > ({after_at}, {after_id}))"
        f" ORDER BY p.created_at, p.id LIMIT {limit})"
    )
    shown = f"(SELECT * FROM page ORDER BY created_at, id LIMIT {first})"
    scope = PlanScope("p", "c", "me")

    def connection() -> str:
        pairs = []
        for child in f.children or ():
            if child.name == "totalCount":
                pairs.append((child.key, "to_json((SELECT count(*) FROM mine))"))
            elif child.name == "edges":
                edge_fields = []
                for edge in child.children or ():
                    if edge.name == "node":
                        edge_fields.append((edge.key, plan_object(st, edge, scope)))
                    elif edge.name == "cursor":
                        cursor_sql = cursor_of("p.created_at", "p.id::text")
                        edge_fields.append((edge.key, f"to_json({cursor_sql})"))
                    else:
                        raise Uncovered(f"PlanEdge.{edge.name}")
                pairs.append(
                    (
                        child.key,
                        f"coalesce((SELECT json_agg({obj(edge_fields)}"
                        f" ORDER BY p.created_at, p.id) FROM {shown} pg"
                        f" JOIN plans p ON p.id = pg.id {plan_from('p', 'c', 'me')}), '[]'::json)",
                    )
                )
            elif child.name == "pageInfo":
                info = page_info(
                    st,
                    child,
                    fetched="page",
                    first=first,
                    shown=shown,
                    last_order="{0}.created_at DESC, {0}.id DESC",
                    cursor=lambda last: cursor_of(f"{last}.created_at", f"{last}.id::text"),
                )
                pairs.append((child.key, info))
            else:
                raise Uncovered(f"PlanConnection.{child.name}")
        return obj(pairs)

    return st.prepared(f, [mine, page], f"SELECT {connection()}")
