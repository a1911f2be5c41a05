"""The last active admin is kept even when two admins deactivate each other at the same moment
(QA pass 5: on PostgreSQL each transaction counted the other admin still active, and both
deactivations were saved, leaving no admin)."""

from __future__ import annotations

import datetime as dt
import threading
import time

from sqlalchemy import Engine, select

from bontrack.auth.models import UserRow
from bontrack.auth.schemas import UserCreate
from bontrack.auth.service import create_user, deactivate_user
from bontrack.errors import ConflictError
from bontrack.storage.engine import transaction
from two_writers import waiting_on_a_lock


def test_two_admins_deactivating_each_other_at_once_leave_one_active(engine: Engine) -> None:
    now = dt.datetime(2026, 3, 2, 9, 0)
    with transaction(engine) as db:
        ids = [
            create_user(
                db=db,
                actor="test:setup",
                data=UserCreate(
                    email=f"{who}@clinic.example.org", role="admin", password="zebra-harmonica-tundra-58"
                ),
                now=now,
                password_hash="not-a-real-hash",
            ).id
            for who in ("ann", "bob")
        ]
    first_wrote, first_may_commit = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:  # ann deactivates bob, and holds her transaction open
        try:
            with transaction(engine) as db:
                deactivate_user(db=db, actor="user:ann@clinic.example.org", user_id=ids[1], now=now)
                first_wrote.set()
                first_may_commit.wait(30)
        except BaseException as error:
            errors.append(error)
            first_wrote.set()

    def second() -> None:  # bob deactivates ann meanwhile
        try:
            with transaction(engine) as db:
                deactivate_user(db=db, actor="user:bob@clinic.example.org", user_id=ids[0], now=now)
        except BaseException as error:
            errors.append(error)

    one = threading.Thread(target=first)
    one.start()
    assert first_wrote.wait(30)
    two = threading.Thread(target=second)
    two.start()
    if engine.dialect.name == "postgresql":
        waiting_on_a_lock(engine, seconds=3)
    else:
        time.sleep(0.5)  # SQLite: the second waits for the write lock
    first_may_commit.set()
    one.join(30)
    two.join(30)
    with transaction(engine) as db:
        active = db.scalars(select(UserRow.email).where(UserRow.role == "admin", UserRow.active)).all()
    assert active == ["ann@clinic.example.org"]
    assert len(errors) == 1 and isinstance(errors[0], ConflictError), errors
    assert "only active admin" in errors[0].errors[0].message
