"""Patients' link tokens never reach a log line (issue 12, D16): `bontrack serve`'s access log
shows /p/[redacted] and /api/patient-link/[redacted], never the token."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bontrack.web.log_redaction import redact_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _answers(url: str) -> bool:
    try:
        return _get(url) == 200
    except OSError:
        return False


@pytest.mark.parametrize("workers", [1, 2])
def test_serve__access_log_redacts_patient_link_tokens(tmp_path: Path, workers: int) -> None:
    port = _free_port()
    log_path = tmp_path / "server.log"
    token = "TOKEN" + secrets.token_urlsafe(24)
    made = subprocess.run(  # an empty registry: serve refuses one that does not exist
        [sys.executable, "-m", "bontrack", "--db", f"sqlite:///{tmp_path / 'r.db'}", "db", "upgrade"],
        capture_output=True,
    )
    assert made.returncode == 0, made.stderr
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "bontrack", "--db", f"sqlite:///{tmp_path / 'r.db'}", "serve"),
                *("--port", str(port), "--workers", str(workers)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 180  # start-up (worker processes) on a busy machine
            while not _answers(f"{base}/health"):
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"the server did not start: {log_path.read_text()}")
                time.sleep(0.2)
            statuses = [
                _get(f"{base}/p/{token}"),
                _get(f"{base}/api/patient-link/{token}"),
                _get(f"{base}/api/patient-link/{token}/outcomes?x=1"),
            ]
            time.sleep(0.5)  # let the access log lines reach the file before stopping
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = log_path.read_text()
    assert '"GET /health HTTP/1.1" 200' in text  # the access log is on
    assert f'"GET /p/[redacted] HTTP/1.1" {statuses[0]}' in text
    assert f'"GET /api/patient-link/[redacted] HTTP/1.1" {statuses[1]}' in text
    assert f'"GET /api/patient-link/[redacted]/outcomes?x=1 HTTP/1.1" {statuses[2]}' in text
    assert token not in text and token[5:15] not in text


def test_redact_path__only_link_tokens() -> None:
    assert redact_path("/p/abc_DEF-123") == "/p/[redacted]"
    assert redact_path("GET /api/patient-link/abcdef/outcomes") == "GET /api/patient-link/[redacted]/outcomes"
    assert (
        redact_path("/patients/1234") == "/patients/1234" and redact_path("/api/patients") == "/api/patients"
    )
