"""CPU of a chart read in process (issue 18 item 6): the app called through ASGI, 32 requests at a
time, each GET /api/patients/{id}/chart of a random patient, CPU seconds of this process per chart.

    python benchmarks/chart_cpu.py sqlite:////tmp/c.db [--charts 600] [--runs 3] [--profile out.prof]
    python benchmarks/chart_cpu.py --dump sqlite:////tmp/c.db out.jsonl   # every patient's chart JSON

The registry: ``bontrack --db URL demo --patients 2000 --seed 2`` and ``bontrack --db URL user
demo-logins`` (a copy is used: the chart reads add audit entries). Each run reads other patients
(random, fixed seed per run); no warm-up beyond one chart, so versions are mostly read for the first
time, as in the web benchmark. The load average is printed with each run (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from typing import Any

import httpx
from sqlalchemy import text

from bontrack.storage.engine import make_engine
from bontrack.storage.record_ids import id_text
from bontrack.web.app import create_app
from bontrack.web.serve import settle_heap
from bontrack.web.settings import WebSettings

CLIENTS = int(os.environ.get("CHART_CLIENTS", "32"))


def _app(url: str) -> Any:
    """The app as the server builds it (bontrack.web.serve.build_app): created, then settled."""
    app = create_app(WebSettings(engine=make_engine(url)))
    settle_heap()
    return app


def _patients(app: Any) -> list[str]:
    with app.state.settings.engine.connect() as conn:
        return [
            id_text(r[0]) for r in conn.execute(text("SELECT DISTINCT id FROM patient_versions ORDER BY id"))
        ]


async def _token(client: httpx.AsyncClient, role: str = "physician") -> dict[str, str]:
    form = {"username": f"{role}@demo.example.org", "password": f"bontrack-demo-{role}"}
    response = await client.post("/api/auth/token", data=form)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _get(app: Any, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """One GET through the app's ASGI callable (no HTTP client: its CPU is not the server's)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    status = 0
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(body)


async def _run(app: Any, ids: list[str], headers: dict[str, str]) -> tuple[float, float, int]:
    queue = iter(ids)
    errors = 0

    async def worker() -> None:
        nonlocal errors
        for patient_id in queue:
            status, _ = await _get(app, f"/api/patients/{patient_id}/chart", headers)
            errors += status != 200

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return time.process_time() - cpu, time.perf_counter() - wall, errors


async def _measure(url: str, charts: int, runs: int, profile: str | None) -> None:
    app = _app(url)
    ids = _patients(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        headers = await _token(client)
    assert (await _get(app, f"/api/patients/{ids[0]}/chart", headers))[0] == 200
    per_chart: list[float] = []
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    for run in range(runs):
        chosen = random.Random(run).sample(ids, min(charts, len(ids)))
        if profiler is not None:
            profiler.enable()
        batches = app.state.read_audits.batches_committed
        cpu, wall, errors = await _run(app, chosen, headers)
        batches = app.state.read_audits.batches_committed - batches
        if profiler is not None:
            profiler.disable()
        per_chart.append(cpu / len(chosen) * 1000)
        load = os.getloadavg()[0]
        print(
            f"run {run}: {len(chosen)} charts, {per_chart[-1]:.2f} ms CPU a chart, "
            f"{len(chosen) / wall:.0f} charts/s wall, {batches} audit batches, errors {errors}, "
            f"load {load:.2f}",
            flush=True,
        )
    low, high = min(per_chart), max(per_chart)
    print(f"median {statistics.median(per_chart):.2f} ms CPU a chart ({low:.2f}-{high:.2f})")
    if profiler is not None and profile:
        profiler.dump_stats(profile)


async def _dump(url: str, out: str) -> None:
    app = _app(url)
    ids = _patients(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        headers = await _token(client)
        with open(out, "wb") as f:
            for patient_id in ids:
                status, body = await _get(app, f"/api/patients/{patient_id}/chart", headers)
                assert status == 200, body
                f.write(body + b"\n")
    print(f"{len(ids)} charts written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("out", nargs="?")
    parser.add_argument("--charts", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile")
    parser.add_argument("--dump", action="store_true", help="write every patient's chart JSON to OUT")
    args = parser.parse_intermixed_args()
    if args.dump:
        if not args.out:
            sys.exit("--dump needs OUT")
        asyncio.run(_dump(args.url, args.out))
    else:
        asyncio.run(_measure(args.url, args.charts, args.runs, args.profile))


if __name__ == "__main__":
    main()
