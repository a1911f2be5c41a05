"""What the web app is built with: the database, a clock, and the security knobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from bontrack.auth.service import ThrottlePolicy
from bontrack.clock import utcnow

system_clock = utcnow  # naive UTC, as every stored time


@dataclass
class WebSettings:
    """One app = one registry. Tests pass their own clock to judge expiry without waiting."""

    engine: Engine
    # reports and research reads come from here when set (a PostgreSQL standby; see
    # bontrack.storage.replica); writes and every audit entry go to ``engine``
    read_engine: Engine | None = None
    # SQLite: the read requests' engine on the same file (read-only, deferred transactions: no
    # write lock, no turn; bontrack.web.deps.get_db). Made by create_app; None on PostgreSQL.
    local_reads: Engine | None = None
    clock: Callable[[], datetime] = system_clock
    # Secure cookies need HTTPS: on behind a TLS proxy, off for http://127.0.0.1 on a laptop.
    secure_cookies: bool = False
    # How long log-ins last (every duration of sessions and tokens is set here):
    # a browser session ends 12 h after log-in, or after 30 minutes without a request;
    # an API bearer token ends 12 h after it was issued. Deactivating a user or changing their
    # password ends both at once.
    session_lifetime: timedelta = timedelta(hours=12)
    session_idle_timeout: timedelta = timedelta(minutes=30)
    token_lifetime: timedelta = timedelta(hours=12)
    # failed log-ins: 5 per account, 20 per client address, within 15 minutes
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    # how patients' links begin (e.g. https://clinic.example.org); default: the request's own URL
    public_url: str | None = None
    # /health asks the database at most this often (tests: 0, every time)
    health_probe_seconds: float = 1.0
