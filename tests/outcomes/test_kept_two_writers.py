"""Two transactions writing outcomes of the same patient at once (PostgreSQL, READ COMMITTED: a
physician and a therapist saving at the same moment, or the web benchmark's 32 writers): the
second waits for the first's refresh of the patient's kept rows (bontrack.storage.kept: the
outcomes' scores; bontrack.scheduling.due: the due items), then derives them from both writers'
records; neither fails on a duplicate key, and each table equals its derivation from scratch.
SQLite has one writer at a time, so there the two never overlap. (Here the outcomes' lock is
taken first and so serializes the due items' refresh too; the due items take the same lock for
writes that touch no kept table, which this test does not isolate.)"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from bontrack.outcomes import scores_kept
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.outcomes.service import record_outcome
from bontrack.scheduling import due
from bontrack.storage import derived
from bontrack.storage.engine import transaction
from factories import ACTOR, clinic_world, saved_session
from two_writers import two_writers


def _nprs(patient_id: str, episode_id: str, day: int, score: int) -> OutcomeCreate:
    return OutcomeCreate.model_validate(
        {
            "patient_id": patient_id,
            "episode_id": episode_id,
            "instrument": "nprs",
            "date": dt.date(2026, 3, day),
            "answers": {"1": score},
        }
    )


def test_two_writers_of_one_patient_refresh_its_kept_rows_one_after_the_other(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite commits one writer at a time: two never overlap")
    with transaction(engine) as db:
        world = clinic_world(db)
        saved_session(db, world)  # so the patient has due items too (bontrack.scheduling.due)
        record_outcome(db=db, actor=ACTOR, data=_nprs(world.patient_id, world.episode_id, 3, 7))
    waited, errors = two_writers(
        engine,
        lambda db: record_outcome(db=db, actor=ACTOR, data=_nprs(world.patient_id, world.episode_id, 4, 5)),
        lambda db: record_outcome(db=db, actor=ACTOR, data=_nprs(world.patient_id, world.episode_id, 5, 4)),
    )
    assert waited, "the second writer waits for the first"
    assert errors == []
    with transaction(engine) as db:
        kept = sorted(scores_kept.kept(db, None), key=lambda r: str(r["date"]))
        assert kept == sorted(scores_kept.derive_clinic(db, None), key=lambda r: str(r["date"]))
        items = sorted(due.kept(db, None), key=lambda r: r["item_key"])
        assert items, "the patient has due items"
        assert items == sorted(due.derive_clinic(db, None), key=lambda r: r["item_key"])
    assert [r["date"] for r in kept] == [dt.date(2026, 3, d) for d in (3, 4, 5)]


DERIVED_TABLES = ("due_items", "outcome_scores", "session_fields")


def test_a_refresh_of_thousands_of_patients_locks_each_table_of_the_clinic_whole(engine: Engine) -> None:
    """An import refreshes every patient it wrote in one transaction: past PATIENT_LOCKS
    patients it takes one lock per derived table of the clinic, not one per patient
    (PostgreSQL's lock table is shared and bounded), and a later small refresh adds none."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes no locks for a refresh")
    mine = text("select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()")
    with transaction(engine) as db:
        world = clinic_world(db)
    with transaction(engine) as db:
        derived.refresh_for(db, {world.clinic_id: {world.patient_id}})
        few = db.execute(mine).scalar_one()
        assert few == 2 * len(DERIVED_TABLES), "a patient's lock and its table's shared lock, for each table"
    with transaction(engine) as db:
        many = {f"00000000-0000-4000-8000-{n:012d}" for n in range(derived.PATIENT_LOCKS + 1)}
        derived.refresh_for(db, {world.clinic_id: many})
        whole = db.execute(mine).scalar_one()
        # one lock per derived table: due_items, outcome_scores, session_fields (each refresher
        # takes its locks for the patients touched even with nothing of its own to derive)
        assert whole == len(DERIVED_TABLES), "one lock per derived table"
        derived.refresh_for(db, {world.clinic_id: {world.patient_id}})
        assert db.execute(mine).scalar_one() == whole
