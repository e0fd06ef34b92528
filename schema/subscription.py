"""The Subscription root: live messages over graphql-transport-ws."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from resolvers import live
from schema.context import Info
from schema.types import Message


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="New messages I may read: in one plan, or (planId null) in every plan "
        "where I may read messages. Ends with an error when I lose access."
    )
    async def message_added(
        self, info: Info, plan_id: strawberry.ID | None = None
    ) -> AsyncGenerator[Message, None]:
        async for now, row in live.message_stream(info.context, plan_id):
            # The message's fields resolve as of this moment, not from an earlier cache.
            info.context.viewer = now.viewer
            info.context.loaders = now.loaders
            yield Message(admitted=row)

    @strawberry.subscription(
        description="Edits and withdrawals (editedAt, withdrawnAt) of messages I may read: in"
        " one plan, or (planId null) in every plan where I may read messages; the same rules"
        " as messageAdded. Ends with an error when I lose access."
    )
    async def message_changed(
        self, info: Info, plan_id: strawberry.ID | None = None
    ) -> AsyncGenerator[Message, None]:
        async for now, row in live.message_stream(info.context, plan_id, changes=True):
            info.context.viewer = now.viewer
            info.context.loaders = now.loaders
            yield Message(admitted=row)
