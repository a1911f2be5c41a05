"""Web API under load: p95 latency of the patient chart and of an outcome submission with 32
concurrent clients on loopback, against a real `bontrack serve` process on a 10,000-patient
synthetic SQLite registry; throughput compared with the bare /health endpoint in the same run.

Two load shapes, reported as separate rows:

* saturated (closed loop): 32 clients, each sends its next request as soon as the previous one
  is answered. Throughput is what the server manages flat out; it is given as a ratio of /health
  measured the same way in the same round, and latency here is mostly queueing (32 requests in
  flight against one registry).
* paced (open loop, fixed arrival rate): 32 clients each send one request per second (32 req/s
  in all: a busy clinic's whole staff clicking at once, every second). Latency is timed from when
  the request was due, not from when it was sent, so a slow server cannot hide its backlog.

The load generator is a minimal keep-alive HTTP/1.1 client on asyncio (httpx costs about a
millisecond of CPU per request, which on two CPUs competed with the server it measured). Its own
CPU use is reported next to the server's for every row, so a reader can see it was not the
bottleneck. Each round measures /health, the chart and the outcome submission in turn; the rows
give the median round and the lowest ratio to /health (the floor) over the rounds.

The registry is built once with `bontrack demo --patients 10000` and kept in artifacts/ (about
1-5 minutes the first time). Aim: p95 <= 100 ms.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
from http_client import Connection, Request, cpu_of_tree, own_cpu, request_head

from bontrack.storage.record_ids import id_text

ROOT = Path(__file__).resolve().parents[1]
PATIENTS = 10_000
CLIENTS = 32
PACED_RATE = 1.0  # requests per second per client in the paced rows
PACED_SECONDS = 10.0
# seed 1 at 10,000 patients trips a generator check on main (reported); seed 2 builds
SEED = 2
AIM_P95_MS = 100.0


@dataclass(frozen=True)
class LoadResult:
    name: str
    shape: str  # "saturated" or "paced"
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    client_cpu: float  # CPU seconds the load generator used
    server_cpu: float  # CPU seconds the server's processes used

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ---- the server under test -------------------------------------------------------------------


def _bontrack(db: Path, *args: str, stdin: str | None = None) -> str:
    exe = str(Path(sys.executable).with_name("bontrack"))
    done = subprocess.run(
        [exe, "--db", f"sqlite:///{db}", "--actor", "bench:setup", *args],
        capture_output=True,
        text=True,
        input=stdin,
        check=True,
    )
    return done.stdout


def registry(console_print: Callable[[str], None], patients: int = PATIENTS, seed: int = SEED) -> Path:
    """The 10,000-patient registry with demo logins, built once and copied for each run."""
    cache = ROOT / "artifacts" / f"bench-web-{patients}-seed{seed}.db"
    if not cache.exists():
        cache.parent.mkdir(exist_ok=True)
        building = cache.with_suffix(".building")
        building.unlink(missing_ok=True)
        console_print(f"building a {patients:,}-patient synthetic registry (once; 1-5 minutes) ...")
        _bontrack(building, "demo", "--patients", str(patients), "--seed", str(seed))
        _bontrack(building, "user", "demo-logins")
        building.replace(cache)
    _bontrack(cache, "db", "upgrade")  # a registry cached by an older bontrack: its schema brought up to date
    run_copy = ROOT / "artifacts" / "bench-web-run.db"
    for leftover in (
        run_copy,
        run_copy.with_name(run_copy.name + "-wal"),
        run_copy.with_name(run_copy.name + "-shm"),
    ):
        leftover.unlink(missing_ok=True)  # a stale write-ahead log would not match the new copy
    shutil.copyfile(cache, run_copy)  # outcome submissions must not grow the cached registry
    return run_copy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(db_url: str, workers: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    exe = str(Path(sys.executable).with_name("bontrack"))
    args = [exe, "--db", db_url, "serve", "--port", str(port)]
    if workers is not None:
        args += ["--workers", str(workers)]
    server = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=(ROOT / "artifacts" / "bench-web-server.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("bontrack serve did not answer /health within 30 s")


# ---- load shapes -----------------------------------------------------------------------------


async def _connections(url: str) -> list[Connection]:
    host, port = url.removeprefix("http://").split(":")
    return [Connection(host, int(port)) for _ in range(CLIENTS)]


async def saturated(
    name: str, url: str, server_pid: int, total: int, send: Request, ok: int = 200
) -> LoadResult:
    """``total`` requests over CLIENTS clients, each sending its next request when the previous
    one is answered (closed loop)."""
    connections = await _connections(url)
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def client(conn: Connection) -> None:
        nonlocal errors
        for i in counter:
            start = time.perf_counter()
            status = await send(conn, i)
            latencies.append((time.perf_counter() - start) * 1000)
            errors += status != ok

    cpu, server_cpu, start = own_cpu(), cpu_of_tree(server_pid), time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    seconds = time.perf_counter() - start
    result = LoadResult(
        name,
        "saturated",
        total,
        seconds,
        latencies,
        errors,
        own_cpu() - cpu,
        cpu_of_tree(server_pid) - server_cpu,
    )
    for c in connections:
        c.close()
    return result


async def paced(
    name: str, url: str, server_pid: int, seconds: float, send: Request, ok: int = 200, first: int = 0
) -> LoadResult:
    """CLIENTS clients, each due to send one request every 1/PACED_RATE seconds (evenly spread
    starting offsets); latency counts from when a request was due (no coordinated omission)."""
    connections = await _connections(url)
    latencies: list[float] = []
    errors = 0
    interval = 1.0 / PACED_RATE
    per_client = int(seconds * PACED_RATE)
    t0 = time.perf_counter() + 0.05

    async def client(n: int, conn: Connection) -> None:
        nonlocal errors
        for k in range(per_client):
            due = t0 + interval * (k + n / CLIENTS)
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            status = await send(conn, first + k * CLIENTS + n)
            latencies.append((time.perf_counter() - due) * 1000)
            errors += status != ok

    cpu, server_cpu = own_cpu(), cpu_of_tree(server_pid)
    await asyncio.gather(*(client(n, c) for n, c in enumerate(connections)))
    wall = time.perf_counter() - t0
    result = LoadResult(
        name,
        "paced",
        CLIENTS * per_client,
        wall,
        latencies,
        errors,
        own_cpu() - cpu,
        cpu_of_tree(server_pid) - server_cpu,
    )
    for c in connections:
        c.close()
    return result


# ---- the measured requests -------------------------------------------------------------------


def _targets(db_url: str, n: int) -> list[tuple[str, str]]:
    """Random (patient id, episode id) pairs, read straight from the database (set-up, not measured)."""
    query = "SELECT DISTINCT patient_id, id FROM episode_versions ORDER BY patient_id, id"
    if db_url.startswith("sqlite:///"):
        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
            rows = [tuple(id_text(v) for v in r) for r in conn.execute(query).fetchall()]
    else:
        import psycopg

        with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://")) as pg:
            rows = [tuple(r) for r in pg.execute(query).fetchall()]
    rng = random.Random(SEED)
    return [rows[rng.randrange(len(rows))] for _ in range(n)]


def _token(url: str, role: str) -> str:
    email = f"{role.replace('_', '-')}@demo.example.org"
    password = f"bontrack-demo-{role.replace('_', '-')}"
    response = httpx.post(f"{url}/api/auth/token", data={"username": email, "password": password}, timeout=30)
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


@dataclass(frozen=True)
class Round:
    health: LoadResult
    chart: LoadResult
    outcome: LoadResult


async def measure(
    url: str, server_pid: int, db_url: str, n: int, rounds: int
) -> tuple[list[Round], list[Round]]:
    targets = _targets(db_url, n * rounds + CLIENTS * 4 + int(CLIENTS * PACED_RATE * PACED_SECONDS) * rounds)
    physician = {"Authorization": f"Bearer {_token(url, 'physician')}"}
    staff = {"Authorization": f"Bearer {_token(url, 'staff')}", "Content-Type": "application/json"}
    health_head = request_head("GET", "/health", {})

    async def health(conn: Connection, _i: int) -> int:
        return (await conn.request(health_head))[0]

    async def chart(conn: Connection, i: int) -> int:
        return (await conn.request(request_head("GET", f"/api/patients/{targets[i][0]}/chart", physician)))[0]

    async def outcome(conn: Connection, i: int) -> int:
        patient_id, episode_id = targets[i]
        body = orjson.dumps(
            {
                "patient_id": patient_id,
                "episode_id": episode_id,
                "instrument": "nprs",
                "date": "2026-06-01",
                "answers": {"1": i % 11},
            }
        )
        return (await conn.request(request_head("POST", "/api/outcomes", staff, body), body))[0]

    await saturated("warm-up", url, server_pid, CLIENTS * 4, chart)
    offset = CLIENTS * 4
    closed, open_ = [], []
    for _ in range(rounds):
        closed.append(
            Round(
                await saturated("GET /health (floor)", url, server_pid, n * 4, health),
                await saturated("GET /api/patients/{id}/chart", url, server_pid, n, chart),
                await saturated("POST /api/outcomes", url, server_pid, n, outcome, ok=201),
            )
        )
        offset += n
    for _ in range(rounds):
        paced_n = int(CLIENTS * PACED_RATE * PACED_SECONDS)
        open_.append(
            Round(
                await paced("GET /health", url, server_pid, PACED_SECONDS, health),
                await paced(
                    "GET /api/patients/{id}/chart", url, server_pid, PACED_SECONDS, chart, first=offset
                ),
                await paced(
                    "POST /api/outcomes", url, server_pid, PACED_SECONDS, outcome, ok=201, first=offset
                ),
            )
        )
        offset += paced_n
    return closed, open_


def _event_loop_policy() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def web_figures(
    console_print: Callable[[str], None],
    requests: int = 1000,
    rounds: int = 3,
    workers: int | None = None,
    engine: str = "sqlite",
) -> tuple[list[Round], list[Round]]:
    """The rounds on SQLite, or with ``engine="postgresql"`` on a copy of the same registry in a
    throwaway PostgreSQL cluster (benchmarks/web_load_pg.py)."""
    if engine == "sqlite":
        return _figures(f"sqlite:///{registry(console_print)}", requests, rounds, workers)
    from web_load_pg import discard, running_registry

    cluster, db_url = running_registry(PATIENTS, SEED, console_print)
    try:
        return _figures(db_url, requests, rounds, workers)
    finally:
        discard(cluster)


def _figures(db_url: str, requests: int, rounds: int, workers: int | None) -> tuple[list[Round], list[Round]]:
    server, url = start_server(db_url, workers)
    try:
        _event_loop_policy()
        return asyncio.run(measure(url, server.pid, db_url, requests, rounds))
    finally:
        server.terminate()
        server.wait(timeout=30)


def _median_round(rounds: list[Round], pick: Callable[[Round], LoadResult]) -> LoadResult:
    ordered = sorted(rounds, key=lambda r: pick(r).percentile(95))
    return pick(ordered[len(ordered) // 2])


def summary_rows(closed: list[Round], open_: list[Round]) -> list[tuple[str, ...]]:
    """One row per endpoint and load shape: the round with the median p95, the median and the
    lowest (floor) throughput ratio to /health over the rounds, and each side's CPU use."""
    rows: list[tuple[str, ...]] = []
    for shape, rounds in (("saturated", closed), ("paced", open_)):
        for pick in (lambda r: r.health, lambda r: r.chart, lambda r: r.outcome):
            r = _median_round(rounds, pick)
            ratios = [pick(x).throughput / x.health.throughput for x in rounds]
            is_floor = r.name.startswith("GET /health")
            met = "(met)" if r.percentile(95) <= AIM_P95_MS else "(NOT met)"
            if shape == "paced":
                label = f"{r.name}, paced: {CLIENTS} x {PACED_RATE:g}/s"
                ratio = f"{r.throughput:,.1f} of {CLIENTS * PACED_RATE:g} req/s offered"
            else:
                label = f"{r.name}, saturated"
                ratio = (
                    "1 (floor)"
                    if is_floor
                    else f"{statistics.median(ratios):.3f}x (lowest {min(ratios):.3f}x) of /health"
                )
            rows.append(
                (
                    label,
                    f"{r.throughput:,.0f} req/s, {sum(pick(x).errors for x in rounds)} errors "
                    f"of {sum(pick(x).requests for x in rounds):,}",
                    f"p50 {statistics.median(r.latencies_ms):.1f} / p95 {r.percentile(95):.1f} / "
                    f"p99 {r.percentile(99):.1f} ms",
                    ratio,
                    f"server {r.server_cpu / r.seconds:.0%}, client {r.client_cpu / r.seconds:.0%}",
                    "" if is_floor and shape == "saturated" else f"p95 <= {AIM_P95_MS:.0f} ms {met}",
                )
            )
    return rows
