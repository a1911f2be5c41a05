"""Clinical content is never updated or deleted in place: only INSERTs reach the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, event, inspect

from bontrack.injections import service as injections
from bontrack.injections.models import SessionFieldRow
from bontrack.outcomes.models import OutcomeScoreRow
from bontrack.patients import service as patients
from bontrack.patients.schemas import PatientCreate
from bontrack.scheduling.models import DueItemRow
from bontrack.storage.engine import transaction
from factories import ACTOR, clinic_world, saved_session, session_input

# the derived tables (the due items, the report's current outcomes): rows replaced per patient
DERIVED = {DueItemRow.__tablename__, OutcomeScoreRow.__tablename__, SessionFieldRow.__tablename__}


def test_workflow__issues_no_update_or_delete_statements(engine: Engine) -> None:
    statements: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        if words[0].upper() == "DELETE" and words[2].strip('"') in DERIVED:
            return  # the derived tables, replaced per patient (not records: see storage/derived.py)
        statements.append(words[0].upper())

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with transaction(engine) as db:
            world = clinic_world(db)
            session = saved_session(db, world)
            injections.update_session(
                db=db,
                actor=ACTOR,
                session_id=session.id,
                data=session_input(world, units=20),
                reason="dose corrected",
            )
            injections.withdraw_session(db=db, actor=ACTOR, session_id=session.id, reason="entered in error")
            twice = patients.create_patient(
                db=db,
                actor=ACTOR,
                clinic_id=world.clinic_id,
                data=PatientCreate(
                    record_number="P-002", name="Twice", birth_date=dt.date(1980, 1, 1), sex="male"
                ),
            )
            patients.withdraw_patient(db=db, actor=ACTOR, patient_id=twice.id, reason="registered twice")
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert "INSERT" in statements
    assert not {"UPDATE", "DELETE"} & set(statements)


def test_schema__every_record_table_has_a_required_clinic_id(engine: Engine) -> None:
    inspector = inspect(engine)
    for table in inspector.get_table_names():
        if table.endswith("_versions"):
            columns = {c["name"]: c for c in inspector.get_columns(table)}
            assert "clinic_id" in columns and columns["clinic_id"]["nullable"] is False, table


def test_versions__dates_round_trip_through_storage(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
    with transaction(engine) as db:
        patient = patients.get_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
    assert patient.data.birth_date == dt.date(1978, 5, 4)
    assert patient.recorded_at.tzinfo is None
