"""The log-in throttle under concurrency (D3), password hashing outside the database's write slot
(D4), and forwarded headers believed only from named proxies (D9). Issue 12."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine

from bontrack.auth.schemas import UserCreate
from bontrack.auth.service import Throttled, ThrottlePolicy, authenticate, create_user, use_password_hasher
from bontrack.storage.engine import transaction
from bontrack.web import db_turns
from bontrack.web.app import create_app
from bontrack.web.serve import proxy_settings
from bontrack.web.settings import WebSettings
from web.conftest import START, Site, csrf_from, email, password

CHEAP = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


@dataclass
class WatchingHasher(PasswordHasher):
    """Argon2 (cheap parameters) that notes what the database looked like whenever it hashed or
    verified: how many connections were checked out of the pool, whether another process could
    take SQLite's write lock at once, and whether a request held its turn at the database."""

    engine: Engine | None = None
    sqlite_path: str | None = None
    verified: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        super().__init__(**CHEAP)

    def _look(self, what: str) -> None:
        state: dict[str, Any] = {"what": what}
        if self.engine is not None:
            state["checked_out"] = self.engine.pool.checkedout()  # type: ignore[attr-defined]
        if self.sqlite_path is not None:
            other = sqlite3.connect(self.sqlite_path, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                state["write_lock_free"] = True
            except sqlite3.OperationalError:
                state["write_lock_free"] = False
            finally:
                other.close()
        state["turn_held"] = any(turn.locked() for turn in list(db_turns._db_turns.values()))
        with self.lock:
            self.seen.append(state)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self.lock:
            self.verified += 1
        self._look("verify")
        return super().verify(hash, password)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self._look("hash")
        return super().hash(password, salt=salt)


@pytest.fixture
def watching() -> Iterator[WatchingHasher]:
    hasher = WatchingHasher()
    use_password_hasher(hasher)
    yield hasher
    use_password_hasher(PasswordHasher(**CHEAP))


# ---- D3: the throttle is atomic ---------------------------------------------------------------------


def _concurrent_engine(engine: Engine) -> Engine:
    """PostgreSQL: a pool big enough that all 30 attempts hold their own connection at once."""
    if engine.dialect.name == "postgresql":
        return create_engine(engine.url, pool_size=32, max_overflow=0)
    return engine


def test_throttle__30_concurrent_wrong_passwords_check_exactly_5(
    engine: Engine, watching: WatchingHasher
) -> None:
    with transaction(engine) as db:
        data = UserCreate(
            email="target@clinic.example.org", role="staff", password="quiet-harbour-lantern-47"
        )
        create_user(db=db, actor="test:setup", data=data, now=START)
    watching.verified = 0
    busy = _concurrent_engine(engine)
    start = threading.Barrier(30)

    def attempt(i: int) -> str:
        start.wait()
        try:
            user = authenticate(
                engine=busy,
                email="target@clinic.example.org",
                password=f"wrong-guess-{i}",
                client=f"10.1.0.{i}",  # 30 addresses: only the account's limit applies
                now=START,
                policy=ThrottlePolicy(),
            )
        except Throttled:
            return "429"
        return "401" if user is None else "200"

    with ThreadPoolExecutor(max_workers=30) as pool:
        outcomes = list(pool.map(attempt, range(30)))
    if busy is not engine:
        busy.dispose()
    assert sorted(outcomes).count("401") == 5, outcomes
    assert outcomes.count("429") == 25
    assert watching.verified == 5  # exactly 5 passwords were checked


def test_throttle__a_right_password_is_refused_once_locked_and_clears_the_count(engine: Engine) -> None:
    with transaction(engine) as db:
        data = UserCreate(
            email="someone@clinic.example.org", role="staff", password="quiet-harbour-lantern-47"
        )
        create_user(db=db, actor="test:setup", data=data, now=START)
    policy = ThrottlePolicy()

    def go(pw: str, at: Any = START) -> str:
        try:
            user = authenticate(
                engine=engine,
                email="someone@clinic.example.org",
                password=pw,
                client="10.2.0.1",
                now=at,
                policy=policy,
            )
        except Throttled:
            return "429"
        return "401" if user is None else "200"

    assert [go("wrong-one") for _ in range(4)] == ["401"] * 4
    assert go("quiet-harbour-lantern-47") == "200"  # clears the account's count
    assert [go("wrong-two") for _ in range(5)] == ["401"] * 5
    assert go("quiet-harbour-lantern-47") == "429"
    assert go("quiet-harbour-lantern-47", START + policy.window) == "200"  # a new window


def test_throttle__30_concurrent_wrong_passwords_over_http_get_5_401s_and_25_429s(
    engine: Engine, watching: WatchingHasher
) -> None:
    """The same through a real server (uvicorn, the app's own log-in route), 30 clients at once."""
    with transaction(engine) as db:
        data = UserCreate(
            email="target@clinic.example.org", role="staff", password="quiet-harbour-lantern-47"
        )
        create_user(db=db, actor="test:setup", data=data, now=START)
    watching.verified = 0
    busy = _concurrent_engine(engine)
    server, thread, url = _serve_settings(WebSettings(engine=busy, clock=lambda: START), None)
    start = threading.Barrier(30)

    def attempt(i: int) -> int:
        with httpx.Client(base_url=url, timeout=60) as client:
            start.wait()
            form = {"username": "target@clinic.example.org", "password": f"wrong-guess-{i}"}
            return client.post("/api/auth/token", data=form).status_code

    try:
        with ThreadPoolExecutor(max_workers=30) as pool:
            codes = list(pool.map(attempt, range(30)))
    finally:
        server.should_exit = True
        thread.join()
        if busy is not engine:
            busy.dispose()
    # all from one address too: its limit (20) is not reached by the 5 that are counted
    assert sorted(codes) == [401] * 5 + [429] * 25, codes
    assert watching.verified == 5


# ---- D4: Argon2 runs outside the write slot --------------------------------------------------------


def test_hashing__no_transaction_nor_turn_is_held_while_a_password_is_hashed_or_checked(
    site: Site, watching: WatchingHasher
) -> None:
    watching.engine = site.engine
    watching.sqlite_path = site.engine.url.database
    client = site.client
    # API log-in: right, wrong, unknown e-mail
    assert (
        client.post(
            "/api/auth/token", data={"username": email("staff"), "password": password("staff")}
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/api/auth/token", data={"username": email("staff"), "password": "nope-nope-nope"}
        ).status_code
        == 401
    )
    assert (
        client.post("/api/auth/token", data={"username": "x@y.org", "password": "nope-nope-nope"}).status_code
        == 401
    )
    # page log-in
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email("admin"), "password": password("admin"), "csrf_token": csrf_from(form.text)},
    )
    assert response.status_code == 303
    # an admin adds a user and sets a password, through the page and the API
    token = csrf_from(client.get("/users").text)
    added = client.post(
        "/users",
        data={
            "csrf_token": token,
            "email": "n1@clinic.example.org",
            "role": "staff",
            "password": "quiet-harbour-lantern-47",
        },
    )
    assert added.status_code == 303
    admin = site.bearer("admin")
    new = client.post(
        "/api/users",
        json={"email": "n2@clinic.example.org", "role": "staff", "password": "quiet-harbour-lantern-47"},
        headers=admin,
    )
    assert new.status_code == 201
    changed = client.post(
        f"/api/users/{new.json()['id']}/password", json={"password": "amber-cobalt-window-58"}, headers=admin
    )
    assert changed.status_code == 200
    assert (
        client.post(
            f"/users/{added.headers['location'].rsplit('=', 1)[1]}/password",
            data={"csrf_token": token, "password": "amber-cobalt-window-58"},
        ).status_code
        == 303
    )

    kinds = [s["what"] for s in watching.seen]
    assert kinds.count("verify") >= 5 and kinds.count("hash") >= 4
    held = [s for s in watching.seen if s["checked_out"] or not s["write_lock_free"] or s["turn_held"]]
    assert held == []


