"""Optimistic concurrency of corrections and withdrawals (QA B5, the lost update): a change made
from a version that is no longer current is refused (StaleError, 409 on the web) with who saved
the current one and when, and nothing of it is written; two writers adding the same next version
at once (PostgreSQL, READ COMMITTED) end the same way, not in a 500."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from bontrack import records
from bontrack.errors import StaleError
from bontrack.repository import expecting
from bontrack.screening.models import ScreeningRow
from bontrack.screening.schemas import ScreeningCreate
from bontrack.screening.service import create_screening, update_screening, withdraw_screening
from bontrack.storage.engine import transaction
from factories import ACTOR, clinic_world
from two_writers import two_writers

OTHER = "user:staff@clinic.test"


def _screening(patient_id: str, *medications: str) -> ScreeningCreate:
    return ScreeningCreate.model_validate(
        {"patient_id": patient_id, "date": dt.date(2026, 3, 1), "medications": list(medications)}
    )


def _saved(engine: Engine) -> tuple[str, str]:
    with transaction(engine) as db:
        world = clinic_world(db)
        screening = create_screening(db=db, actor=ACTOR, data=_screening(world.patient_id, "ibuprofen"))
    return world.patient_id, screening.id


def _versions(engine: Engine, screening_id: str) -> list[tuple[int, list[str]]]:
    with transaction(engine) as db:
        rows = db.scalars(
            select(ScreeningRow).where(ScreeningRow.id == screening_id).order_by(ScreeningRow.version)
        )
        return [(r.version, list(r.data["medications"])) for r in rows]


def test_a_correction_from_an_earlier_version_is_refused_and_writes_nothing(engine: Engine) -> None:
    patient_id, screening_id = _saved(engine)
    with transaction(engine) as db, expecting(db, screening_id, 1):
        update_screening(
            db=db,
            actor=ACTOR,
            screening_id=screening_id,
            data=_screening(patient_id, "ibuprofen", "warfarin 5 mg"),
            reason="warfarin left off",
        )
    with pytest.raises(StaleError) as raised, transaction(engine) as db, expecting(db, screening_id, 1):
        update_screening(
            db=db, actor=OTHER, screening_id=screening_id, data=_screening(patient_id), reason="stale form"
        )
    message = raised.value.errors[0].message
    assert raised.value.errors[0].field == "version" and raised.value.current_version == 2
    assert message.startswith(f"This screening was changed by {ACTOR} at ")
    assert message.endswith("your changes were not saved. Open it again to see the current version.")
    with pytest.raises(StaleError), transaction(engine) as db, expecting(db, screening_id, 1):
        withdraw_screening(db=db, actor=OTHER, screening_id=screening_id, reason="stale confirmation")
    assert _versions(engine, screening_id) == [(1, ["ibuprofen"]), (2, ["ibuprofen", "warfarin 5 mg"])]
    # from the current version it is saved; a version that never was is named
    with transaction(engine) as db, expecting(db, screening_id, 2):
        withdraw_screening(db=db, actor=OTHER, screening_id=screening_id, reason="entered in error")
    assert len(_versions(engine, screening_id)) == 3


def test_a_version_that_does_not_exist_yet_is_refused(engine: Engine) -> None:
    patient_id, screening_id = _saved(engine)
    with pytest.raises(StaleError) as raised, transaction(engine) as db, expecting(db, screening_id, 7):
        update_screening(
            db=db, actor=ACTOR, screening_id=screening_id, data=_screening(patient_id), reason="typo"
        )
    assert "has no version 7 (its current version is 1)" in raised.value.errors[0].message


def test_the_same_next_version_inserted_twice_is_a_stale_error_not_a_database_error(engine: Engine) -> None:
    """The writer who read version 1 before another added version 2 collides on the primary key:
    reported as StaleError naming the other writer, and the unit can go on (a savepoint)."""
    patient_id, screening_id = _saved(engine)
    with transaction(engine) as db:
        before = records.latest(db, ScreeningRow, screening_id)
        assert before is not None and before.version == 1
        records.update(
            db,
            row_cls=ScreeningRow,
            record_id=screening_id,
            data=_screening(patient_id, "warfarin"),
            actor=OTHER,
            reason="first",
        )
        with pytest.raises(StaleError) as raised:
            records._next_version(db, before, {"patient_id": patient_id}, ACTOR, "second", withdrawn=False)
        assert f"changed by {OTHER.removeprefix('user:')} at " in raised.value.errors[0].message
        mine = select(func.count()).select_from(ScreeningRow).where(ScreeningRow.id == screening_id)
        assert db.scalar(mine) == 2  # the unit can still read
    assert _versions(engine, screening_id)[-1] == (2, ["warfarin"])


def test_two_writers_correcting_at_once_the_second_is_refused(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite commits one writer at a time: two never overlap")
    patient_id, screening_id = _saved(engine)

    def correct(medication: str, actor: str) -> object:
        return lambda db: update_screening(
            db=db, actor=actor, screening_id=screening_id, data=_screening(patient_id, medication), reason="x"
        )

    waited, errors = two_writers(engine, correct("warfarin", ACTOR), correct("aspirin", OTHER))
    assert waited, "the second writer waits for the first"
    assert len(errors) == 1 and isinstance(errors[0], StaleError), errors
    assert f"changed by {ACTOR} at " in errors[0].errors[0].message
    assert _versions(engine, screening_id) == [(1, ["ibuprofen"]), (2, ["warfarin"])]
