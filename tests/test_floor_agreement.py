"""The floor gives the gateway's answers (bench/README.md, "Do the measuring sticks give the
gateway's answer?").

bench/floor.py keeps its own hand-written SQL for Q1 (the plan list) and Q2 (one plan in
full), so it can drift from the access rules in resolvers/policy/. Here both serve a small
seeded municipality and bench.agree compares their answers row by row, for viewers of every
kind: coordinators, owners, relatives with few rights, providers whose own consent ran out,
participants of a plan whose consent was revoked and of ended plans.
"""

from __future__ import annotations

import datetime as dt

from bench import agree, floor
from bench.seed import seed
from tests.conftest import Gateway, serve
from tests.support import FakeClock


async def test_the_floor_gives_the_gateways_answers(
    gateway: Gateway, db_dsn: str, clock: FakeClock
) -> None:
    # 500 persons, 50 plans (5 ended), one coordinator; no state file, no subscribers.
    await seed(db_dsn, 0.05, 7, subscribers=0, state_path=None)
    # The floor decides with the database's date and the sessions' real times.
    clock.now = dt.datetime.now(dt.UTC)
    server, task, floor_url = await serve(floor.create_app(db_dsn))
    try:
        report = await agree.check(
            db_dsn, agree.Systems(gateway.url, floor_url), viewers=18, seed=7
        )
    finally:
        server.should_exit = True
        await task

    assert {v.kind for v in report.viewers} == set(agree.KINDS)
    assert report.made, "the rights, consents and visibility that make the kinds"
    q1, q2 = report.tallies[("Q1", "floor")], report.tallies[("Q2", "floor")]
    assert len(q1.viewers) == len(q2.viewers) == len(report.viewers)
    assert q1.rows > 40, "the coordinator's plan list alone has 40-odd rows"
    assert q2.requests > len(report.viewers) and q2.rows > 5 * q2.requests
    assert report.unexpected_errors == 0, report.gateway_errors
    assert report.gateway_errors["FORBIDDEN"] > 0, "some fields were hidden from someone"
    assert report.mismatches == 0, agree.render(report, show=20)
