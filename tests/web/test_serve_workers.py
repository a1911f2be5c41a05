"""`bontrack serve --workers 2`: each worker listens on a socket of its own on the one port
(SO_REUSEPORT, bontrack.web.serve), so a port already in use must still be refused up front,
with exit code 2 and a message naming --port, not a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="SO_REUSEPORT is Linux's and BSD's")
@pytest.mark.parametrize("reuse_port", [False, True], ids=["plain", "another_serve"])
def test_serve__workers_on_a_port_in_use__exit_2_naming_the_port(tmp_path: Path, reuse_port: bool) -> None:
    """``another_serve``: the port is held as another `bontrack serve --workers 2` holds it (with
    SO_REUSEPORT), which the kernel would let a second server share: two registries answering on
    one port at random. It must be refused all the same."""
    taken = socket.socket()
    if reuse_port:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    exe = str(Path(sys.executable).with_name("bontrack"))
    made = subprocess.run(
        [exe, "--db", f"sqlite:///{tmp_path / 'r.db'}", "db", "upgrade"], capture_output=True
    )
    assert made.returncode == 0, made.stderr  # (a registry that does not exist is refused first)
    try:
        done = subprocess.run(
            [exe, "--db", f"sqlite:///{tmp_path / 'r.db'}", "serve", "--port", str(port), "--workers", "2"],
            capture_output=True,
            text=True,
            timeout=120,
            env=os.environ.copy(),
        )
    finally:
        taken.close()
    assert done.returncode == 2, done.stderr
    assert "--port" in done.stderr and "in use" in done.stderr
    assert "Traceback" not in done.stderr
