"""The load driver: C concurrent clients for T seconds per shape, against the gateway and the
floor in the same run.

    python -m bench.load --database-url postgresql://… [--clients 8] [--seconds 10] [--workers 1]

Shapes: Q1 a coordinator's plan list (50 plans, the list columns); Q2 one plan in full
(participants with persons, goals with activities, the last 20 messages); Q3 person
search; Q4 reports.planCounts. Prints requests/s, p50, p99, SQL statements per request,
and gateway/floor ratios for Q1 and Q2. Run `python -m bench.seed` first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.seed import STATE, q2_plans, refresh_sessions

Q1 = """{ plans(first: 50) { totalCount edges { node { id shortName type status startDate endDate
  lastArchivedAt changedSinceMyLastVisit hasUnreadMessages consentExpiresOn
  owner { person { firstName lastName birthDate } } coordinator { person { firstName lastName } }
} } } }"""
Q2 = """query($id: ID!) { plan(id: $id) { id shortName
  participants { role responsibility person { firstName lastName mobile } }
  goals { title activities { title } }
  messages(first: 20) { edges { node { body createdAt author { person { firstName } } } } } } }"""
Q3 = """query($n: String!) {
  searchPersons(lastName: $n, first: 20) { id firstName lastName position } }"""
Q4 = "{ reports { planCounts(groupBy: [TYPE, STATUS]) { type status count } } }"
SEARCH = ["Ha", "Jo", "Ol", "La", "Be", "Li", "Øde", "Aa", "Ni", "Pe"]


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    errors: int = 0

    def line(self, name: str, seconds: float) -> dict[str, Any]:
        lat = sorted(self.latencies)
        return {
            "shape": name,
            "requests": len(lat),
            "rps": round(len(lat) / seconds, 1),
            "p50_ms": round(1000 * lat[len(lat) // 2], 1) if lat else None,
            "p99_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1)
            if lat
            else None,
            "sql_per_request": round(statistics.mean(self.statements), 1)
            if self.statements
            else None,
            "errors": self.errors,
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(
        cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Ctrl-C for each server (its whole process group), then a kill if it hangs."""
    for proc in procs:
        os.killpg(proc.pid, signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


async def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


async def drive(
    clients: int, seconds: float, request: Callable[[httpx.AsyncClient, random.Random], Any]
) -> Result:
    result = Result()
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def one(n: int) -> None:
        rng = random.Random(n)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = await request(client, rng)
                elapsed = time.perf_counter() - started
                if response.status_code != 200 or b'"errors"' in response.content:
                    result.errors += 1
                    continue
                result.latencies.append(elapsed)
                header = response.headers.get("x-sql-statements")
                if header:
                    result.statements.append(int(header))

    await asyncio.gather(*(one(n) for n in range(clients)))
    return result


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    state = json.loads(STATE.read_text())
    await refresh_sessions(args.database_url)
    env = {**os.environ, "DATABASE_URL": args.database_url, "PLANGRUPPE_EXPOSE_SQL_COUNT": "1"}
    env.pop("SMTP_HOST", None)
    logs = Path(args.logs)
    logs.mkdir(exist_ok=True)
    gw_port, floor_port = free_port(), free_port()
    gateway = start(
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--port",
            str(gw_port),
            "--workers",
            str(args.workers),
        ],
        env,
        logs / "gateway.log",
    )
    floor = start(
        [sys.executable, "-m", "bench.floor", "--port", str(floor_port)], env, logs / "floor.log"
    )
    gw = f"http://127.0.0.1:{gw_port}"
    fl = f"http://127.0.0.1:{floor_port}"
    try:
        await wait_ready(gw + "/health")
        await wait_ready(fl + "/q1")
        coord = state["coordinator_tokens"]
        plans = q2_plans(state)

        def gql(
            query: str, token: str, variables: dict[str, Any] | None = None
        ) -> Callable[..., Any]:
            body = {"query": query, "variables": variables or {}}
            return lambda client: client.post(
                gw + "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}
            )

        async def q1(client: httpx.AsyncClient, rng: random.Random) -> Any:
            return await gql(Q1, rng.choice(coord))(client)

        async def q2(client: httpx.AsyncClient, rng: random.Random) -> Any:
            return await gql(Q2, coord[0], {"id": rng.choice(plans)})(client)

        async def q3(client: httpx.AsyncClient, rng: random.Random) -> Any:
            return await gql(Q3, rng.choice(coord), {"n": rng.choice(SEARCH)})(client)

        async def q4(client: httpx.AsyncClient, rng: random.Random) -> Any:
            return await gql(Q4, state["reporter_token"])(client)

        async def f1(client: httpx.AsyncClient, rng: random.Random) -> Any:
            return await client.get(
                fl + "/q1", headers={"Authorization": f"Bearer {rng.choice(coord)}"}
            )

        async def f2(client: httpx.AsyncClient, rng: random.Random) -> Any:
            plan = rng.choice(plans)
            return await client.get(
                fl + f"/q2/{plan}", headers={"Authorization": f"Bearer {coord[0]}"}
            )

        shapes = {"Q1": q1, "Q2": q2, "Q3": q3, "Q4": q4, "Q1-floor": f1, "Q2-floor": f2}
        lines = []
        for name, request in shapes.items():
            await drive(2, 1.0, request)  # warm-up: caches, connections, JIT of the pool
            result = await drive(args.clients, args.seconds, request)
            line = result.line(name, args.seconds)
            if name in ("Q1-floor", "Q2-floor"):
                line["sql_per_request"] = 2 if name == "Q1-floor" else 5
            lines.append(line)
            print(json.dumps(line), flush=True)
        by = {line["shape"]: line for line in lines}
        for q in ("Q1", "Q2"):
            ratio = by[q]["rps"] / by[f"{q}-floor"]["rps"] if by[f"{q}-floor"]["rps"] else 0
            tail = by[q]["p99_ms"] / by[q]["p50_ms"] if by[q]["p50_ms"] else 0
            print(
                json.dumps(
                    {
                        "shape": q,
                        "gateway_over_floor_rps": round(ratio, 2),
                        "p99_over_p50": round(tail, 2),
                    }
                ),
                flush=True,
            )
        return lines
    finally:
        stop([gateway, floor])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--logs", default="bench/logs")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
