"""A real `bontrack serve` on a free loopback port, for the tests that drive it over HTTP
(Chromium, fhirpy): started, waited for until /health answers, stopped."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def live_server(db_url: str, folder: Path, *, wait_s: float = 60) -> Iterator[str]:
    """Serve ``db_url``; yields the base URL. The server's output goes to ``folder/server.log``
    (quoted when it does not start within ``wait_s``: a loaded machine imports the app slowly)."""
    port = free_port()
    log_path = folder / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bontrack",
                "--db",
                db_url,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/health", timeout=1) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"the server did not start: {log_path.read_text()}")
                    time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=10)
