"""Issue 17's reads at two scales, under the load tool of bench.compare, with EXPLAIN evidence.

    python -m bench.living --small-url postgresql://…/plangruppe_bench1
        --small-state bench/.seed1.json --large-url postgresql://…/plangruppe_bench100
        --large-state bench/.seed100.json
        [--gateway-dir TREE] [--rounds 3] [--seconds 8] [--clients 8] [--reads history,…]
        [--max-load 1] [--max-wait 60] [--no-explain] [--explain-only]

Both databases are seeded by bench.seed and then bench.seed_living (its admin session is in
the state file). It starts one `plangruppe serve` per database from the same source tree (as
bench.compare starts the gateway: one process, PLANGRUPPE_EXPOSE_SQL_COUNT=1), checks every
request once (2xx, no GraphQL errors, what it found), waits for the start-up jobs to settle,
and then, for each round and each read, runs autocannon (bench/peer/cannon.js) against the
two gateways in a rotating order: C connections for T seconds after a one-second warm-up,
each connection looping over the read's requests. It prints the medians per read, the cost
ratio (requests/s at the small scale / at the large scale: the cost of one request at the
large scale relative to the small one; above 1.5 is marked), and the CPU shares as
bench.compare does.

With EXPLAIN (the default) it then captures, in a separate process that runs the same tree's
app in-process, every statement the gateway sends for each read on the large database (the
second of two requests, so caches are warm), and shows EXPLAIN (ANALYZE, BUFFERS) of each
read-only one: the custom plan in full and the generic plan's indexes (prepared statements
may switch to it). Statements that every request sends (the session look-up) are listed once.

Reads (viewer in brackets):
  history          Plan.history(first: 20)                    [the plan's coordinator]
  revisions        Plan.revisions                             [the plan's coordinator]
  proposal         Plan.consentProposal (an open one)         [the plan's coordinator]
  linked           Plan.linkedPlans (IPs and plans under one) [their coordinator]
  serves           goals { serves } of a linked lower plan    [its coordinator]
  revision-due     plans(filter: {revisionDue: true})         [five coordinators in turn]
  messages         messages(first: 20) with editedAt, withdrawnAt  [the plan's coordinator]
  overview         planOverview(first: 50), no filter         [SYSTEM_ADMIN]
  overview-revision / -consent / -coordinator / -inactive: planOverview with revisionOverdue,
                   consentExpired, noActiveCoordinator, inactiveForDays: 180  [SYSTEM_ADMIN]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.compare import (
    CHECKOUT,
    RESULTS,
    _f,
    _gql,
    cannon,
    install,
    installed,
    median,
    postmaster_pid,
    rotate,
    tree_commit,
    wait_for_quiet,
)
from bench.load import free_port, stop, wait_ready
from bench.seed import refresh_sessions

HISTORY = """query($id: ID!) { plan(id: $id) { id history(first: 20) {
  edges { at action object objectId fields actor } pageInfo { hasNextPage endCursor } } } }"""
REVISIONS = """query($id: ID!) { plan(id: $id) { id
  revisions { id revisedOn nextRevisionDate participantIds note recordedAt } } }"""
PROPOSAL = """query($id: ID!) { plan(id: $id) { id consentProposal { id givenById
  givenByRelation expiresOn scope proposedAt defaultGrant { participants goals messages } } } }"""
LINKED = """query($id: ID!) { plan(id: $id) { id
  linkedPlans { relation linkedAt plan { id shortName type status } } } }"""
SERVES = """query($id: ID!) { plan(id: $id) { id goals { id title serves { id title } } } }"""
REVISION_DUE = """{ plans(filter: {revisionDue: true}, first: 50) { totalCount
  edges { node { id shortName type status revisionDate } } } }"""
MESSAGES = """query($id: ID!) { plan(id: $id) { id messages(first: 20) { edges { node {
  id body createdAt editedAt withdrawnAt author { person { firstName } } } } } } }"""
OVERVIEW = """query($f: PlanOverviewFilter) { planOverview(filter: $f, first: 50) {
  edges { node { id shortName type status ownerName coordinatorName hasActiveCoordinator
    consentExpiresOn consentRevoked revisionDate lastActivity takingPart } cursor }
  pageInfo { hasNextPage endCursor } } }"""
BASELINE = "{ me { id } }"  # its statements are every request's, not a read's

OVERVIEW_FILTERS = {
    "overview": None,
    "overview-revision": {"revisionOverdue": True},
    "overview-consent": {"consentExpired": True},
    "overview-coordinator": {"noActiveCoordinator": True},
    "overview-inactive": {"inactiveForDays": 180},
}
READS = (
    "history",
    "revisions",
    "proposal",
    "linked",
    "serves",
    "revision-due",
    "messages",
    *OVERVIEW_FILTERS,
)
PLAN_LINES = 40  # of each plan on the console; the JSON keeps all
LIMIT = 1.5  # issue 17: within 1.5x of the small scale's cost per request

# The plans a coordinator may read in full: active, under a valid consent.
_MINE = """
SELECT p.id FROM plans p
JOIN participants k ON k.plan_id = p.id AND k.role = 'COORDINATOR' AND k.left_on IS NULL
JOIN consents c ON c.id = p.consent_id
WHERE k.person_id = $1 AND p.status = 'ACTIVE' AND c.revoked_on IS NULL
  AND c.expires_on >= current_date {extra}
