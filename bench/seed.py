"""Seed a realistic municipality fast (COPY), reproducibly from a seed number.

    python -m bench.seed --scale 1 [--seed 7] [--database-url postgresql://…] [--state PATH]

Scale 1 = 10,000 persons, 1,000 plans, 8,000 participants, 100,000 messages, 5,000 goals,
10,000 activities; 20 coordinators with ~50 plans each. Any scale above 0 works (0.05: 500
persons, 50 plans, one coordinator; the tests seed that small). Writes bench/.seed.json (or
--state) with the bearer tokens of a few viewers, for the load driver.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import random
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from db import migrate

FIRST = [
    "Ola",
    "Kari",
    "Per",
    "Ingrid",
    "Nils",
    "Åse",
    "Øyvind",
    "Sara",
    "Lars",
    "Marit",
    "Jonas",
    "Ragnhild",
    "Emil",
    "Sigrid",
    "Håkon",
    "Astrid",
    "Magnus",
    "Ingeborg",
    "Eirik",
    "Tone",
]
LAST = [
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Dahl",
    "Lie",
    "Ødegård",
    "Aasen",
]
TYPES = ["IP"] * 7 + ["IOP", "IUP", "STAFETTLOGG"]
NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
STATE = Path(__file__).with_name(".seed.json")


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


async def seed(
    dsn: str,
    scale: float,
    seed_number: int,
    subscribers: int = 2000,
    state_path: Path | None = STATE,
) -> dict[str, Any]:
    """Seed an empty database; ``state_path=None`` writes no state file (the tests)."""
    if scale <= 0:
        raise ValueError("scale must be above 0")
    rng = random.Random(seed_number)
    n_persons = int(10_000 * scale)
    n_plans = int(1_000 * scale)
    n_coordinators = max(1, n_plans // 50)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate.apply(conn)
        started = time.perf_counter()
        async with conn.transaction():
            if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM persons)"):
                # The access and audit logs are append-only: seed a fresh database instead.
                raise SystemExit("bench.seed needs an empty database (drop and create it first)")
            units = [
                (_uuid(rng), name)
                for name in (
                    "NAV",
                    "Fysioterapi",
                    "Barnevern",
                    "PPT",
                    "Hjemmetjenesten",
                    "Psykisk helse",
                )
            ]
            await conn.copy_records_to_table("service_units", records=units, columns=["id", "name"])
            persons = []
            for _ in range(n_persons):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(33_000))
                pid = _uuid(rng)
                persons.append(
                    (
                        pid,
                        first,
                        last,
                        born,
                        f"{pid.hex[:10]}@example.no",
                        f"+479{rng.randrange(10**7):07d}",
                        first.lower(),
                        last.lower(),
                        rng.choice(units)[0],
                    )
                )
            await conn.copy_records_to_table(
                "persons",
                records=persons,
                columns=[
                    "id",
                    "first_name",
                    "last_name",
                    "birth_date",
                    "email",
                    "mobile",
                    "search_first",
                    "search_last",
                    "service_unit_id",
                ],
            )
            ids = [p[0] for p in persons]
            coordinators = ids[:n_coordinators]
            others = ids[n_coordinators:]
            plans, consents, participants, consent_ids = [], [], [], []
            grant = json.dumps(
                {
                    "participants": "READ",
                    "goals": "READ",
                    "activities": "READ",
                    "messages": "WRITE",
                    "calendar": "READ",
                    "documents": "READ",
                    "edit_person": False,
                    "print": False,
                }
            )
            plan_members: dict[uuid.UUID, list[uuid.UUID]] = {}
            for i in range(n_plans):
                plan_id, consent_id = _uuid(rng), _uuid(rng)
                start = dt.date(2022, 1, 1) + dt.timedelta(days=rng.randrange(1700))
                created = NOW - dt.timedelta(days=rng.randrange(1500), seconds=i)
                status = "ENDED" if rng.random() < 0.1 else "ACTIVE"
                plans.append(
                    (
                        plan_id,
                        f"Plan {i + 1}",
                        rng.choice(TYPES),
                        status,
                        start,
                        rng.choice(units)[0],
                        created,
                        created,
                    )
                )
                consent_ids.append((plan_id, consent_id))
                owner = others[i % len(others)]
                members = [(owner, "OWNER"), (coordinators[i % n_coordinators], "COORDINATOR")]
                picked = rng.sample(others, 6)
                members += [
                    (p, rng.choice(["SERVICE_PROVIDER"] * 3 + ["RELATIVE", "GUARDIAN"]))
                    for p in picked
                    if p != owner
                ]
                consents.append(
                    (
                        consent_id,
                        plan_id,
                        owner,
                        "SELF",
                        start,
                        dt.date(2027, 1, 1) + dt.timedelta(days=rng.randrange(700)),
                        grant,
                        created,
                    )
                )
                plan_members[plan_id] = []
                for person_id, role in members:
                    part_id = _uuid(rng)
                    plan_members[plan_id].append(part_id)
                    participants.append(
                        (
                            part_id,
                            plan_id,
                            person_id,
                            role,
                            f"Ansvar {rng.randrange(1000)}" if rng.random() < 0.5 else None,
                            start,
                            created,
                        )
                    )
            await conn.copy_records_to_table(
                "plans",
                records=plans,
                columns=[
                    "id",
                    "short_name",
                    "type",
                    "status",
                    "start_date",
                    "service_unit_id",
                    "changed_at",
                    "created_at",
                ],
            )
            await conn.copy_records_to_table(
                "consents",
                records=consents,
                columns=[
                    "id",
                    "plan_id",
                    "given_by",
                    "given_by_relation",
                    "given_on",
                    "expires_on",
                    "default_grant",
                    "recorded_at",
                ],
            )
            await conn.executemany("UPDATE plans SET consent_id = $2 WHERE id = $1", consent_ids)
            await conn.copy_records_to_table(
                "participants",
                records=participants,
                columns=[
                    "id",
                    "plan_id",
                    "person_id",
                    "role",
                    "responsibility",
                    "joined_on",
                    "created_at",
                ],
            )
            messages, recipients, goals, activities = [], [], [], []
            per_plan = max(1, int(100_000 * scale) // n_plans)
            for plan_id, members in plan_members.items():
                for m in range(per_plan):
                    mid = _uuid(rng)
                    to_all = rng.random() < 0.8
                    messages.append(
                        (
                            mid,
                            plan_id,
                            rng.choice(members),
                            f"Melding {m}",
                            NOW - dt.timedelta(minutes=per_plan - m),
                            to_all,
                        )
                    )
                    if not to_all:
                        recipients.extend((mid, r) for r in rng.sample(members, 2))
                for g in range(5):
                    gid = _uuid(rng)
                    goals.append(
                        (gid, plan_id, f"Mål {g + 1}", "IN_PROGRESS", members[1], NOW, NOW)
                    )
                    for a in range(2):
                        activities.append(
                            (
                                _uuid(rng),
                                plan_id,
                                gid,
                                f"Tiltak {g + 1}.{a + 1}",
                                "PLANNED",
                                members[1],
                                NOW,
                                NOW,
                            )
                        )
            await conn.copy_records_to_table(
                "messages",
                records=messages,
                columns=["id", "plan_id", "author_id", "body", "created_at", "to_all"],
            )
            await conn.copy_records_to_table(
                "message_recipients",
                records=list(dict.fromkeys(recipients)),
                columns=["message_id", "participant_id"],
            )
            await conn.copy_records_to_table(
                "goals",
                records=goals,
                columns=[
                    "id",
                    "plan_id",
                    "title",
                    "status",
                    "created_by",
                    "created_at",
                    "updated_at",
                ],
            )
            await conn.copy_records_to_table(
                "activities",
                records=activities,
                columns=[
                    "id",
                    "plan_id",
                    "goal_id",
                    "title",
                    "status",
                    "created_by",
                    "created_at",
                    "updated_at",
                ],
            )
            tokens = await _sessions(conn, rng, coordinators + others[:5])
            # Subscribers for the fan-out benchmark: participants of active plans (not the
            # coordinators, who write), one plan each, distinct persons.
            active = {p[0] for p in plans if p[3] == "ACTIVE"}
            seen: set[uuid.UUID] = set(coordinators) | set(others[:5]) | {others[-1]}
            listeners: list[tuple[uuid.UUID, uuid.UUID]] = []
            for _part, plan_id, person_id, role, *_rest in participants:
                if plan_id in active and role != "COORDINATOR" and person_id not in seen:
                    seen.add(person_id)
                    listeners.append((person_id, plan_id))
            listeners = listeners[:subscribers]
            listener_tokens = await _sessions(conn, rng, [p for p, _plan in listeners])
            coordinator_of = {
                str(p[0]): i % n_coordinators for i, p in enumerate(plans) if p[0] in active
            }
            reporter = await _sessions(conn, rng, [others[-1]], roles=("REPORTER",))
        await conn.execute("ANALYZE")
        elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    state = {
        "scale": scale,
        "seed": seed_number,
        "coordinator_tokens": tokens[:5],
        "all_coordinator_tokens": tokens[:n_coordinators],
        "participant_tokens": tokens[n_coordinators:],
        "coordinator_of_plan": coordinator_of,
        "subscribers": [
            {"token": t, "plan": str(plan)}
            for t, (_p, plan) in zip(listener_tokens, listeners, strict=True)
        ],
        "reporter_token": reporter[0],
        "plan_ids": [str(p[0]) for p in plans[:50]],
        # Q2's plans: three active ones of the first coordinator's (plan i has coordinator
        # i mod n), so the drivers ask the same kind of plan at any scale.
        "q2_plan_ids": [str(p[0]) for p in plans[::n_coordinators] if p[0] in active][:3],
        "seconds": round(elapsed, 1),
        "counts": {
            "persons": n_persons,
            "plans": n_plans,
            "participants": len(participants),
            "messages": len(messages),
            "goals": len(goals),
            "activities": len(activities),
        },
    }
    if state_path is not None:
        state_path.write_text(json.dumps(state, indent=2))
    return state


async def _sessions(
    conn: asyncpg.Connection,
    rng: random.Random,
    person_ids: list[uuid.UUID],
    roles: tuple[str, ...] = (),
) -> list[str]:
    """Accounts with sessions for the drivers (their clients do not log in); the drivers
    refresh the sessions before they run (see refresh_sessions)."""
    tokens = [secrets.token_urlsafe(32) for _ in person_ids]
    accounts = [(_uuid(rng), p) for p in person_ids]
    await conn.copy_records_to_table(
        "accounts",
        records=[(a, p, f"bench-{p.hex[:12]}", "EMAIL", NOW) for a, p in accounts],
        columns=["id", "person_id", "username", "otp_channel", "created_at"],
    )
    await conn.copy_records_to_table(
        "person_global_roles",
        records=[(p, role) for p in person_ids for role in roles],
        columns=["person_id", "role"],
    )
    await conn.copy_records_to_table(
        "sessions",
        records=[
            (a, hashlib.sha256(t.encode()).digest(), NOW, NOW, NOW + dt.timedelta(hours=12))
            for (a, _p), t in zip(accounts, tokens, strict=True)
        ],
        columns=["account_id", "token_hash", "created_at", "last_seen_at", "expires_at"],
    )
    return tokens


def q2_plans(state: dict[str, Any]) -> list[str]:
    """The plans Q2 asks for, as the first coordinator (state files of older seeds: 0, 20, 40
    of the first 50, which is the same at scale 1)."""
    found: list[str] = state.get("q2_plan_ids") or [state["plan_ids"][i] for i in (0, 20, 40)]
    return found


async def refresh_sessions(dsn: str) -> None:
    """The seeded sessions live 30 idle minutes like any other: renew them before a run."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "UPDATE sessions SET created_at = now(), last_seen_at = now(),"
            " expires_at = now() + interval '12 hours', revoked_at = NULL"
            " WHERE account_id IN (SELECT id FROM accounts WHERE username LIKE 'bench-%')"
        )
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--state", type=Path, default=STATE, help="where the drivers' state goes")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    state = asyncio.run(
        seed(args.database_url, args.scale, args.seed, args.subscribers, args.state)
    )
    print(json.dumps({"seconds": state["seconds"], **state["counts"]}))


if __name__ == "__main__":
    main()
