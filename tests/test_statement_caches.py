"""What must be done once is done once: a query's validation (Strawberry's ValidationCache)
and the preparation of a large statement (asyncpg's statement cache)."""

from __future__ import annotations

import uuid

import pytest

import schema.extensions
from db.pool import create_pool
from schema import build_schema


async def test_the_same_query_is_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[int] = []

    class Counting(schema.extensions._EmptySelections):
        def __init__(self) -> None:
            runs.append(1)  # one per validation of a document (the depth limit's first step)
            super().__init__()

    monkeypatch.setattr(schema.extensions, "_EmptySelections", Counting)
    query = f"query Q{uuid.uuid4().hex} {{ __typename }}"  # a text no earlier test used
    served = build_schema()
    for _ in range(3):
        result = await served.execute(query)
        assert result.errors is None
    assert len(runs) == 1, "validated once, then answered from the cache"


async def test_a_large_statement_is_prepared_once(db_dsn: str) -> None:
    pool = await create_pool(db_dsn, min_size=1, max_size=1)
    # Like a compiled read: one statement far above asyncpg's default 15 kB cache limit.
    padding = " + ".join(f"({n} * $1::int)" for n in range(2500))
    sql = f"SELECT {padding} AS total"
    assert len(sql) > 30_000
    try:
        async with pool.acquire() as conn:
            for _ in range(3):
                assert await conn.fetchval(sql, 1) == sum(range(2500))
            prepared = await conn.fetchval(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", sql
            )
        assert prepared == 1, "kept prepared on the connection, not parsed per call"
    finally:
        await pool.close()
