"""The compiled root fields: ``plan(id)`` and ``plans(filter, first, after)``, one statement
each. Argument errors and NOT_FOUND are the resolvers' to answer: on any of them the root
returns None and the executor runs the resolvers."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from db.plans import like_prefix
from resolvers import validation
from resolvers.compiled.answer import Answer, read_answer
from resolvers.compiled.emit import ROLES, TODAY, VIEWER, PlanScope, Statement, obj, quoted
from resolvers.compiled.executor import root
from resolvers.compiled.selection import Field, Uncovered, cost
from resolvers.compiled.types import cursor_of, plan_from, plan_object, shared_cte
from resolvers.context import Context
from resolvers.errors import too_complex
from resolvers.plans import MAX_PAGE, decode_cursor
from resolvers.policy import OWNER
from resolvers.policy.plans import PLAN_VISIBLE


def _statement(ctx: Context) -> Statement | None:
    viewer = ctx.viewer
    if viewer is None:
        return None
    return Statement(viewer.person_id, ctx.today(), viewer.global_roles)


async def _run(ctx: Context, st: Statement, f: Field, ctes: list[str], select: str) -> Any:
    # Every statement names its three fixed parameters, used or not, so each has its type.
    ctes = [f"fixed AS (SELECT {VIEWER} AS viewer, {TODAY} AS today, {ROLES} AS roles)", *ctes]
    if st.uses_shared:
        ctes = [shared_cte(), *ctes]
    sql = (f"WITH {', '.join(ctes)} " if ctes else "") + select
    limit = ctx.settings.compiled_timeout_ms
    async with ctx.pool.acquire() as conn:
        try:
            return await conn.fetchval(sql, *st.args(), timeout=limit / 1000)
        except TimeoutError:
            # asyncpg has cancelled the statement in the server.
            raise too_complex(limit, "TIMEOUT", "The selection took too long to answer.") from None


def _compile(ctx: Context, f: Field, build: Any) -> Any:
    """The statement's body, or None when the selection is not covered (the resolvers answer
    it). A covered selection over the cost limit is refused (QUERY_TOO_COMPLEX, COST)."""
    try:
        body = build()
    except Uncovered:
        return None
    limit = ctx.settings.compiled_max_cost
    if cost(f) > limit:
        raise too_complex(limit, "COST", "The selection is too large to answer at once.")
    return body


@root("plan")
async def plan(ctx: Context, f: Field) -> Answer | None:
    """Query.plan: guard.visible_plan, then the plan."""
    st = _statement(ctx)
    if st is None:
        return None
    try:
        plan_id = validation.identifier("id", f.args["id"])
    except GraphQLError:
        return None
    scope = PlanScope("p", "c", "me")
    body = _compile(ctx, f, lambda: plan_object(st, f, scope))
    if body is None:
        return None
    key = st.param(plan_id, "uuid")
    select = (
        f"SELECT CASE WHEN {PLAN_VISIBLE.sql(scope.bindings)} THEN {body} END"
        f" FROM plans p {plan_from('p', 'c', 'me')} WHERE p.id = {key}"
    )
    text = await _run(ctx, st, f, [], select)
    if text is None:
        return None  # no such plan, or not one the viewer may know of: NOT_FOUND
    return read_answer(f, text)


@root("plans")
async def plans(ctx: Context, f: Field) -> Answer | None:
    """Query.plans: plans.my_plans, oldest first, with the total and cursor paging."""
    st = _statement(ctx)
    if st is None:
        return None
    # graphql-core coerces the input object to a dict under its GraphQL field names.
    flt = f.args.get("filter") or {}
    first = f.args.get("first")
    first = 50 if first is None else first
    after = f.args.get("after")
    owner_first = flt.get("ownerFirstName")
    owner_last = flt.get("ownerLastName")
    try:
        if not 0 <= first <= MAX_PAGE:
            return None
        validation.text("ownerFirstName", owner_first, max_length=100)
        validation.text("ownerLastName", owner_last, max_length=100)
        cursor = decode_cursor(after) if after else None
    except GraphQLError:
        return None
    plan_type = flt.get("type")
    include_ended = st.param(bool(flt.get("includeEnded")), "boolean")
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
        f" AND ({last_name} IS NULL OR op.search_last LIKE {last_name} ESCAPE '\\'))"
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
                info = []
                for sub in child.children or ():
                    if sub.name == "hasNextPage":
                        more = f"(SELECT count(*) FROM page) > {first}"
                        info.append((sub.key, f"to_json({more})"))
                    elif sub.name == "endCursor":
                        cursor_sql = cursor_of("l.created_at", "l.id::text")
                        info.append(
                            (
                                sub.key,
                                f"(SELECT to_json({cursor_sql}) FROM {shown} l"
                                " ORDER BY l.created_at DESC, l.id DESC LIMIT 1)",
                            )
                        )
                    else:
                        raise Uncovered(f"PageInfo.{sub.name}")
                pairs.append((child.key, obj(info)))
            else:
                raise Uncovered(f"PlanConnection.{child.name}")
        return obj(pairs)

    body = _compile(ctx, f, connection)
    if body is None:
        return None
    text = await _run(ctx, st, f, [mine, page], f"SELECT {body}")
    return read_answer(f, text)
