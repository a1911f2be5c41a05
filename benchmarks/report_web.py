"""The clinic report as the web app serves it, on a large registry: GET /report (the page, figures
inline) and GET /api/report (every number) from a running `bontrack serve` (one worker process,
already started and imported: the first report is a warm-up, not timed), against the same floor
as benchmarks/report_scale.py (the rows the report reads, by the same ADBC reader), measured in
the same run, alternated with the requests so both see the same load.

    python benchmarks/report_web.py REGISTRY.db [ROUNDS]

REGISTRY.db: a registry kept by ``report_scale.py PATIENTS KEEP.db`` (or any bontrack SQLite
registry). The demo logins are added to it if it has none (``bontrack user demo-logins``: the admin
sees every clinic), and each report adds its audit entries: use a copy, not another job's file.
Prints each round, then the medians and their ratios to the floor (the aim of issue 18: within 3x).
"""

from __future__ import annotations

import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console

sys.path.insert(0, str(Path(__file__).parent))
from report_scale import floor_read
from web_load import start_server

console = Console()
ADMIN = ("admin@demo.example.org", "bontrack-demo-admin")
DAY = "2026-11-23"  # the day report_scale.py's command reports as of


def _logged_in(url: str) -> httpx.Client:
    """A browser's session: the log-in form, its CSRF token, then the session cookie."""
    client = httpx.Client(base_url=url, timeout=900)
    page = client.get("/login").text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no csrf_token on the log-in page"
    data = {"email": ADMIN[0], "password": ADMIN[1], "csrf_token": found.group(1), "next": "/"}
    answer = client.post("/login", data=data)
    if answer.status_code != 303:
        raise SystemExit(f"could not log in as {ADMIN[0]}: {answer.status_code}")
    return client


def _timed(client: httpx.Client, path: str) -> tuple[float, int]:
    start = time.perf_counter()
    answer = client.get(path)
    seconds = time.perf_counter() - start
    if answer.status_code != 200:
        raise SystemExit(f"GET {path}: {answer.status_code} {answer.text[:200]}")
    return seconds, len(answer.content)


def main(path: Path, rounds: int = 3) -> dict[str, float]:
    with sqlite3.connect(path) as con:
        users = con.execute("select count(*) from users").fetchone()[0]
    if not users:
        exe = str(Path(sys.executable).with_name("bontrack"))
        subprocess.run(
            [exe, "--db", f"sqlite:///{path}", "user", "demo-logins"], check=True, capture_output=True
        )
    (Path(__file__).resolve().parents[1] / "artifacts").mkdir(exist_ok=True)  # the server's log
    server, url = start_server(f"sqlite:///{path}", workers=1)
    try:
        client = _logged_in(url)
        # warm-up: the figures' and the analysis' first use
        for page in (f"/report?date={DAY}", f"/api/report?date={DAY}"):
            _timed(client, page)
        floors, pages, numbers = [], [], []
        for k in range(rounds):
            floors.append(floor_read(path, scores_table=True)[0])
            page_s, page_bytes = _timed(client, f"/report?date={DAY}")
            api_s, api_bytes = _timed(client, f"/api/report?date={DAY}")
            pages.append(page_s)
            numbers.append(api_s)
            console.print(
                f"round {k + 1}: floor {floors[-1]:.2f} s; /report {page_s:.2f} s ({page_bytes:,} bytes); "
                f"/api/report {api_s:.2f} s ({api_bytes:,} bytes); load average {os.getloadavg()[0]:.1f}"
            )
    finally:
        server.terminate()
        server.wait(30)
    floor = min(floors)  # as report_scale.py: the fastest read of the rows, the strictest ratio
    page, api = statistics.median(pages), statistics.median(numbers)
    console.print(
        f"web report, median of {rounds} (floor: the fastest read): floor {floor:.2f} s; "
        f"/report {page:.2f} s ({page / floor:.1f}x the floor); /api/report {api:.2f} s "
        f"({api / floor:.1f}x); aim 3x = {3 * floor:.2f} s; {os.cpu_count()} CPUs"
    )
    return {"floor_seconds": floor, "page_seconds": page, "api_seconds": api, "page_ratio": page / floor}


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 3)