# ---- D9: X-Forwarded-For only from named proxies ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(site: Site, forwarded_allow_ips: str | None) -> tuple[uvicorn.Server, threading.Thread, str]:
    settings = WebSettings(engine=site.engine, clock=site.clock, throttle=ThrottlePolicy(max_per_client=3))
    return _serve_settings(settings, forwarded_allow_ips)


def _serve_settings(
    settings: WebSettings, forwarded_allow_ips: str | None
) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **proxy_settings(forwarded_allow_ips),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):  # wait until it listens (not a timed assertion: a readiness poll)
        if server.started:
            break
        time.sleep(0.01)
    assert server.started
    return server, thread, f"http://127.0.0.1:{port}"


def _spoofed_guesses(url: str, count: int) -> list[int]:
    """Wrong passwords for different accounts, each claiming another client address."""
    codes = []
    with httpx.Client(base_url=url) as client:
        for i in range(count):
            response = client.post(
                "/api/auth/token",
                data={
                    "username": f"guess-{uuid.uuid4().hex[:8]}@clinic.example.org",
                    "password": "wrong-guess",
                },
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            )
            codes.append(response.status_code)
    return codes


@pytest.mark.parametrize("allowed", [None, "", "10.9.9.9"])
def test_forwarded_for__not_believed_from_loopback_unless_named(site: Site, allowed: str | None) -> None:
    server, thread, url = _serve(site, allowed)
    try:
        codes = _spoofed_guesses(url, 4)
    finally:
        server.should_exit = True
        thread.join()
    assert codes == [401, 401, 401, 429]  # one address, the real one: its limit (3) holds


def test_forwarded_for__believed_from_a_named_proxy(site: Site) -> None:
    server, thread, url = _serve(site, "127.0.0.1")
    try:
        codes = _spoofed_guesses(url, 4)
    finally:
        server.should_exit = True
        thread.join()
    assert codes == [401, 401, 401, 401]  # four addresses, as the proxy reports them
