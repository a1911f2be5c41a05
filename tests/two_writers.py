"""Two units of work writing records of one patient at once (PostgreSQL, READ COMMITTED), the
first held after its derived tables' refresh (bontrack.storage.derived) until the second waits
for a lock: the harness of tests/outcomes/test_kept_two_writers.py and
tests/scheduling/test_due_two_writers.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bontrack.storage import derived
from bontrack.storage.engine import transaction


def waiting_on_a_lock(engine: Engine, seconds: float = 20.0) -> bool:
    """Whether some session of the server waits for a lock, within ``seconds``."""
    deadline = time.monotonic() + seconds
    query = text("select count(*) from pg_stat_activity where wait_event_type = 'Lock'")
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one() > 0:
                return True
        time.sleep(0.05)
    return False


def two_writers(
    engine: Engine, first_write: Callable[[Session], object], second_write: Callable[[Session], object]
) -> tuple[bool, list[BaseException]]:
    """Run ``first_write`` and refresh its derived rows, hold its transaction open, run
    ``second_write`` in a transaction of its own, then let the first commit. Returns whether the
    second waited for a lock meanwhile, and the errors either raised."""
    errors: list[BaseException] = []
    first_refreshed = threading.Event()
    first_may_commit = threading.Event()

    def first() -> None:
        try:
            with transaction(engine) as db:
                first_write(db)
                derived.refresh(db)  # the patient's rows replaced, not committed yet
                first_refreshed.set()
                first_may_commit.wait(30)
        except BaseException as error:
            errors.append(error)
            first_refreshed.set()

    def second() -> None:
        try:
            with transaction(engine) as db:
                second_write(db)
        except BaseException as error:
            errors.append(error)

    one = threading.Thread(target=first)
    one.start()
    if not first_refreshed.wait(30):
        raise AssertionError("the first writer did not reach its refresh")
    two = threading.Thread(target=second)
    two.start()
    try:
        waited = waiting_on_a_lock(engine)
    finally:
        first_may_commit.set()
        one.join(30)
        two.join(30)
    return waited, errors
