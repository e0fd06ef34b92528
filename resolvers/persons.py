"""Persons: reading them field by field under the visibility rules."""

from __future__ import annotations

from db.persons import PersonRow
from resolvers import access
from resolvers.context import Context
from resolvers.errors import forbidden, unauthenticated


async def field_denial(ctx: Context, person: PersonRow, field: str) -> str | None:
    """Why this viewer may not read one contact field of this person, or None."""
    viewer = ctx.viewer
    if viewer is None:
        return "FIELD_HIDDEN"
    return access.person_field_denial(
        is_self=viewer.person_id == person.id,
        visibility=access.DEFAULT_VISIBILITY,
        shares_active_plan=False,
    )


async def read_field(ctx: Context, person: PersonRow, field: str, value: object) -> object:
    denial = await field_denial(ctx, person, field)
    if denial:
        raise forbidden(denial)
    return value


async def visible_fields(ctx: Context, person: PersonRow) -> list[str]:
    return [f for f in access.PERSON_FIELDS if await field_denial(ctx, person, f) is None]


async def me(ctx: Context) -> PersonRow | None:
    """The logged-in person, or None."""
    if ctx.viewer is None:
        return None
    return await ctx.loaders.person_by_id.load(ctx.viewer.person_id)


async def require_viewer_person(ctx: Context) -> PersonRow:
    person = await me(ctx)
    if person is None:
        raise unauthenticated()
    return person