ORDER BY p.created_at, p.id LIMIT 3"""
_WANTS = {
    "history": "",
    "revisions": "",
    "proposal": "AND EXISTS (SELECT 1 FROM consent_proposals cp WHERE cp.plan_id = p.id"
    " AND cp.closed_at IS NULL)",
    "linked": "AND EXISTS (SELECT 1 FROM plan_links l WHERE l.upper_plan_id = p.id"
    " OR l.lower_plan_id = p.id)",
    "serves": "AND EXISTS (SELECT 1 FROM goals g WHERE g.plan_id = p.id"
    " AND g.serves_goal_id IS NOT NULL)",
    # a page of 20 that shows an edited or withdrawn message
    "messages": "AND EXISTS (SELECT 1 FROM (SELECT m.change_seq FROM messages m"
    " WHERE m.plan_id = p.id ORDER BY m.created_at DESC, m.seq DESC LIMIT 20) x"
    " WHERE x.change_seq IS NOT NULL)",
}
_QUERY = {
    "history": HISTORY,
    "revisions": REVISIONS,
    "proposal": PROPOSAL,
    "linked": LINKED,
    "serves": SERVES,
    "messages": MESSAGES,
}


@dataclass
class Side:
    """One database: its scale, its gateway, the requests of each read."""

    name: str  # "small" or "large"
    dsn: str
    state: dict[str, Any]
    requests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    targets: dict[str, Any] = field(default_factory=dict)
    url: str = ""
    proc: subprocess.Popen[bytes] | None = None
    postmaster: int = 0

    @property
    def scale(self) -> str:
        return f"{self.state.get('scale', '?'):g}"


async def _persons(conn: asyncpg.Connection, tokens: list[str]) -> list[Any]:
    rows = await conn.fetch(
        "SELECT s.token_hash, a.person_id FROM sessions s JOIN accounts a ON a.id = s.account_id"
        " WHERE s.token_hash = ANY($1::bytea[])",
        [hashlib.sha256(t.encode()).digest() for t in tokens],
    )
    by = {bytes(r["token_hash"]): r["person_id"] for r in rows}
    return [by[hashlib.sha256(t.encode()).digest()] for t in tokens]


async def plan_requests(side: Side) -> None:
    """The requests of every read on this database: for the per-plan reads, up to three plans
    of the first of the five driver coordinators who has such plans."""
    coord: list[str] = side.state["coordinator_tokens"]
    admin = side.state["living"]["admin_token"]
    conn = await asyncpg.connect(side.dsn)
    try:
        persons = await _persons(conn, coord)
        for read, extra in _WANTS.items():
            chosen: tuple[int, list[str]] | None = None
            for i, person in enumerate(persons):
                rows = await conn.fetch(_MINE.format(extra=extra), person)
                if rows:
                    chosen = (i, [str(r["id"]) for r in rows])
                    break
            if chosen is None:
                raise SystemExit(f"{side.name}: no plan for {read} among the five coordinators")
            i, plans = chosen
            side.targets[read] = {"coordinator": i, "plans": plans}
            side.requests[read] = [_gql(_QUERY[read], coord[i], {"id": p}) for p in plans]
    finally:
        await conn.close()
    side.requests["revision-due"] = [_gql(REVISION_DUE, t) for t in coord]
    for read, flt in OVERVIEW_FILTERS.items():
        side.requests[read] = [_gql(OVERVIEW, admin, {"f": flt})]


def found(read: str, data: dict[str, Any]) -> str:
    """What one answer holds, to see that the read reads something."""
    if read.startswith("overview"):
        page = data["planOverview"]
        return f"{len(page['edges'])} headers, more: {page['pageInfo']['hasNextPage']}"
    if read == "revision-due":
        return f"{data['plans']['totalCount']} plans due"
    plan = data["plan"]
    if read == "history":
        return f"{len(plan['history']['edges'])} entries"
    if read == "revisions":
        return f"{len(plan['revisions'])} revisions"
    if read == "proposal":
        return "an open proposal" if plan["consentProposal"] else "no proposal"
    if read == "linked":
        return f"{len(plan['linkedPlans'])} linked plans"
    if read == "serves":
        return f"{sum(g['serves'] is not None for g in plan['goals'])} goals serving an IP goal"
    nodes = [e["node"] for e in plan["messages"]["edges"]]
    edited = sum(n["editedAt"] is not None for n in nodes)
    withdrawn = sum(n["withdrawnAt"] is not None for n in nodes)
    return f"{len(nodes)} messages, {edited} edited, {withdrawn} withdrawn"


async def check(side: Side, reads: list[str]) -> dict[str, dict[str, Any]]:
    """Each request once: 2xx without errors; what it found and its SQL statements."""
    out: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(base_url=side.url, timeout=60) as client:
        for read in reads:
            seen, statements = [], set()
            for req in side.requests[read]:
                r = await client.post(req["path"], content=req["body"], headers=req["headers"])
                body = r.json()
                if r.status_code != 200 or body.get("errors"):
                    raise SystemExit(f"{side.name} {read}: {r.status_code} {r.text[:500]}")
                seen.append(found(read, body["data"]))
                statements.add(r.headers.get("x-sql-statements"))
            out[read] = {"found": seen, "sql": sorted(s for s in statements if s)}
    return out


def start_gateway(side: Side, tree: Path, logs: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": side.dsn,
        "PLANGRUPPE_EXPOSE_SQL_COUNT": "1",
        "PYTHONPATH": str(tree),
    }
    env.pop("SMTP_HOST", None)
    out = (logs / f"living-{side.name}.log").open("wb")
    side.proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port), "--workers", "1"],
        cwd=tree,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    side.url = f"http://127.0.0.1:{port}"


@dataclass
class Run:
    round: int
    read: str
    side: str
    order: int
    load_before: float
    waited_s: float
    quiet: bool
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    ok: int
    bad: int
    autocannon_cpu: float
    server_cpu: float
    postgres_cpu: float
    machine_busy: float
    others_cpu: float
    sql_statements: int | None
    samples: list[str] = field(default_factory=list)


def measure(
    args: argparse.Namespace, sides: list[Side], reads: list[str], workdir: Path
) -> list[Run]:
    runs: list[Run] = []
    step = 0
    total = args.rounds * len(reads) * len(sides)
    for rnd in range(args.rounds):
        for ri, read in enumerate(reads):
            for pos, side in enumerate(rotate(sides, rnd + ri)):  # type: ignore[arg-type]
                step += 1
                load, waited, quiet = wait_for_quiet(args.max_load, args.max_wait)
                assert side.proc is not None
                res = cannon(
                    side.url,
                    side.requests[read],
                    args.clients,
                    args.seconds,
                    side.proc.pid,
                    side.postmaster,
                    workdir,
                )
                r = Run(
                    round=rnd + 1,
                    read=read,
                    side=side.name,
                    order=pos + 1,
                    load_before=round(load, 2),
                    waited_s=round(waited, 1),
                    quiet=quiet,
                    rps=res["rps"],
                    p50_ms=res["p50"],
                    p99_ms=res["p99"],
                    ok=res["ok"],
                    bad=res["non2xx"] + res["graphqlErrors"] + res["socketErrors"],
                    autocannon_cpu=res["cpuShare"],
                    server_cpu=res["serverCpu"],
                    postgres_cpu=res["postgresCpu"],
                    machine_busy=res["machineBusy"],
                    others_cpu=max(
                        0.0,
                        res["machineBusy"] * (os.cpu_count() or 1)
                        - res["serverCpu"]
                        - res["postgresCpu"]
                        - res["cpuShare"],
                    ),
                    sql_statements=res["sqlStatements"],
                    samples=res["samples"],
                )
                runs.append(r)
                print(
                    f"[{step}/{total}] round {r.round} {read:<21} scale {side.scale:>5}"
                    f" {r.rps:8.1f} req/s  p50 {_f(r.p50_ms)}  p99 {_f(r.p99_ms)} ms"
                    f"  bad {r.bad}  autocannon {100 * r.autocannon_cpu:.0f} %"
                    f"  other {100 * r.others_cpu:.0f} %  (load before {load:.2f})",
                    flush=True,
                )
                for sample in r.samples:
                    print(f"      bad response: {sample[:200]}", flush=True)
    return runs


def summarise(runs: list[Run], sides: list[Side], reads: list[str]) -> list[dict[str, Any]]:
    rows = []
    for read in reads:
        cells = {}
        for side in sides:
            rs = [r for r in runs if r.read == read and r.side == side.name]
            cells[side.name] = {
                "rps": median([r.rps for r in rs]),
                "p50_ms": median([r.p50_ms for r in rs]),
                "p99_ms": median([r.p99_ms for r in rs]),
                "rps_each": [round(r.rps, 1) for r in rs],
                "ok": sum(r.ok for r in rs),
                "bad": sum(r.bad for r in rs),
                "sql": median([r.sql_statements for r in rs]),
                "server_cpu": median([r.server_cpu for r in rs]),
                "postgres_cpu": median([r.postgres_cpu for r in rs]),
                "autocannon_cpu": median([r.autocannon_cpu for r in rs]),
                "others_cpu": median([r.others_cpu for r in rs]),
                "not_quiet": sum(not r.quiet for r in rs),
            }
        small, large = cells["small"]["rps"], cells["large"]["rps"]
        ratio = small / large if small and large else None
        rows.append({"read": read, "cells": cells, "cost_ratio": ratio})
    return rows


def render(rows: list[dict[str, Any]], sides: list[Side]) -> str:
    s, lg = sides[0].scale, sides[1].scale
    lines = [
        f"| read | SQL / request | scale {s} req/s | scale {lg} req/s"
        f" | cost at {lg} / cost at {s} | each round, scale {s} | each round, scale {lg}"
        f" | p50 ms ({s} / {lg}) | server CPU | PostgreSQL CPU | autocannon CPU | other CPU"
        " | bad responses |",
        "|---|---:|---:|---:|---:|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        a, b = row["cells"]["small"], row["cells"]["large"]
        ratio = row["cost_ratio"]
        mark = f"**{_f(ratio, 2)}**" + (" ⚠" if ratio is not None and ratio > LIMIT else "")
        lines.append(
            f"| {row['read']} | {_f(a['sql'], 0)} / {_f(b['sql'], 0)} | {_f(a['rps'])}"
            f" | {_f(b['rps'])} | {mark}"
            f" | {' / '.join(_f(x) for x in a['rps_each'])}"
            f" | {' / '.join(_f(x) for x in b['rps_each'])}"
            f" | {_f(a['p50_ms'])} / {_f(b['p50_ms'])}"
            f" | {_f(100 * a['server_cpu'], 0)} / {_f(100 * b['server_cpu'], 0)} %"
            f" | {_f(100 * a['postgres_cpu'], 0)} / {_f(100 * b['postgres_cpu'], 0)} %"
            f" | {_f(100 * a['autocannon_cpu'], 0)} / {_f(100 * b['autocannon_cpu'], 0)} %"
            f" | {_f(100 * a['others_cpu'], 0)} / {_f(100 * b['others_cpu'], 0)} %"
            f" | {a['bad'] + b['bad']} of {a['ok'] + a['bad'] + b['ok'] + b['bad']} |"
        )
    return "\n".join(lines)


# --- EXPLAIN: the statements behind each read, captured from the app in-process -------------

# Run by `python -c` with PYTHONPATH=<tree>, so that db/, gateway/ and resolvers/ are the
# tree's (bench/ is not imported there). Reads a JSON spec on stdin, writes JSON to the
# spec's `out`.
CAPTURE = r"""
import asyncio, json, re, sys, time
import asyncpg, httpx
import db.pool
from gateway.app import create_app
from gateway.settings import Settings

