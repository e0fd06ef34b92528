"""The typed Info every resolver receives."""

from __future__ import annotations

import strawberry

from resolvers.context import Context

Info = strawberry.Info[Context, None]
