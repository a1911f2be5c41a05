"""Web API under load: p95 latency of the patient chart and of an outcome submission with 32
concurrent clients on loopback, against a real `bontrack serve` process on a 10,000-patient
synthetic SQLite registry; throughput compared with the bare /health endpoint in the same run.

The registry is built once with `bontrack demo --patients 10000` and kept in artifacts/ (about
1-2 minutes the first time). Aim: p95 <= 100 ms.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PATIENTS = 10_000
CLIENTS = 32
# seed 1 at 10,000 patients trips a generator check on main (reported); seed 2 builds
SEED = 2


@dataclass(frozen=True)
class LoadResult:
    name: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


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


def registry(console_print: Callable[[str], None]) -> Path:
    """The 10,000-patient registry with demo logins, built once and copied for each run."""
    cache = ROOT / "artifacts" / f"bench-web-{PATIENTS}-seed{SEED}.db"
    if not cache.exists():
        cache.parent.mkdir(exist_ok=True)
        building = cache.with_suffix(".building")
        building.unlink(missing_ok=True)
        console_print(f"building a {PATIENTS:,}-patient synthetic registry (once; 1-2 minutes) ...")
        _bontrack(building, "demo", "--patients", str(PATIENTS), "--seed", str(SEED))
        _bontrack(building, "user", "demo-logins")
        building.replace(cache)
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


def start_server(db: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    exe = str(Path(sys.executable).with_name("bontrack"))
    env = dict(os.environ)
    server = subprocess.Popen(
        [exe, "--db", f"sqlite:///{db}", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=(ROOT / "artifacts" / "bench-web-server.log").open("wb"),
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("bontrack serve did not answer /health within 20 s")


async def load(
    name: str,
    url: str,
    total: int,
    request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    ok: tuple[int, ...] = (200,),
) -> LoadResult:
    """``total`` requests spread over CLIENTS concurrent clients (closed loop: each sends its
    next request when the previous one is answered)."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                start = time.perf_counter()
                response = await request(client, i)
                latencies.append((time.perf_counter() - start) * 1000)
                if response.status_code not in ok:
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        seconds = time.perf_counter() - start
    return LoadResult(name, total, seconds, latencies, errors)


def _targets(db: Path, n: int) -> list[tuple[str, str]]:
    """Random (patient id, episode id) pairs, read straight from the file (set-up, not measured)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT DISTINCT patient_id, id FROM episode_versions").fetchall()
    rng = random.Random(SEED)
    return [rows[rng.randrange(len(rows))] for _ in range(n)]


def _token(url: str, role: str) -> str:
    email = f"{role.replace('_', '-')}@demo.example.org"
    password = f"bontrack-demo-{role.replace('_', '-')}"
    response = httpx.post(f"{url}/api/auth/token", data={"username": email, "password": password}, timeout=30)
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


async def measure(url: str, db: Path, n: int) -> list[LoadResult]:
    targets = _targets(db, n)
    physician = {"Authorization": f"Bearer {_token(url, 'physician')}"}
    staff = {"Authorization": f"Bearer {_token(url, 'staff')}"}

    async def health(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.get("/health")

    async def chart(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.get(f"/api/patients/{targets[i][0]}/chart", headers=physician)

    async def outcome(client: httpx.AsyncClient, i: int) -> httpx.Response:
        patient_id, episode_id = targets[i]
        body = {
            "patient_id": patient_id,
            "episode_id": episode_id,
            "instrument": "nprs",
            "date": "2026-06-01",
            "answers": {"1": i % 11},
        }
        return await client.post("/api/outcomes", json=body, headers=staff)

    await load("warm-up", url, CLIENTS * 4, chart)
    return [
        await load("GET /health (floor)", url, n * 4, health),
        await load("GET /api/patients/{id}/chart", url, n, chart),
        await load("POST /api/outcomes", url, n, outcome, ok=(201,)),
    ]


def web_figures(console_print: Callable[[str], None], requests: int = 2000) -> list[LoadResult]:
    db = registry(console_print)
    server, url = start_server(db)
    try:
        return asyncio.run(measure(url, db, requests))
    finally:
        server.terminate()
        server.wait(timeout=30)


def summary_rows(results: list[LoadResult]) -> list[tuple[str, str, str, str, str]]:
    floor = results[0].throughput
    rows = []
    for r in results:
        met = "(met)" if r.percentile(95) <= 100 else "(NOT met)"
        rows.append(
            (
                r.name,
                f"{r.throughput:,.0f} req/s ({r.errors} errors of {r.requests:,})",
                f"p50 {statistics.median(r.latencies_ms):.1f} / p95 {r.percentile(95):.1f} / "
                f"p99 {r.percentile(99):.1f} ms",
                f"{r.throughput / floor:.3f}x of /health",
                "" if r is results[0] else f"p95 <= 100 ms {met}",
            )
        )
    return rows
