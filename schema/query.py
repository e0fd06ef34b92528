"""The Query root."""

from __future__ import annotations

import strawberry

from resolvers import persons
from schema.context import Info
from schema.types import Person


@strawberry.type
class Query:
    @strawberry.field(description="The logged-in person; null when not logged in.")
    async def me(self, info: Info) -> Person | None:
        row = await persons.me(info.context)
        return Person(row=row) if row else None
