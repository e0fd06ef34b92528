"""What one running gateway process shares between requests: settings, pool, clock, the LISTEN
bus and the token backend. The lifespan (gateway/lifespan.py) builds it at start-up; the
GraphQL view, the file routes and /health read it."""

from __future__ import annotations

import asyncpg

from db.bus import MessageBus
from gateway.authentication import BearerBackend
from gateway.settings import Settings
from resolvers.context import Clock, Context, Viewer
from resolvers.loaders import Loaders


class GatewayState:
    """What one gateway process shares between requests."""

    def __init__(
        self, settings: Settings, pool: asyncpg.Pool, clock: Clock, bus: MessageBus | None
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.clock = clock
        self.bus = bus
        self.auth = BearerBackend(pool, clock)

    def context(
        self,
        viewer: Viewer | None,
        token: str | None,
        client: str | None,
        request: object,
        response: object = None,
    ) -> Context:
        return Context(
            pool=self.pool,
            settings=self.settings,
            clock=self.clock,
            viewer=viewer,
            client_addr=client,
            loaders=Loaders(self.pool, viewer.person_id if viewer else None),
            request=request,
            response=response,
            bus=self.bus,
            token=token,
            compiled=self.settings.compiled_reads,
        )
