"""Per-request DataLoaders. Names say what they key on; each batch takes its own connection."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg
from strawberry.dataloader import DataLoader

from db import accounts, persons
from db.pool import Conn

K = TypeVar("K")
V = TypeVar("V")


def _loader(
    pool: asyncpg.Pool,
    fetch: Callable[[Conn, Sequence[K]], Awaitable[dict[K, V]]],
    default: Callable[[], V | None] = lambda: None,
) -> DataLoader[K, V | None]:
    async def batch(keys: list[K]) -> list[V | None]:
        async with pool.acquire() as conn:
            found = await fetch(conn, keys)
        return [found.get(k, default()) for k in keys]

    return DataLoader(load_fn=batch)


class Loaders:
    """Everything a request may load in batches; built fresh for every request."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.person_by_id: DataLoader[uuid.UUID, persons.PersonRow | None] = _loader(
            pool, persons.by_ids
        )
        self.global_roles_by_person: DataLoader[uuid.UUID, list[str] | None] = _loader(
            pool, persons.global_roles
        )
        self.otp_channel_by_person: DataLoader[uuid.UUID, str | None] = _loader(
            pool, accounts.otp_channels_by_person
        )
