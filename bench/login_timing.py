"""Login answer time for known and unknown usernames with a wrong password: an attacker must
not tell them apart by timing (issue 9). Prints the medians and their ratio.

    python -m bench.login_timing --database-url postgresql://… [--rounds 200] [--names 20]

Starts `plangruppe serve` on the database (which migrates it), makes --names accounts
`bench-timing-kN` if they are missing, and then, one request at a time, sends a wrong password
for a known name (`bench-timing-kN`) and for an unknown one (`bench-timing-uN`) in random
order, over HTTP, timing each answer at the client. Before each pair it clears the throttle
rows of those names and the accounts' runs of failures, so that every answer is
INVALID_CREDENTIALS: this measures the wrong-password path, not the throttle. Use a database
of its own (the gateway's audit log keeps every attempt).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.load import free_port, start, stop, wait_ready
from db import accounts, persons
from resolvers import passwords

LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { challengeId } }"""
PASSWORD = "Timing-Bench-2026x"  # noqa: S105 - the bench accounts' own password
WRONG = "Not-The-Password-9"


async def ensure_accounts(database_url: str, names: int) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for i in range(names):
            username = f"bench-timing-k{i}"
            if await accounts.by_username(conn, username):
                continue
            person = await persons.insert(
                conn,
                {"first_name": "Tid", "last_name": f"Måling{i}", "email": f"{username}@example.no"},
            )
            await accounts.insert(
                conn,
                person_id=person.id,
                username=username,
                otp_channel="EMAIL",
                password_hash=await passwords.hash_password(PASSWORD),
                now=dt.datetime.now(dt.UTC),
                confirmed_email=f"{username}@example.no",
            )
    finally:
        await conn.close()


async def clear_throttle(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM login_attempts WHERE username_key LIKE 'bench-timing-%'")
    await conn.execute(
        "UPDATE accounts SET consecutive_failures = 0 WHERE username LIKE 'bench-timing-%'"
    )


def summary(name: str, seconds: list[float]) -> dict[str, Any]:
    ms = sorted(1000 * s for s in seconds)
    return {
        "names": name,
        "attempts": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "mean_ms": round(statistics.mean(ms), 2),
        "p10_ms": round(ms[len(ms) // 10], 2),
        "p90_ms": round(ms[len(ms) * 9 // 10], 2),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": args.database_url}
    env.pop("SMTP_HOST", None)
    logs = Path(args.logs)
    logs.mkdir(exist_ok=True)
    port = free_port()
    gateway = start(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        env,
        logs / "login_timing.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(url + "/health")
        await ensure_accounts(args.database_url, args.names)
        rng = random.Random(args.seed)
        times: dict[str, list[float]] = {"known": [], "unknown": []}
        conn = await asyncpg.connect(args.database_url)
        try:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:

                async def attempt(kind: str, n: int) -> float:
                    username = f"bench-timing-{kind[0]}{n % args.names}"
                    body = {"query": LOGIN, "variables": {"u": username, "p": WRONG}}
                    started = time.perf_counter()
                    response = await client.post("/graphql", json=body)
                    elapsed = time.perf_counter() - started
                    code = response.json()["errors"][0]["extensions"]["code"]
                    if code != "INVALID_CREDENTIALS":
                        raise SystemExit(f"{username}: {code}, expected INVALID_CREDENTIALS")
                    return elapsed

                for n in range(args.warmup + args.rounds):
                    await clear_throttle(conn)
                    kinds = ["known", "unknown"]
                    rng.shuffle(kinds)
                    for kind in kinds:
                        elapsed = await attempt(kind, n)
                        if n >= args.warmup:
                            times[kind].append(elapsed)
        finally:
            await clear_throttle(conn)
            await conn.close()
        known, unknown = summary("known", times["known"]), summary("unknown", times["unknown"])
        result = {
            "known": known,
            "unknown": unknown,
            "known_over_unknown_median": round(known["median_ms"] / unknown["median_ms"], 3),
        }
        print(json.dumps(known), flush=True)
        print(json.dumps(unknown), flush=True)
        print(
            json.dumps({"known_over_unknown_median": result["known_over_unknown_median"]}),
            flush=True,
        )
        return result
    finally:
        stop([gateway])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--names", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--logs", default="bench/logs")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
