"""Server CPU a page: `python benchmarks/pages_cpu.py REGISTRY.db [N]` starts `bontrack serve` on
the registry (one with the demo log-ins: `bontrack user demo-logins`), logs in as the demo
physician, sends N sequential GETs of the home page and of the worklist (twice each, after five
to warm up) and prints the server's CPU (its processes' user + system time) a request. Run the
code to measure with PYTHONPATH=its src (the server is started through the `bontrack` beside this
Python, which imports bontrack from the path). Sequential requests measure a page's cost without
the queueing of a load test (benchmarks/web_pages.py)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx
from web_load import start_server
from web_pages import SESSION_COOKIE, session_cookie

PATHS = ("/", "/worklist", "/", "/worklist")


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the server and its worker processes."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0
    for process in [pid, *map(int, children)]:
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main(registry: str, n: int) -> None:
    server, url = start_server(f"sqlite:///{registry}")
    try:
        cookie = session_cookie(url)
        with httpx.Client(base_url=url, cookies={SESSION_COOKIE: cookie}, timeout=60) as client:
            for path in PATHS:
                for _ in range(5):
                    client.get(path)
                started, cpu = time.perf_counter(), server_cpu(server.pid)
                for _ in range(n):
                    answer = client.get(path)
                    if answer.status_code != 200:
                        raise RuntimeError(f"GET {path}: {answer.status_code}")
                wall = 1000 * (time.perf_counter() - started) / n
                used = 1000 * (server_cpu(server.pid) - cpu) / n
                print(f"{path:10s} wall {wall:6.1f} ms  server CPU {used:6.1f} ms a request", flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40)
