"""Fan-out: S WebSocket subscribers spread over the plans, writers posting messages; prints
post→delivery p50 and p99 and counts lost and duplicated deliveries, with 1 or 2 gateway
processes.

    python -m bench.fanout --database-url postgresql://… [--subscribers 2000] [--processes 2]
        [--messages 300] [--writers 4] [--null-share 0.2] [--drivers N]

Run `python -m bench.seed` first (it makes the subscribers' sessions; `--subscribers` there
must be at least as many). A share of the subscribers (`--null-share`, default 20 %) uses
`planId: null` (every plan they take part in). The sockets are opened by `--drivers`
processes (default: one per 8,000 sockets: one process stops at the 20,000 open-file
limit), each reporting when each message arrived. A delivery is expected for every
subscriber of the message's plan, and for every `planId: null` subscriber whose seeded plan
it is; those also receive their other plans' messages, counted apart ("extra").
`--plans P` keeps the subscribers of the first P plans only and `--devices K` opens K sockets
per subscriber (phone, tablet, the office): a large audience per message, where the answer
shared per (document shape, message) shows (resolvers/live_share.py). The gateway processes'
CPU time (user + system, from /proc) over the posting and the last deliveries is reported
per delivery. Lost =
expected (subscriber, message) pairs not received within 10 s after the last post;
duplicates = any (subscriber, message) received twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import random
import sys
import time
from collections import defaultdict
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.load import free_port, start, stop, wait_ready
from bench.seed import STATE, refresh_sessions

SUBSCRIBE = "subscription($p: ID) { messageAdded(planId: $p) { id body } }"
POST = "mutation($p: ID!, $b: String!) { postMessage(planId: $p, body: $b) { id } }"


async def subscriber(
    url: str,
    token: str,
    plan: str | None,
    index: int,
    received: list[tuple[int, str, float]],
    ready: asyncio.Event,
) -> None:
    async with websockets.connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        max_queue=None,
        open_timeout=60,
    ) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        ack = json.loads(await ws.recv())
        if ack.get("type") != "connection_ack":
            raise SystemExit(f"subscriber refused: {ack}")
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"p": plan}},
                }
            )
        )
        ready.set()
        # No per-socket timers: thousands of them would load the driver, not the gateway.
        # The driver cancels this task when it is done.
        async for raw in ws:
            now = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes
            event = json.loads(raw)
            if event.get("type") != "next" or not event["payload"].get("data"):
                continue
            received.append((index, event["payload"]["data"]["messageAdded"]["body"], now))


async def _drive(pipe: Connection, subs: list[dict[str, Any]]) -> None:
    received: list[tuple[int, str, float]] = []
    readies = [asyncio.Event() for _ in subs]
    tasks = []
    for n, (sub, ready) in enumerate(zip(subs, readies, strict=True)):
        tasks.append(
            asyncio.create_task(
                subscriber(sub["url"], sub["token"], sub["watch"], sub["index"], received, ready)
            )
        )
        if n % 50 == 49:
            # Not thousands of handshakes in one burst: wait for this batch to subscribe.
            await asyncio.wait_for(
                asyncio.gather(*(r.wait() for r in readies[n - 49 : n + 1])), timeout=60
            )
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=180)
    pipe.send("ready")
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, pipe.recv)  # "stop"
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    pipe.send(received)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _driver(pipe: Connection, subs: list[dict[str, Any]]) -> None:
    asyncio.run(_drive(pipe, subs))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    state = json.loads(Path(args.state).read_text())
    await refresh_sessions(args.database_url)
    subs = state["subscribers"]
    if args.plans:
        chosen = list(dict.fromkeys(s["plan"] for s in subs))[: args.plans]
        subs = [s for s in subs if s["plan"] in chosen]
    subs = subs[: args.subscribers]
    if len(subs) < args.subscribers and not args.plans:
        raise SystemExit(f"the seed has {len(subs)} subscribers: seed with --subscribers more")
    subs = [s for s in subs for _ in range(args.devices)]
    env = {**os.environ, "DATABASE_URL": args.database_url}
    logs = Path(args.logs)
    logs.mkdir(exist_ok=True)
    ports = [free_port() for _ in range(args.processes)]
    procs = [
        start(
            [sys.executable, "-m", "gateway", "serve", "--port", str(p)],
            env,
            logs / f"fanout-gateway-{i}.log",
        )
        for i, p in enumerate(ports)
    ]
    every_null = round(1 / args.null_share) if args.null_share > 0 else 0
    plan_of: list[str] = []
    specs: list[dict[str, Any]] = []
    for i, sub in enumerate(subs):
        null = every_null > 0 and i % every_null == every_null - 1
        plan_of.append(sub["plan"])
        specs.append(
            {
                "url": f"ws://127.0.0.1:{ports[i % len(ports)]}/graphql",
                "token": sub["token"],
                "watch": None if null else sub["plan"],
                "index": i,
            }
        )
    subscribers_of: dict[str, list[int]] = defaultdict(list)
    for i, plan in enumerate(plan_of):
        subscribers_of[plan].append(i)
    drivers = args.drivers or max(1, math.ceil(len(specs) / 8000))
    spawn = multiprocessing.get_context("spawn")
    pipes: list[Connection] = []
    children = []
    sent_at: dict[str, float] = {}
    post_times: list[float] = []
    expected: dict[str, str] = {}  # body -> plan
    try:
        for p in ports:
            await wait_ready(f"http://127.0.0.1:{p}/health")
        for d in range(drivers):
            mine, theirs = spawn.Pipe()
            child = spawn.Process(target=_driver, args=(theirs, specs[d::drivers]), daemon=True)
            child.start()
            pipes.append(mine)
            children.append(child)
        loop = asyncio.get_running_loop()
        for pipe in pipes:
            if await loop.run_in_executor(None, pipe.recv) != "ready":
                raise SystemExit("a driver failed")
        await asyncio.sleep(3)  # subscribe has no acknowledgement: let every one register
        plans = list(subscribers_of)
        coordinators = state["all_coordinator_tokens"]
        rng = random.Random(1)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(args.messages):
            queue.put_nowait(n)

        async def writer(w: int) -> None:
            async with httpx.AsyncClient(timeout=30) as http:
                while not queue.empty():
                    n = queue.get_nowait()
                    plan = rng.choice(plans)
                    token = coordinators[state["coordinator_of_plan"][plan]]
                    body = f"bench-{n}"
                    expected[body] = plan
                    sent_at[body] = time.perf_counter()
                    url = f"http://127.0.0.1:{ports[w % len(ports)]}/graphql"
                    response = await http.post(
                        url,
                        json={"query": POST, "variables": {"p": plan, "b": body}},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    post_times.append(time.perf_counter() - sent_at[body])
                    if b'"errors"' in response.content:
                        raise SystemExit(f"post failed: {response.text}")
                    await asyncio.sleep(1 / args.rate)

        cpu_before = sum(cpu_seconds(p.pid) for p in procs)
        started = time.perf_counter()
        await asyncio.gather(*(writer(w) for w in range(args.writers)))
        posting = time.perf_counter() - started
        await asyncio.sleep(10)  # the last deliveries
        gateway_cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu_before
        received: list[tuple[int, str, float]] = []
        for pipe in pipes:
            pipe.send("stop")
        for pipe in pipes:
            received += await loop.run_in_executor(None, pipe.recv)
    finally:
        for child in children:
            child.join(timeout=30)
        stop(procs)
    wanted = {(i, body) for body, plan in expected.items() for i in subscribers_of[plan]}
    seen: dict[tuple[int, str], int] = defaultdict(int)
    latencies = []
    extra = 0
    for index, body, at in received:
        if body not in expected:
            continue
        seen[index, body] += 1
        if (index, body) in wanted:
            if seen[index, body] == 1:
                latencies.append(at - sent_at[body])
        elif seen[index, body] == 1:
            extra += 1  # a planId: null subscriber's other plan
    lat = sorted(latencies)
    result = {
        "processes": args.processes,
        "drivers": drivers,
        "subscribers": len(subs),
        "null_subscribers": sum(1 for s in specs if s["watch"] is None),
        "messages": len(expected),
        "posts_per_s": round(len(expected) / posting, 1),
        "deliveries_expected": len(wanted),
        "delivered": sum(1 for key in wanted if seen.get(key)),
        "lost": sum(1 for key in wanted if not seen.get(key)),
        "duplicates": sum(n - 1 for n in seen.values() if n > 1),
        "extra_deliveries": extra,
        "p50_ms": round(1000 * lat[len(lat) // 2], 1) if lat else None,
        "p99_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1) if lat else None,
        "post_p50_ms": round(1000 * sorted(post_times)[len(post_times) // 2], 1),
        "post_p99_ms": round(1000 * sorted(post_times)[int(len(post_times) * 0.99)], 1),
        "gateway_cpu_s": round(gateway_cpu, 2),
        "gateway_cpu_ms_per_delivery": round(1000 * gateway_cpu / max(1, len(received)), 3),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=10.0, help="posts per second per writer")
    parser.add_argument("--state", default=str(STATE), help="the seed's state file")
    parser.add_argument("--null-share", type=float, default=0.2, help="planId: null share")
    parser.add_argument("--drivers", type=int, default=0, help="socket-opening processes")
    parser.add_argument("--plans", type=int, default=0, help="only the first P plans' subscribers")
    parser.add_argument("--devices", type=int, default=1, help="sockets per subscriber")
    parser.add_argument("--logs", default="bench/logs")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
