"""The clinic's pages under load (issue 14): the home page (`GET /`, a physician's day) and the
chart page (`GET /patients/{id}`, with its banner) at 32 clients x 1 request/s (paced, open loop:
latency timed from when each request was due), logged in as the demo physician with a browser's
session cookie; `GET /worklist` (the first page of the worked worklist) and `/health` beside them.
The same 10,000-patient registry and server as benchmarks/web_load.py. Aim: p95 under 150 ms.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from web_load import (
    CLIENTS,
    PACED_RATE,
    PACED_SECONDS,
    Connection,
    LoadResult,
    _event_loop_policy,
    _targets,
    paced,
    registry,
    request_head,
    start_server,
)

AIM_P95_MS = 150.0
SESSION_COOKIE = "bontrack_session"


def session_cookie(url: str, role: str = "physician") -> str:
    """Log in through the login form, as a browser does; the session cookie's value."""
    email = f"{role.replace('_', '-')}@demo.example.org"
    password = f"bontrack-demo-{role.replace('_', '-')}"
    with httpx.Client(base_url=url, timeout=60) as client:
        form = client.get("/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        if found is None:
            raise RuntimeError("the login page has no csrf_token field")
        done = client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": found.group(1), "next": "/"},
            cookies=form.cookies,
        )
        cookie = done.cookies.get(SESSION_COOKIE)
        if done.status_code != 303 or not cookie:
            raise RuntimeError(f"log-in as {role} failed: {done.status_code}")
        return cookie


@dataclass(frozen=True)
class PagesRound:
    health: LoadResult
    home: LoadResult
    chart: LoadResult
    worklist: LoadResult


async def measure(url: str, server_pid: int, db_url: str, rounds: int, seconds: float) -> list[PagesRound]:
    per_round = int(CLIENTS * PACED_RATE * seconds)
    targets = _targets(db_url, per_round * rounds + CLIENTS * 2)
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_cookie(url)}", "Accept": "text/html"}
    heads = {
        "health": request_head("GET", "/health", {}),
        "home": request_head("GET", "/", cookie),
        "worklist": request_head("GET", "/worklist", cookie),
    }

    def fixed(name: str) -> Callable[[Connection, int], object]:
        async def send(conn: Connection, _i: int) -> int:
            return (await conn.request(heads[name]))[0]

        return send

    async def chart(conn: Connection, i: int) -> int:
        return (await conn.request(request_head("GET", f"/patients/{targets[i][0]}", cookie)))[0]

    for warm in (fixed("home"), chart, fixed("worklist")):  # warm-up: one second each
        await paced("warm-up", url, server_pid, 1.0, warm)  # type: ignore[arg-type]
    out = []
    for n in range(rounds):
        first = CLIENTS * 2 + n * per_round
        out.append(
            PagesRound(
                await paced("GET /health", url, server_pid, seconds, fixed("health")),  # type: ignore[arg-type]
                await paced("GET / (home page)", url, server_pid, seconds, fixed("home")),  # type: ignore[arg-type]
                await paced("GET /patients/{id} (chart page)", url, server_pid, seconds, chart, first=first),
                await paced("GET /worklist (first page)", url, server_pid, seconds, fixed("worklist")),  # type: ignore[arg-type]
            )
        )
    return out


def pages_figures(console_print: Callable[[str], None], rounds: int | None = None) -> list[PagesRound]:
    """``rounds``: 3, or BONTRACK_BENCH_ROUNDS (a server that cannot keep up makes each round last
    as long as its backlog)."""
    rounds = rounds or int(os.environ.get("BONTRACK_BENCH_ROUNDS", "3"))
    # seconds a row (default web_load's 10): a page that cannot keep up makes its row last as long
    # as its backlog, so a short run is BONTRACK_BENCH_SECONDS=3
    seconds = float(os.environ.get("BONTRACK_BENCH_SECONDS", str(PACED_SECONDS)))
    db_url = f"sqlite:///{registry(console_print)}"  # web_load's server and targets take a URL
    workers = os.environ.get("BONTRACK_BENCH_WORKERS")  # default: bontrack serve's own
    server, url = start_server(db_url, int(workers) if workers else None)
    try:
        _event_loop_policy()
        return asyncio.run(measure(url, server.pid, db_url, rounds, seconds))
    finally:
        server.terminate()
        server.wait(timeout=30)


def pages_rows(rounds: list[PagesRound]) -> list[tuple[str, ...]]:
    """One row per page: the round with the median p95, with each round's p95 beside it."""
    rows: list[tuple[str, ...]] = []
    for pick in (lambda r: r.health, lambda r: r.home, lambda r: r.chart, lambda r: r.worklist):
        ordered = sorted(rounds, key=lambda r: pick(r).percentile(95))
        r = pick(ordered[len(ordered) // 2])
        every = ", ".join(f"{pick(x).percentile(95):.0f}" for x in rounds)
        met = "(met)" if r.percentile(95) < AIM_P95_MS else "(NOT met)"
        rows.append(
            (
                f"{r.name}, paced {CLIENTS} x {PACED_RATE:g}/s",
                f"{r.throughput:,.1f} req/s, {sum(pick(x).errors for x in rounds)} errors "
                f"of {sum(pick(x).requests for x in rounds):,}",
                f"p50 {statistics.median(r.latencies_ms):.1f} / p95 {r.percentile(95):.1f} / "
                f"p99 {r.percentile(99):.1f} ms (p95 of each round: {every})",
                f"server {r.server_cpu / r.seconds:.0%}, client {r.client_cpu / r.seconds:.0%}",
                "" if r.name.startswith("GET /health") else f"p95 < {AIM_P95_MS:.0f} ms {met}",
            )
        )
    return rows


def load_note() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())
