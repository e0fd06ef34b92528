"""Side by side: the gateway, PostGraphile (the peer) and the floor, under one load tool.

    python -m bench.compare [--rounds 3] [--seconds 10] [--clients 8] [--shapes Q1,Q2,Q3,Q4]
        [--systems gateway,floor,peer,peer-norules] [--database-url …] [--state PATH]
    python -m bench.compare --install        # npm ci in bench/peer, nothing else
    python -m bench.compare --show bench/results/compare-….json   # a stored run's table

On a database seeded by bench.seed it starts the gateway (`plangruppe serve`, as bench.load
does), the floor (bench/floor.py) and PostGraphile v4 (bench/peer/server.js: variant b, with
row-level security, as `peer`; variant a, no rules, as `peer-norules`), applies
bench/peer/pgl_setup.sql when the database does not have this version of it yet, and runs
bench.agree's row check. It refuses to measure when the floor and the gateway disagree; the
peer's mismatched rows are printed and the run goes on (the peer's rules are simpler: see
bench/README.md). Then, for each round, each shape, and each system in a rotating order, it
waits until the 1-minute load average is below --max-load (at most --max-wait seconds, then
it says so and goes on), and runs autocannon (bench/peer/cannon.js, the same for every
system) with C connections for T seconds after a one-second warm-up. A response counts only
if it is 2xx without GraphQL `errors`; the others are counted and reported. It prints the
medians over the rounds, the ratios gateway/peer and gateway/floor, the CPU share of
autocannon, of the server under load and of the whole machine, and writes the run as JSON to
bench/results/.

Q1 and Q2 run on every system; Q3 (search) and Q4 (reports) on the gateway only: the floor
and the peer have no such shape. `gateway-ref` (with --ref-dir) is the gateway served from
another source tree, e.g. `git archive HEAD | tar -x -C /tmp/ref`, for "no slower than".
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import psutil  # type: ignore[import-untyped]

from bench import agree
from bench.load import Q1, Q2, Q3, Q4, SEARCH, free_port, start, stop, wait_ready
from bench.seed import STATE, q2_plans, refresh_sessions

BENCH = Path(__file__).resolve().parent
CHECKOUT = BENCH.parent
PEER = BENCH / "peer"
RESULTS = BENCH / "results"
SYSTEMS = ("gateway", "floor", "peer", "peer-norules", "gateway-ref")
SHAPES = ("Q1", "Q2", "Q3", "Q4")
# The systems that can answer a shape: the floor and the peer have Q1 and Q2 only.
ANSWERS = {
    "Q1": SYSTEMS,
    "Q2": SYSTEMS,
    "Q3": ("gateway", "gateway-ref"),
    "Q4": ("gateway", "gateway-ref"),
}
LABEL = {
    "gateway": "gateway",
    "gateway-ref": "gateway (ref tree)",
    "floor": "floor",
    "peer": "PostGraphile + RLS",
    "peer-norules": "PostGraphile, no rules",
}


# --- the peer's packages and SQL ----------------------------------------------------------


def install() -> None:
    """`npm ci` in bench/peer (postgraphile@4 and autocannon, exactly as locked)."""
    subprocess.run(["sh", str(PEER / "install.sh")], check=True)


def installed() -> bool:
    modules = PEER / "node_modules"
    return (modules / "postgraphile").is_dir() and (modules / "autocannon").is_dir()


def sql_files(variant: str) -> list[Path]:
    files = [PEER / "pgl_setup.sql"]
    if variant == "b2":
        files.append(PEER / "pgl_setup_rls2.sql")
    return files


async def apply_peer_sql(dsn: str, variant: str) -> bool:
    """Apply the peer's RLS setup unless the database has this very version of it (its hash
    is kept as the comment of schema pgl_private). True if it was applied."""
    files = sql_files(variant)
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    marker = f"bench/peer setup {variant} {digest}"
    conn = await asyncpg.connect(dsn)
    try:
        current = await conn.fetchval(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace"
            " WHERE nspname = 'pgl_private'"
        )
        if current == marker:
            return False
        for f in files:
            await conn.execute(f.read_text())
        await conn.execute(f"COMMENT ON SCHEMA pgl_private IS '{marker}'")
        return True
    finally:
        await conn.close()


# --- what each system is asked -------------------------------------------------------------


def _gql(query: str, token: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "method": "POST",
        "path": "/graphql",
        "headers": {
            "content-type": "application/json",
            "accept": "application/json",
            "authorization": f"Bearer {token}",
        },
        "body": json.dumps({"query": query, "variables": variables or {}}),
    }


def _as_person(request: dict[str, Any], person: str) -> dict[str, Any]:
    """PostGraphile without rules takes the viewer from X-Person-Id, no session lookup."""
    headers = {k: v for k, v in request["headers"].items() if k != "authorization"}
    return request | {"headers": headers | {"x-person-id": person}}


def requests_for(
    shape: str, system: str, state: dict[str, Any], persons: dict[str, str]
) -> list[dict[str, Any]]:
    """The request sequence each connection loops over: bench.load's choices, in a fixed
    order (Q1: the five coordinators in turn; Q2: three of the first coordinator's plans;
    Q3: ten name prefixes by the coordinators in turn; Q4: the reporter)."""
    coord: list[str] = state["coordinator_tokens"]
    plans = q2_plans(state)
    if system in ("gateway", "gateway-ref"):
        if shape == "Q1":
            return [_gql(Q1, t) for t in coord]
        if shape == "Q2":
            return [_gql(Q2, coord[0], {"id": p}) for p in plans]
        if shape == "Q3":
            return [_gql(Q3, coord[i % len(coord)], {"n": n}) for i, n in enumerate(SEARCH)]
        return [_gql(Q4, state["reporter_token"])]
    if system == "floor":

        def get(path: str, token: str) -> dict[str, Any]:
            return {"method": "GET", "path": path, "headers": {"authorization": f"Bearer {token}"}}

        if shape == "Q1":
            return [get("/q1", t) for t in coord]
        return [get(f"/q2/{p}", coord[0]) for p in plans]
    if shape == "Q1":
        asked = [_gql(agree.PEER_Q1, t) for t in coord]
    else:
        asked = [_gql(agree.PEER_Q2, coord[0], {"id": p}) for p in plans]
    if system == "peer-norules":
        tokens = coord if shape == "Q1" else [coord[0]] * len(plans)
        asked = [_as_person(r, persons[t]) for r, t in zip(asked, tokens, strict=True)]
    return asked


async def persons_of(dsn: str, tokens: list[str]) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT s.token_hash, a.person_id FROM sessions s JOIN accounts a"
            " ON a.id = s.account_id WHERE s.token_hash = any($1::bytea[])",
            [hashlib.sha256(t.encode()).digest() for t in tokens],
        )
    finally:
        await conn.close()
    by_hash = {bytes(r["token_hash"]): str(r["person_id"]) for r in rows}
    return {t: by_hash[hashlib.sha256(t.encode()).digest()] for t in tokens}


# --- measuring -----------------------------------------------------------------------------


def wait_for_quiet(max_load: float, max_wait: float) -> tuple[float, float, bool]:
    """Wait until the 1-minute load average is below max_load, at most max_wait seconds.
    Returns (load at the start, seconds waited, whether it got there)."""
    started = time.monotonic()
    while True:
        load = os.getloadavg()[0]
        waited = time.monotonic() - started
        if load < max_load:
            return load, waited, True
        if waited >= max_wait:
            print(
                f"  ! load average {load:.2f} still ≥ {max_load} after {waited:.0f} s:"
                " running anyway",
                flush=True,
            )
            return load, waited, False
        time.sleep(2)


def _cpu_seconds(pid: int) -> float:
    """User+system seconds of a process and its descendants, the living ones and those that
    have ended (a parent keeps its reaped children's times): differences over a run are
    right even when processes come and go (PostgreSQL backends, a pool's connections)."""
    try:
        root = psutil.Process(pid)
        t = root.cpu_times()
        total: float = t.user + t.system + t.children_user + t.children_system
        kids = root.children(recursive=True)
    except psutil.Error:
        return 0.0
    for proc in kids:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


async def postmaster_pid(dsn: str) -> int:
    """The PostgreSQL server process of this database (the parent of a backend)."""
    conn = await asyncpg.connect(dsn)
    try:  # while the backend lives
        return int(psutil.Process(await conn.fetchval("SELECT pg_backend_pid()")).ppid())
    finally:
        await conn.close()


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


@dataclass
class Run:
    round: int
    shape: str
    system: str
    order: int
    load_before: float
    waited_s: float
    quiet: bool
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    ok: int
    non2xx: int
    graphql_errors: int
    socket_errors: int
    timeouts: int
    autocannon_cpu: float  # share of one core
    server_cpu: float  # share of one core, the system under load (its process tree)
    postgres_cpu: float  # share of one core, all PostgreSQL processes
    machine_busy: float  # share of all cores
    others_cpu: float  # share of one core: the machine's busy time less the three above
    sql_statements: int | None
    samples: list[str] = field(default_factory=list)

    @property
    def bad(self) -> int:
        return self.non2xx + self.graphql_errors + self.socket_errors


def cannon(
    url: str,
    requests: list[dict[str, Any]],
    connections: int,
    seconds: float,
    server_pid: int,
    postmaster: int,
    workdir: Path,
) -> dict[str, Any]:
    spec = {
        "url": url,
        "connections": connections,
        "seconds": seconds,
        "warmup": 1,
        "warmupConnections": 2,
        "requests": requests,
    }
    path = workdir / "spec.json"
    path.write_text(json.dumps(spec))
    node = shutil.which("node") or "node"
    proc = subprocess.Popen(
        [node, str(PEER / "cannon.js"), str(path)],
        cwd=PEER,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # {"phase": "start"}: the warm-up is over
    if not line:
        proc.wait()
        raise SystemExit(f"autocannon failed: {proc.stderr.read() if proc.stderr else ''}")
    s0, p0, m0 = _cpu_seconds(server_pid), _cpu_seconds(postmaster), _machine_busy()
    t0 = time.monotonic()
    line = proc.stdout.readline()
    s1, p1, m1 = _cpu_seconds(server_pid), _cpu_seconds(postmaster), _machine_busy()
    t1 = time.monotonic()
    err = proc.stderr.read() if proc.stderr else ""
    if proc.wait() != 0 or not line:
        raise SystemExit(f"autocannon failed: {err}")
    result: dict[str, Any] = json.loads(line)
    wall = t1 - t0
    result["serverCpu"] = (s1 - s0) / wall
    result["postgresCpu"] = (p1 - p0) / wall
    result["machineBusy"] = (m1[0] - m0[0]) / max(1.0, m1[1] - m0[1])
    return result


# --- the servers ---------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]


def start_servers(
    args: argparse.Namespace, systems: list[str], env: dict[str, str], logs: Path
) -> dict[str, Server]:
    servers: dict[str, Server] = {}

    def gateway(name: str, tree: Path) -> None:
        port = free_port()
        cmd = [sys.executable, "-m", "gateway", "serve", "--port", str(port), "--workers", "1"]
        genv = env | {"PLANGRUPPE_EXPOSE_SQL_COUNT": "1", "PYTHONPATH": str(tree)}
        out = (logs / f"compare-{name}.log").open("wb")
        proc = subprocess.Popen(
            cmd, cwd=tree, env=genv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        servers[name] = Server(name, f"http://127.0.0.1:{port}", proc)

    def peer(name: str, variant: str) -> None:
        port = free_port()
        node = shutil.which("node") or "node"
        cmd = [node, "server.js", "--variant", variant, "--port", str(port)]
        out = (logs / f"compare-{name}.log").open("wb")
        proc = subprocess.Popen(
            cmd,
            cwd=PEER,
            env=env | {"NODE_ENV": "production"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        servers[name] = Server(name, f"http://127.0.0.1:{port}", proc)

    gateway("gateway", Path(args.gateway_dir).resolve())
    if "gateway-ref" in systems:
        gateway("gateway-ref", Path(args.ref_dir).resolve())
    port = free_port()
    servers["floor"] = Server(
        "floor",
        f"http://127.0.0.1:{port}",
        start(
            [sys.executable, "-m", "bench.floor", "--port", str(port)],
            env,
            logs / "compare-floor.log",
        ),
    )
    if "peer" in systems:
        peer("peer", args.peer_variant)
    if "peer-norules" in systems:
        peer("peer-norules", "a")
    return servers


async def ready(servers: dict[str, Server]) -> None:
    for s in servers.values():
        if s.name.startswith("gateway"):
            await wait_ready(s.url + "/health")
        elif s.name == "floor":
            await wait_ready(s.url + "/q1")
        else:
            await agree.wait_graphql(s.url)


# --- the run -------------------------------------------------------------------------------


def rotate(items: list[str], by: int) -> list[str]:
    if not items:
        return items
    by %= len(items)
    return items[by:] + items[:by]


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarise(runs: list[Run]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in runs:
        out.setdefault(r.shape, {}).setdefault(r.system, {"runs": []})["runs"].append(r)
    for shape in out.values():
        for system, cell in shape.items():
            rs: list[Run] = cell.pop("runs")
            shape[system] = {
                "rounds": len(rs),
                "rps": median([r.rps for r in rs]),
                "p50_ms": median([r.p50_ms for r in rs]),
                "p99_ms": median([r.p99_ms for r in rs]),
                "rps_each": [round(r.rps, 1) for r in rs],
                "bad": sum(r.bad for r in rs),
                "ok": sum(r.ok for r in rs),
                "autocannon_cpu": median([r.autocannon_cpu for r in rs]),
                "server_cpu": median([r.server_cpu for r in rs]),
                "postgres_cpu": median([r.postgres_cpu for r in rs]),
                "machine_busy": median([r.machine_busy for r in rs]),
                "others_cpu": median([r.others_cpu for r in rs]),
                "sql_statements": median([r.sql_statements for r in rs]),
                "not_quiet": sum(not r.quiet for r in rs),
            }
    return out


def ratios(table: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """gateway / X of the median requests/s (and X / gateway of the median p50), per shape."""
    out = []
    for shape, cells in table.items():
        gw = cells.get("gateway")
        if not gw:
            continue
        for other in ("peer", "peer-norules", "floor", "gateway-ref"):
            o = cells.get(other)
            if not o or not o["rps"] or not gw["rps"]:
                continue
            out.append(
                {
                    "shape": shape,
                    "over": other,
                    "rps_ratio": gw["rps"] / o["rps"],
                    "p50_ratio": (o["p50_ms"] / gw["p50_ms"])
                    if o["p50_ms"] and gw["p50_ms"]
                    else None,
                }
            )
    return out


def tree_commit(tree: str) -> str:
    """The commit of a source tree if it is a git checkout (uncommitted changes are not
    shown), else the path (a `git archive` copy: name it after its commit)."""
    found = subprocess.run(
        ["git", "-C", tree, "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    inside = Path(tree).resolve() == Path(
        subprocess.run(
            ["git", "-C", tree, "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        or "/nonexistent"
    )
    return f"{tree} (checkout at {found.stdout.strip()})" if inside else tree


def _f(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def render(table: dict[str, dict[str, dict[str, Any]]], rs: list[dict[str, Any]]) -> str:
    lines = [
        "| shape | system | requests/s | p50 ms | p99 ms | SQL / request | bad responses"
        " | req/s each round | server CPU | PostgreSQL CPU | autocannon CPU | other CPU"
        " | machine busy |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for shape in SHAPES:
        for system in SYSTEMS:
            c = table.get(shape, {}).get(system)
            if not c:
                continue
            lines.append(
                f"| {shape} | {LABEL[system]} | {_f(c['rps'])} | {_f(c['p50_ms'])}"
                f" | {_f(c['p99_ms'])} | {_f(c['sql_statements'], 0)}"
                f" | {c['bad']} of {c['ok'] + c['bad']}"
                f" | {' / '.join(_f(x) for x in c['rps_each'])}"
                f" | {_f(100 * c['server_cpu'], 0)} % | {_f(100 * c['postgres_cpu'], 0)} %"
                f" | {_f(100 * c['autocannon_cpu'], 0)} % | {_f(100 * c['others_cpu'], 0)} %"
                f" | {_f(100 * c['machine_busy'], 0)} % |"
            )
    lines += ["", "| shape | gateway / … | requests/s ratio | p50 ratio (… / gateway) |"]
    lines.append("|---|---|---:|---:|")
    for r in rs:
        lines.append(
            f"| {r['shape']} | {LABEL[r['over']]} | **{_f(r['rps_ratio'], 3)}**"
            f" | {_f(r['p50_ratio'], 3)} |"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    shapes = [s.strip().upper() for s in args.shapes.split(",") if s.strip()]
    if unknown := [s for s in systems if s not in SYSTEMS] + [s for s in shapes if s not in SHAPES]:
        raise SystemExit(f"unknown: {', '.join(unknown)}")
    if "gateway" not in systems:
        raise SystemExit("--systems must include gateway (the reference)")
    if "gateway-ref" in systems and not args.ref_dir:
        raise SystemExit("gateway-ref needs --ref-dir")
    if not installed():
        install()
    dsn = args.database_url
    state = json.loads(Path(args.state).read_text())
    await refresh_sessions(dsn)
    peers = [s for s in systems if s.startswith("peer")]
    if peers:
        applied = await apply_peer_sql(dsn, args.peer_variant)
        print(
            "pgl_setup.sql: "
            + ("applied" if applied else "already in the database (same version)"),
            flush=True,
        )
    postmaster = await postmaster_pid(dsn)
    persons = await persons_of(dsn, [*state["coordinator_tokens"], state["reporter_token"]])
    env = {**os.environ, "DATABASE_URL": dsn}
    env.pop("SMTP_HOST", None)
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    servers = start_servers(args, systems, env, logs)
    try:
        await ready(servers)
        # 1. the row check: the same rows from every system before any figure is taken
        peer_url = servers["peer"].url if "peer" in servers else None
        report = await agree.check(
            dsn,
            agree.Systems(servers["gateway"].url, servers["floor"].url, peer_url),
            viewers=args.viewers,
            seed=args.seed,
        )
        await refresh_sessions(dsn)
        print(agree.render(report, show=3), flush=True)
        floor_bad = sum(t.mismatched_rows for (_q, s), t in report.tallies.items() if s == "floor")
        peer_bad = {
            q: t.mismatched_rows for (q, s), t in report.tallies.items() if s == "postgraphile"
        }
        check = {
            "floor_mismatched_rows": floor_bad,
            "peer_mismatched_rows": peer_bad,
            "gateway_unexpected_errors": report.unexpected_errors,
            "rows": {f"{q} {s}": t.rows for (q, s), t in report.tallies.items()},
        }
        if floor_bad or report.unexpected_errors:
            print(
                f"\nrow check failed: {floor_bad} floor rows differ from the gateway's,"
                f" {report.unexpected_errors} unexpected gateway errors; no figures.",
                flush=True,
            )
            return 1
        if peer_bad:
            print(
                "\nPostGraphile differs on "
                + ", ".join(f"{q}: {n} rows" for q, n in peer_bad.items())
                + " (known: its rules are simpler, see bench/README.md); measuring anyway.",
                flush=True,
            )
        print("row check: the floor gives the gateway's rows.\n", flush=True)

        # 2. the load, interleaved
        runs: list[Run] = []
        step = 0
        with tempfile.TemporaryDirectory() as tmp:
            for rnd in range(args.rounds):
                for si, shape in enumerate(shapes):
                    order = rotate([s for s in systems if s in ANSWERS[shape]], rnd + si)
                    for pos, system in enumerate(order):
                        step += 1
                        load, waited, quiet = wait_for_quiet(args.max_load, args.max_wait)
                        server = servers[system]
                        result = cannon(
                            server.url,
                            requests_for(shape, system, state, persons),
                            args.clients,
                            args.seconds,
                            server.proc.pid,
                            postmaster,
                            Path(tmp),
                        )
                        r = Run(
                            round=rnd + 1,
                            shape=shape,
                            system=system,
                            order=pos + 1,
                            load_before=round(load, 2),
                            waited_s=round(waited, 1),
                            quiet=quiet,
                            rps=result["rps"],
                            p50_ms=result["p50"],
                            p99_ms=result["p99"],
                            ok=result["ok"],
                            non2xx=result["non2xx"],
                            graphql_errors=result["graphqlErrors"],
                            socket_errors=result["socketErrors"],
                            timeouts=result["timeouts"],
                            autocannon_cpu=result["cpuShare"],
                            server_cpu=result["serverCpu"],
                            postgres_cpu=result["postgresCpu"],
                            machine_busy=result["machineBusy"],
                            others_cpu=max(
                                0.0,
                                result["machineBusy"] * (os.cpu_count() or 1)
                                - result["serverCpu"]
                                - result["postgresCpu"]
                                - result["cpuShare"],
                            ),
                            sql_statements=result["sqlStatements"],
                            samples=result["samples"],
                        )
                        runs.append(r)
                        print(
                            f"[{step}] round {r.round} {shape} {system:<12} {r.rps:8.1f} req/s"
                            f"  p50 {_f(r.p50_ms)}  p99 {_f(r.p99_ms)} ms"
                            f"  bad {r.bad}  autocannon CPU {100 * r.autocannon_cpu:.0f} %"
                            f"  (load before {load:.2f}, waited {waited:.0f} s)",
                            flush=True,
                        )
                        for sample in r.samples:
                            print(f"      bad response: {sample[:200]}", flush=True)
    finally:
        stop([s.proc for s in servers.values()])

    table = summarise(runs)
    rs = ratios(table)
    print()
    print(f"medians of {args.rounds} rounds, {args.clients} connections × {args.seconds} s:")
    print(render(table, rs))
    bad = sum(r.bad for r in runs)
    if bad:
        print(
            f"\n! {bad} responses were not 2xx or carried GraphQL errors: they are left out of"
            " requests/s and the latencies (see the 'bad responses' column)."
        )
    noisy = sum(not r.quiet for r in runs)
    if noisy:
        print(f"\n! {noisy} of {len(runs)} runs started with the load average ≥ {args.max_load}.")
    RESULTS.mkdir(exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    out = RESULTS / f"compare-{now:%Y%m%dT%H%M%SZ}.json"
    out.write_text(
        json.dumps(
            {
                "date": now.isoformat(timespec="seconds"),
                "machine": {
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    "node": subprocess.run(
                        ["node", "--version"], capture_output=True, text=True, check=False
                    ).stdout.strip(),
                },
                "args": {k: v for k, v in vars(args).items() if k != "database_url"},
                "trees": {
                    "gateway": tree_commit(args.gateway_dir),
                    "gateway-ref": tree_commit(args.ref_dir) if args.ref_dir else None,
                },
                "seed": {"scale": state.get("scale"), "seed": state.get("seed")},
                "row_check": check,
                "medians": table,
                "ratios": rs,
                "runs": [r.__dict__ for r in runs],
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nwritten: {out.relative_to(CHECKOUT) if out.is_relative_to(CHECKOUT) else out}")
    return 0


def _interrupt(_signum: int, _frame: object) -> None:
    # Not signal.default_int_handler: asyncio.run would take that over and only cancel the
    # task at its next await, and the measuring loop blocks without awaiting.
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="npm ci in bench/peer, then exit")
    parser.add_argument("--show", metavar="JSON", help="print the table of a stored run, then exit")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8, help="autocannon connections")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--systems", default="gateway,floor,peer,peer-norules")
    parser.add_argument("--peer-variant", choices=("b", "b2"), default="b", help="for `peer`")
    parser.add_argument("--gateway-dir", default=str(CHECKOUT), help="the gateway's source tree")
    parser.add_argument("--ref-dir", help="another source tree, served as gateway-ref")
    parser.add_argument("--max-load", type=float, default=1.0)
    parser.add_argument("--max-wait", type=float, default=180, help="seconds, per run")
    parser.add_argument("--viewers", type=int, default=30, help="for the row check")
    parser.add_argument("--seed", type=int, default=7, help="for the row check")
    parser.add_argument("--state", default=str(STATE), help="bench.seed's state file")
    parser.add_argument("--logs", default="bench/logs")
    args = parser.parse_args()
    if args.install:
        install()
        return
    if args.show:
        stored = json.loads(Path(args.show).read_text())
        print(render(stored["medians"], stored["ratios"]))
        return
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    # Stop the servers on Ctrl-C or a kill, also when started in the background (where a
    # shell leaves SIGINT ignored).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
