"""Server CPU a chart page: `python benchmarks/chart_pages_cpu.py REGISTRY.db [N]` starts `bontrack
serve` on the registry (one with the demo log-ins: `bontrack user demo-logins`), logs in as the
demo physician, opens five charts to warm up, then N charts of other patients (each once, in a
fixed random order) one after another, and prints the server's CPU (its processes' user + system
time) a page. Run the code to measure with PYTHONPATH=its src, as benchmarks/pages_cpu.py."""

from __future__ import annotations

import random
import sqlite3
import sys
import time

import httpx
from pages_cpu import server_cpu
from web_load import start_server
from web_pages import SESSION_COOKIE, session_cookie

from bontrack.storage.record_ids import id_text


def main(registry: str, n: int) -> None:
    with sqlite3.connect(registry) as con:
        ids = [id_text(r[0]) for r in con.execute("select distinct id from patient_versions order by id")]
    random.Random(1).shuffle(ids)
    server, url = start_server(f"sqlite:///{registry}")
    try:
        cookie = session_cookie(url)
        with httpx.Client(base_url=url, cookies={SESSION_COOKIE: cookie}, timeout=60) as client:
            for patient_id in ids[:5]:
                client.get(f"/patients/{patient_id}")
            started, cpu = time.perf_counter(), server_cpu(server.pid)
            for patient_id in ids[5 : 5 + n]:
                answer = client.get(f"/patients/{patient_id}")
                if answer.status_code != 200:
                    raise RuntimeError(f"GET /patients/{patient_id}: {answer.status_code}")
            shown = min(n, len(ids) - 5)
            wall = 1000 * (time.perf_counter() - started) / shown
            used = 1000 * (server_cpu(server.pid) - cpu) / shown
            print(f"chart page: wall {wall:.1f} ms, server CPU {used:.1f} ms a page ({shown} patients)")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 150)