captured = []
_original = db.pool._log_query


def _log(record):
    captured.append((record.query, record.args))
    _original(record)


db.pool._log_query = _log  # connections opened after this line log through it
INDEX = re.compile(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)?"
                   r" (?:using|on) (\S+)")
SEQ = re.compile(r"Seq Scan on (\S+)")
MONTH = re.compile(r"_(\d{4}_\d{2}|default)(?=_|$)")


def names(found):
    # distinct names, a log's monthly partitions as one: audit_log_*_coalesce_id_idx x50
    counts = {}
    for name in found:
        key = MONTH.sub("_*", name)
        counts.setdefault(key, set()).add(name)
    return [k if len(v) == 1 else f"{k} x{len(v)}" for k, v in sorted(counts.items())]


READ_ONLY = re.compile(r"^\s*(SELECT|WITH)\b", re.I)
WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE)\b", re.I)


async def explain(conn, query, args, generic):
    tr = conn.transaction()
    await tr.start()
    try:
        if generic:
            await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + query, *args)
    finally:
        await tr.rollback()
    text = "\n".join(r[0] for r in rows)
    ms = re.search(r"Execution Time: ([0-9.]+) ms", text)
    return {
        "plan": text,
        "ms": float(ms.group(1)) if ms else None,
        "indexes": names(INDEX.findall(text)),
        "seq_scans": names(SEQ.findall(text)),
    }


