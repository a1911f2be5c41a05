"""`bontrack serve`: uvicorn on the web app, in one process or several (``--workers``).

Several worker processes are safe because nothing that must be shared lives in a process: users,
sessions, bearer tokens, CSRF tokens, patients' links and the log-in throttle's failure counts
are all rows in the registry. On SQLite each process still makes its writing requests take turns
among themselves (bontrack.web.db_turns.database_turn; read requests run on read-only connections,
beside them), and the processes take turns at SQLite's single write lock (BEGIN IMMEDIATE, after
waiting in the writers' queue, bontrack.storage.engine.write_turn); PostgreSQL has row-level
locking.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from bontrack.config import DATABASE_ENV

OPTIONS_ENV = "BONTRACK_SERVE_OPTIONS"  # how the parent hands its options to worker processes
MAX_AUTO_WORKERS = 4
SQLITE_AUTO_WORKERS = 2


@dataclass(frozen=True)
class ServeOptions:
    database_url: str
    secure_cookies: bool
    public_url: str | None
    # proxies whose X-Forwarded-For / -Proto are believed (comma-separated addresses or networks);
    # None: nobody's, the client is the peer of the connection
    forwarded_allow_ips: str | None = None
    # a read replica for reports and research reads (bontrack.storage.replica)
    read_database_url: str | None = None


def proxy_settings(forwarded_allow_ips: str | None) -> dict[str, Any]:
    """uvicorn's settings for forwarded headers. uvicorn's own default believes them from
    127.0.0.1, so any local process could claim any address and slip past the per-address
    log-in limit: here they are believed only from the proxies named."""
    import ipaddress

    from bontrack.errors import InputError

    allowed = [a.strip() for a in (forwarded_allow_ips or "").split(",") if a.strip()]
    for entry in allowed:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise InputError.one(
                "--forwarded-allow-ips",
                f"{entry!r} is not an IP address or network; give the proxy's addresses, "
                "comma-separated (e.g. 127.0.0.1 or 10.0.0.0/8)",
            ) from None
    if not allowed:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": allowed}


def cpu_count() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_workers(cpus: int, dialect: str) -> int:
    """PostgreSQL: one worker process per CPU, at most MAX_AUTO_WORKERS. SQLite: one per CPU, at
    most SQLITE_AUTO_WORKERS: read requests run on read-only connections beside the writer (WAL)
    and hand their audit entries to one batch writer per process, so a second process serves
    reads on the second CPU; writes still take turns at SQLite's one write lock, and more
    processes would only poll for it. (Measured on 2 CPUs, 10,000 patients, 32 x 1 request/s:
    home page p95 2.1 s with one process, 87 ms with two.)"""
    if dialect == "sqlite":
        return max(1, min(cpus, SQLITE_AUTO_WORKERS))
    return max(1, min(cpus, MAX_AUTO_WORKERS))


def build_app(options: ServeOptions) -> FastAPI:
    from bontrack.storage.engine import open_engine
    from bontrack.storage.replica import open_read_engine
    from bontrack.web.app import create_app
    from bontrack.web.settings import WebSettings

    engine = open_engine(options.database_url)
    app = create_app(
        WebSettings(
            engine=engine,
            read_engine=open_read_engine(options.read_database_url, engine)
            if options.read_database_url
            else None,
            secure_cookies=options.secure_cookies,
            public_url=options.public_url,
        )
    )
    settle_heap()
    return app


# Young objects looked at every 10,000 allocations, not Python's 700: a chart read makes a few
# thousand objects that die with its request, and the default looked at them (and promoted the
# survivors into older generations, looked at again) several times a chart: 0.87 s of 1,800 charts'
# ~8.6 s of CPU went to the collector (benchmarks/chart_cpu.py), 0.2 s at these thresholds, the
# chart 4.65-4.96 -> 4.46-4.69 ms of CPU (docs/scale.md, session 17). A young collection stays
# short (about 2 ms): a request waits for it.
SERVER_GC_THRESHOLDS = (10_000, 10, 10)


def settle_heap() -> None:
    """Once the app is built, what it holds for the process's life (modules, routes, schemas, the
    knowledge base: some 250,000 objects) leaves the cyclic garbage collector's view
    (``gc.freeze``). Otherwise every older-generation collection walks all of it again while
    every request waits: measured on the chart (benchmarks/chart_cpu.py, which settles its app
    the same way), about 1 ms of CPU a chart. Objects made later are collected as before, at the
    server's pace (``SERVER_GC_THRESHOLDS``)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVER_GC_THRESHOLDS)


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory; the options come from the parent)."""
    raw = json.loads(os.environ[OPTIONS_ENV])
    return build_app(ServeOptions(**raw))


def serve(options: ServeOptions, *, host: str, port: int, workers: int, app: FastAPI | None = None) -> None:
    """Serve until interrupted; ``workers`` > 1 runs that many processes on one socket (``app``:
    the one-process server's app, when the caller has built it already)."""
    import uvicorn

    from bontrack.web.log_redaction import uvicorn_log_config

    log_config = uvicorn_log_config()  # patients' link tokens never reach a log line
    proxy = proxy_settings(options.forwarded_allow_ips)
    if workers <= 1:
        uvicorn.run(
            app or build_app(options), host=host, port=port, log_level="info", log_config=log_config, **proxy
        )
        return
    os.environ[OPTIONS_ENV] = json.dumps(options.__dict__)
    os.environ[DATABASE_ENV] = options.database_url
    settings: dict[str, Any] = dict(
        factory=True, host=host, port=port, workers=workers, log_level="info", log_config=log_config, **proxy
    )
    if not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run("bontrack.web.serve:worker_app", **settings)
        return
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("bontrack.web.serve:worker_app", **settings)
    Multiprocess(config, sockets=[_placeholder((host, port))]).run()


# Several workers, each listening on a socket of its own (SO_REUSEPORT), not on one shared socket:
# on one shared socket the worker that wakes first accepts every connection waiting, and a
# burst of keep-alive clients (32 at once in the benchmark, or a proxy's pool) stayed with one
# worker while the other idled (measured: 15.5 s of CPU against 0.04 s). With a socket each, the
# kernel spreads new connections over the workers (by a hash of their addresses).
class _ReusePortSocket(socket.socket):
    """The parent's socket: bound with SO_REUSEPORT (the port is taken, so a port in use fails at
    once) but never listening, so it is handed no connection. Each worker process it is sent to
    (uvicorn's supervisor pickles it) gets a new socket of its own, bound to the same address."""

    address: tuple[str, int]

    def __reduce__(self) -> tuple[Any, tuple[tuple[str, int]]]:
        return (_worker_socket, (self.address,))


def _reuse_port(sock: socket.socket, address: tuple[str, int]) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.set_inheritable(True)


def _refuse_a_shared_port(address: tuple[str, int]) -> None:
    """Bind the address once WITHOUT SO_REUSEPORT and let it go: this fails while any socket holds
    the port, even another server's bound with SO_REUSEPORT, which the kernel would otherwise let
    this server share (two registries answering on one port, connection by connection)."""
    with socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)


def _worker_socket(address: tuple[str, int]) -> socket.socket:
    """A worker's own socket on the shared address (uvicorn makes it listen)."""
    sock = socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET)
    _reuse_port(sock, address)
    return sock


def _placeholder(address: tuple[str, int]) -> _ReusePortSocket:
    sock = _ReusePortSocket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET)
    sock.address = address
    try:
        _refuse_a_shared_port(address)
        _reuse_port(sock, address)
    except OSError as exc:
        sock.close()
        from bontrack.errors import InputError

        raise InputError.one(
            "--port", f"cannot listen on {address[0]}:{address[1]} ({exc.strerror}); give a free port"
        ) from None
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", *address
    )
    return sock
