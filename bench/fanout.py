"""Fan-out: S WebSocket subscribers spread over the plans, a writer posting messages; prints
post→delivery p50 and p99 and counts lost messages, with 1 or 2 gateway processes.

    python -m bench.fanout --database-url postgresql://… [--subscribers 2000] [--processes 2]
        [--messages 300] [--writers 4]

Run `python -m bench.seed` first (it makes the subscribers' sessions).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
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
    plan: str,
    sent_at: dict[str, float],
    latencies: list[float],
    received: Counter[str],
    ready: asyncio.Event,
    done: asyncio.Event,
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
        # No per-socket timers: 2,000 of them would load the driver, not the gateway. The
        # driver cancels this task when it is done.
        async for raw in ws:
            now = time.perf_counter()
            event = json.loads(raw)
            if event.get("type") != "next" or not event["payload"].get("data"):
                continue
            body = event["payload"]["data"]["messageAdded"]["body"]
            if body in sent_at:
                latencies.append(now - sent_at[body])
                received[body] += 1


async def run(args: argparse.Namespace) -> dict[str, Any]:
    state = json.loads(STATE.read_text())
    await refresh_sessions(args.database_url)
    subs = state["subscribers"][: args.subscribers]
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
    sent_at: dict[str, float] = {}
    post_times: list[float] = []
    latencies: list[float] = []
    received: Counter[str] = Counter()
    done = asyncio.Event()
    try:
        for p in ports:
            await wait_ready(f"http://127.0.0.1:{p}/health")
        readies = [asyncio.Event() for _ in subs]
        listeners_of: dict[str, int] = defaultdict(int)
        tasks = []
        for i, (sub, ready) in enumerate(zip(subs, readies, strict=True)):
            url = f"ws://127.0.0.1:{ports[i % len(ports)]}/graphql"
            listeners_of[sub["plan"]] += 1
            tasks.append(
                asyncio.create_task(
                    subscriber(
                        url, sub["token"], sub["plan"], sent_at, latencies, received, ready, done
                    )
                )
            )
            if i % 50 == 49:
                # Not 2,000 handshakes in one burst: wait for this batch to subscribe.
                await asyncio.wait_for(
                    asyncio.gather(*(r.wait() for r in readies[i - 49 : i + 1])), timeout=60
                )
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=120)
        await asyncio.sleep(3)  # subscribe has no acknowledgement: let every one register
        plans = list(listeners_of)
        coordinators = state["all_coordinator_tokens"]
        rng = random.Random(1)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(args.messages):
            queue.put_nowait(n)
        expected: dict[str, int] = {}

        async def writer(w: int) -> None:
            async with httpx.AsyncClient(timeout=30) as http:
                while not queue.empty():
                    n = queue.get_nowait()
                    plan = rng.choice(plans)
                    token = coordinators[state["coordinator_of_plan"][plan]]
                    body = f"bench-{n}"
                    expected[body] = listeners_of[plan]
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

        started = time.perf_counter()
        await asyncio.gather(*(writer(w) for w in range(args.writers)))
        posting = time.perf_counter() - started
        deadline = time.monotonic() + 10
        while sum(received.values()) < sum(expected.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        done.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        stop(procs)
    lat = sorted(latencies)
    want = sum(expected.values())
    got = sum(min(received[b], n) for b, n in expected.items())
    result = {
        "processes": args.processes,
        "subscribers": len(subs),
        "messages": len(expected),
        "posts_per_s": round(len(expected) / posting, 1),
        "deliveries_expected": want,
        "delivered": got,
        "lost": want - got,
        "duplicates": sum(max(0, received[b] - n) for b, n in expected.items()),
        "p50_ms": round(1000 * lat[len(lat) // 2], 1) if lat else None,
        "p99_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1) if lat else None,
        "post_p50_ms": round(1000 * sorted(post_times)[len(post_times) // 2], 1),
        "post_p99_ms": round(1000 * sorted(post_times)[int(len(post_times) * 0.99)], 1),
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
    parser.add_argument("--logs", default="bench/logs")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
