"""searchPersons pages from an index at any size (issue 13): a name prefix is a range seek on
persons_search_order_idx, whose order is the page's order, so no sort of all matches."""

from __future__ import annotations

import json

import asyncpg

from db import persons
from db.persons import prefix_range, search_key

NAMES = [
    ("Hanne", "Haugen"),
    ("Håkon", "Hansen"),
    ("Hans", "Hansen"),
    ("Ola", "Hb"),
    ("Per", "H"),
    ("Ærlig", "Øvre"),
    ("Åse", "Ødegård"),
    ("Kari", "Ha_%\\"),
    ("Lise", "Ha"),
]


def test_prefix_range_holds_exactly_the_keys_with_the_prefix() -> None:
    assert prefix_range("ha") == ("ha", "hb")
    assert prefix_range("h\u00e5") == ("h\u00e5", "h\u00e6")
    assert prefix_range("a\ud7ff") == ("a\ud7ff", "a\ue000")  # past the surrogates
    assert prefix_range("a\U0010ffff") == ("a\U0010ffff", "b")
    assert prefix_range("\U0010ffff") == ("\U0010ffff", None)
    assert prefix_range("") == ("", None)
    for key in ("ha", "haugen", "ha_%\\", "hb", "h", "hå", "hz"):
        low, high = prefix_range("ha")
        assert (low <= key and (high is None or key < high)) == key.startswith("ha"), key


async def _plan(conn: asyncpg.Connection, sql: str, *args: object) -> str:
    rows = await conn.fetch("EXPLAIN (FORMAT JSON) " + sql, *args)
    return json.dumps(json.loads(rows[0][0]))


async def test_a_prefix_search_is_an_ordered_index_seek(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for first, last in NAMES:
            await persons.insert(conn, {"first_name": first, "last_name": last})
        found = await persons.search(
            conn, first_name=None, last_name="HA", birth_date=None, limit=20
        )
        assert [(r.last_name, r.first_name) for r in found] == [
            ("Ha", "Lise"),
            ("Ha_%\\", "Kari"),
            ("Hansen", "Hans"),
            ("Hansen", "Håkon"),
            ("Haugen", "Hanne"),
        ]
        found = await persons.search(conn, first_name="hå", last_name="h", birth_date=None, limit=5)
        assert [r.first_name for r in found] == ["Håkon"]
        found = await persons.search(conn, first_name=None, last_name="Ø", birth_date=None, limit=5)
        assert [r.last_name for r in found] == ["Ødegård", "Øvre"]
        # The statement searchPersons sends, as PostgreSQL would run it on a large table: the
        # index gives both the bounds and the order; nothing is sorted.
        await conn.execute("SET enable_seqscan = off")
        low, high = prefix_range(search_key("Ha"))
        plan = await _plan(
            conn,
            'SELECT id FROM persons WHERE search_last COLLATE "C" >= $1'
            ' AND search_last COLLATE "C" < $2'
            ' ORDER BY search_last COLLATE "C", search_first COLLATE "C", id LIMIT 20',
            low,
            high,
        )
        assert "persons_search_order_idx" in plan and '"Sort"' not in plan, plan
