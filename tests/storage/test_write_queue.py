"""Writers on one SQLite file take turns (bontrack.storage.engine.write_turn): two processes
writing flat out, each write holding the lock a while, and none waits out its lock wait and
fails with "database is locked" (SQLite's busy handler alone let one process take the lock again
and again while the other slept). Real processes on a real SQLite file.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from bontrack.patients import service as patients
from bontrack.patients.models import PatientRow
from bontrack.patients.schemas import ClinicCreate, PatientCreate
from bontrack.storage.engine import QUEUE_SUFFIX, make_engine, open_engine, transaction

WRITES = 60  # a process's writes: more than its lock wait of the other's writes in a row
HOLD_SECONDS = 0.1  # each write keeps SQLite's write lock this long (a slow write)


def _write(url: str, clinic_id: str, name: str, results: Any) -> None:
    """A process writing patients one after another, each transaction holding the lock a while;
    puts the errors it met (none expected)."""
    engine = make_engine(url)  # the requests' lock wait (5 s)
    errors: list[str] = []
    for i in range(WRITES):
        try:
            with transaction(engine) as db:
                data = PatientCreate(
                    record_number=f"{name}-{i}", name=name, birth_date=dt.date(1970, 1, 1), sex="other"
                )
                patients.create_patient(db=db, actor="test:writer", clinic_id=clinic_id, data=data)
                time.sleep(HOLD_SECONDS)  # (in the transaction: the write lock is held from its start)
        except OperationalError as exc:
            errors.append(str(exc.orig))
    engine.dispose()
    results.put((name, errors))


def test_two_processes_writing_flat_out__no_write_gives_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    engine = open_engine(url)
    with transaction(engine) as db:
        clinic_id = patients.create_clinic(db=db, actor="test:setup", data=ClinicCreate(name="Clinic")).id
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    writers = [spawn.Process(target=_write, args=(url, clinic_id, name, results)) for name in ("A", "B")]
    for writer in writers:
        writer.start()
    errors = dict(results.get(timeout=600) for _ in writers)  # (a guard against hanging)
    for writer in writers:
        writer.join()
    assert errors == {"A": [], "B": []}
    with transaction(engine) as db:
        assert db.scalar(select(func.count()).select_from(PatientRow)) == 2 * WRITES
    engine.dispose()


def test_a_turn_never_given_up__delays_a_writer_by_its_lock_wait_only(tmp_path: Path) -> None:
    """A holder of the turn that never lets go (a stuck process) does not stop writers for good:
    after its lock wait a writer goes on without the turn, and SQLite's own lock decides."""
    path = tmp_path / "registry.db"
    engine = open_engine(f"sqlite:///{path}")
    engine.dispose()
    stuck = os.open(f"{path}{QUEUE_SUFFIX}", os.O_RDWR | os.O_CREAT)
    fcntl.flock(stuck, fcntl.LOCK_EX)
    written: list[int] = []
    try:
        waiting = make_engine(f"sqlite:///{path}", lock_wait_ms=200)

        def write() -> None:
            with transaction(waiting) as db:
                written.append(db.execute(text("SELECT 1")).scalar_one())

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=120)  # (a guard against hanging, not a timed assertion)
        assert not writer.is_alive(), "the writer waits for a turn that never comes"
        waiting.dispose()
    finally:
        os.close(stuck)
    assert written == [1]