async def main():
    spec = json.load(sys.stdin)
    settings = Settings.from_env({"DATABASE_URL": spec["dsn"]})
    app = create_app(settings, run_workers=False)
    out = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            async def statements(req):
                for _ in range(2):  # the second, with the caches of the first
                    captured.clear()
                    r = await client.post(req["path"], content=req["body"],
                                          headers=req["headers"])
                    for _ in range(3):
                        await asyncio.sleep(0)  # asyncpg logs via call_soon
                if r.status_code != 200 or r.json().get("errors"):
                    raise SystemExit(f"{r.status_code} {r.text[:300]}")
                return list(captured)

            base = {q for q, _ in await statements(spec["baseline"])}
            reads = {name: await statements(req) for name, req in spec["reads"].items()}
    conn = await asyncpg.connect(spec["dsn"])
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads,
                              schema="pg_catalog")
    try:
        for name, stmts in reads.items():
            entries = []
            for query, qargs in stmts:
                entry = {"sql": query, "every_request": query in base}
                if READ_ONLY.match(query) and not WRITES.search(query) and not entry[
                        "every_request"]:
                    entry["custom"] = await explain(conn, query, qargs, False)
                    entry["generic"] = await explain(conn, query, qargs, True)
                entries.append(entry)
            out[name] = entries
    finally:
        await conn.close()
    with open(spec["out"], "w") as f:
        json.dump(out, f)


