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

import pytest
from sqlalchemy import Engine

from bontrack.scheduling import due
from bontrack.storage.engine import transaction
from bontrack.therapy.schemas import TherapyVisitCreate
from bontrack.therapy.service import record_visit
from factories import ACTOR, DAY, World, clinic_world, saved_session
from two_writers import two_writers


def _visit(world: World, days: int) -> TherapyVisitCreate:
    return TherapyVisitCreate(
        patient_id=world.patient_id,
        plan_id=world.plan_id,
        date=DAY + dt.timedelta(days=days),
        therapist_id=world.clinician_id,
    )


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
    waited, errors = two_writers(
        engine,
        lambda db: record_visit(db=db, actor=ACTOR, data=_visit(world, 3)),
        lambda db: record_visit(db=db, actor=ACTOR, data=_visit(world, 5)),
    )
    assert waited, "the second writer waits for the first"
    assert errors == []
    with transaction(engine) as db:
        items = _sorted(due.kept(db, None))
        assert items, "the patient has due items"
        assert items == _sorted(due.derive_clinic(db, None))
