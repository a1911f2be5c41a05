"""Two transactions writing therapy visits of the same patient at once (PostgreSQL, READ
COMMITTED: a physician and a therapist saving at the same moment). A therapy visit is watched by
the due items alone, but every refresher refreshes every patient touched, in the order they were
registered: the kept tables' locks (bontrack.storage.derived.one_writer) are taken first, so
this does not isolate the due items' own lock (a second line: without it the test still passes).
What it checks is the whole write: the second writer waits for the first's refresh, then derives
the patient's items from both writers' visits; neither fails, and the table equals its derivation
from scratch. It found a deadlock: the first unit of work, holding the patient's locks, inserted
a new audit text the second had inserted uncommitted before it waited for those locks (fixed in
bontrack.storage.audit_packs: new texts are committed at once; see
tests/storage/test_audit_texts_committed.py)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import Engine, text

from bontrack.scheduling import due
from bontrack.storage import derived
from bontrack.storage.engine import transaction
from bontrack.therapy.schemas import TherapyVisitCreate
from bontrack.therapy.service import record_visit
from factories import ACTOR, DAY, World, clinic_world, saved_session


def _visit(world: World, days: int) -> TherapyVisitCreate:
    return TherapyVisitCreate(
        patient_id=world.patient_id,
        plan_id=world.plan_id,
        date=DAY + dt.timedelta(days=days),
        therapist_id=world.clinician_id,
    )


def _waiting_on_a_lock(engine: Engine, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    query = text("select count(*) from pg_stat_activity where wait_event_type = 'Lock'")
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one() > 0:
                return True
        time.sleep(0.05)
    return False


def _sorted(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return sorted(rows, key=lambda r: str(r["item_key"]))


def test_two_writers_of_one_patients_visits_refresh_its_due_items_one_after_the_other(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite commits one writer at a time: two never overlap")
    with transaction(engine) as db:
        world = clinic_world(db)
        saved_session(db, world)  # so the patient has due items
    with transaction(engine) as db:
        assert due.kept(db, None), "the patient has due items before the two writers"
    errors: list[BaseException] = []
    first_refreshed = threading.Event()
    first_may_commit = threading.Event()

    def first() -> None:
        try:
            with transaction(engine) as db:
                record_visit(db=db, actor=ACTOR, data=_visit(world, 3))
                derived.refresh(db)  # the patient's due items replaced, not committed yet
                first_refreshed.set()
                first_may_commit.wait(30)
        except BaseException as error:
            errors.append(error)
            first_refreshed.set()

    def second() -> None:
        try:
            with transaction(engine) as db:
                record_visit(db=db, actor=ACTOR, data=_visit(world, 5))
        except BaseException as error:
            errors.append(error)

    one = threading.Thread(target=first)
    one.start()
    assert first_refreshed.wait(30)
    two = threading.Thread(target=second)
    two.start()
    try:
        assert _waiting_on_a_lock(engine), "the second writer waits for the first"
    finally:
        first_may_commit.set()
        one.join(30)
        two.join(30)
    assert errors == []
    with transaction(engine) as db:
        items = _sorted(due.kept(db, None))
        assert items, "the patient has due items"
        assert items == _sorted(due.derive_clinic(db, None))