asyncio.run(main())
"""


def capture(side: Side, tree: Path, reads: list[str]) -> dict[str, Any]:
    admin = side.state["living"]["admin_token"]
    spec = {
        "dsn": side.dsn,
        "baseline": _gql(BASELINE, admin),
        "reads": {read: side.requests[read][0] for read in reads},
    }
    handle, name = tempfile.mkstemp(suffix=".json")
    os.close(handle)
    spec["out"] = name
    env = {**os.environ, "PYTHONPATH": str(tree), "PLANGRUPPE_LOG_LEVEL": "WARNING"}
    env.pop("SMTP_HOST", None)
    done = subprocess.run(
        [sys.executable, "-c", CAPTURE],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=tree,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"EXPLAIN capture failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(Path(name).read_text())
    Path(name).unlink()
    return result


def _short(sql: str, width: int = 110) -> str:
    flat = re.sub(r"\s+", " ", sql).strip()
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def render_explain(explained: dict[str, Any], scale: str) -> str:
    lines = [f"EXPLAIN (ANALYZE, BUFFERS) at scale {scale}, per read:"]
    every = {e["sql"] for entries in explained.values() for e in entries if e["every_request"]}
    lines.append(
        f"  (sent by every request, not shown below: {len(every)} statement(s): "
        + "; ".join(_short(s, 70) for s in sorted(every))
        + ")"
    )
    for read, entries in explained.items():
        lines.append(f"\n== {read}: {len(entries)} statements")
        for e in entries:
            if e["every_request"]:
                continue
            if "custom" not in e:
                lines.append(f"  - (write, not explained) {_short(e['sql'])}")
                continue
            c, g = e["custom"], e["generic"]
            lines.append(
                f"  - {_short(e['sql'])}\n"
                f"    custom plan {c['ms']} ms, indexes {', '.join(c['indexes']) or '–'},"
                f" seq scans {', '.join(c['seq_scans']) or '–'};"
                f" generic plan {g['ms']} ms, indexes {', '.join(g['indexes']) or '–'},"
                f" seq scans {', '.join(g['seq_scans']) or '–'}"
            )
            plan = c["plan"].splitlines()
            shown = plan if len(plan) <= PLAN_LINES else plan[:PLAN_LINES]
            lines.extend("      " + line for line in shown)
            if len(plan) > len(shown):
                lines.append(f"      … {len(plan) - len(shown)} more lines (the JSON has all)")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    reads = [r.strip() for r in args.reads.split(",") if r.strip()]
    if unknown := [r for r in reads if r not in READS]:
        raise SystemExit(f"unknown reads: {', '.join(unknown)} (known: {', '.join(READS)})")
    tree = Path(args.gateway_dir).resolve()
    sides = [
        Side("small", args.small_url, json.loads(Path(args.small_state).read_text())),
        Side("large", args.large_url, json.loads(Path(args.large_state).read_text())),
    ]
    for side in sides:
        if "living" not in side.state:
            raise SystemExit(f"{side.name}: run bench.seed_living on it first (no 'living' key)")
        await refresh_sessions(side.dsn)
        await plan_requests(side)
        side.postmaster = await postmaster_pid(side.dsn)
    print(
        "targets: "
        + "; ".join(
            f"scale {s.scale}: "
            + ", ".join(
                f"{k} coordinator {v['coordinator']} ({len(v['plans'])} plans)"
                for k, v in s.targets.items()
            )
            for s in sides
        ),
        flush=True,
    )
    record: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "args": {k: v for k, v in vars(args).items() if not k.endswith("_url")},
        "tree": tree_commit(str(tree)),
        "scales": {s.name: s.state.get("scale") for s in sides},
        "targets": {s.name: s.targets for s in sides},
    }
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    if not args.explain_only:
        if not installed():
            install()
        for side in sides:
            start_gateway(side, tree, logs)
        try:
            for side in sides:
                await wait_ready(side.url + "/health")
            checks = {}
            for side in sides:
                checks[side.name] = await check(side, reads)
                for read, c in checks[side.name].items():
                    print(
                        f"  scale {side.scale:>5} {read:<21} SQL {','.join(c['sql'])}:"
                        f" {' | '.join(c['found'])}",
                        flush=True,
                    )
            record["check"] = checks
            # the start-up jobs (archive routine, reminders) run once at start: let them end
            wait_for_quiet(args.max_load, max(args.max_wait, 30))
            with tempfile.TemporaryDirectory() as tmp:
                runs = measure(args, sides, reads, Path(tmp))
        finally:
            stop([s.proc for s in sides if s.proc is not None])
        rows = summarise(runs, sides, reads)
        print(f"\nmedians of {args.rounds} rounds, {args.clients} connections × {args.seconds} s:")
        print(render(rows, sides))
        over = [r["read"] for r in rows if r["cost_ratio"] and r["cost_ratio"] > LIMIT]
        print(
            f"\nabove {LIMIT}x: {', '.join(over) if over else 'none'}"
            f"; {sum(not r.quiet for r in runs)} of {len(runs)} runs started with the load"
            f" average ≥ {args.max_load}"
        )
        record |= {"medians": rows, "runs": [r.__dict__ for r in runs]}
    if args.explain:
        explained = capture(sides[1], tree, reads)
        print()
        print(render_explain(explained, sides[1].scale))
        record["explain"] = explained
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"living-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(record, indent=2, default=str))
    print(f"\nwritten: {out.relative_to(CHECKOUT) if out.is_relative_to(CHECKOUT) else out}")
    return 0


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-url", required=True, help="the small scale's database")
    parser.add_argument("--small-state", required=True, help="its bench.seed state file")
    parser.add_argument("--large-url", required=True, help="the large scale's database")
    parser.add_argument("--large-state", required=True, help="its bench.seed state file")
    parser.add_argument("--gateway-dir", default=str(CHECKOUT), help="the gateway's source tree")
    parser.add_argument("--reads", default=",".join(READS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=8, help="autocannon connections")
    parser.add_argument("--max-load", type=float, default=1.0)
    parser.add_argument("--max-wait", type=float, default=60, help="seconds, per run")
    parser.add_argument("--no-explain", dest="explain", action="store_false")
    parser.add_argument("--explain-only", action="store_true", help="no load, only EXPLAIN")
    parser.add_argument("--logs", default="bench/logs")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
