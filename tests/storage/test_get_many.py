"""records.get_many reads with one statement per record type, built once and kept (the ids bound
when it runs): every call still gets the current versions of exactly the ids it asks for, in
chunks, of any record type, and audits each read. Real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bontrack import record_lookups, records
from bontrack.actor import Actor
from bontrack.audit.models import AuditEntry
from bontrack.patients import service as patients
from bontrack.patients.models import ClinicianRow, PatientRow
from bontrack.patients.schemas import ClinicCreate, PatientCreate
from bontrack.storage.engine import transaction
from factories import ACTOR, clinic_world


def _patient(number: str) -> PatientCreate:
    return PatientCreate(
        record_number=number, name=f"Patient {number}", birth_date=dt.date(1970, 1, 1), sex="male"
    )


def test_get_many__current_versions_of_the_ids_asked_each_call_in_chunks(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        made = [
            patients.create_patient(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=_patient(f"G-{n}")).id
            for n in range(5)
        ]
        other = patients.create_clinic(db=db, actor=ACTOR, data=ClinicCreate(name="Elsewhere"))
        stranger = patients.create_patient(db=db, actor=ACTOR, clinic_id=other.id, data=_patient("X-1")).id
    with transaction(engine) as db:  # a second version of one, another withdrawn
        patients.update_patient(
            db=db, actor=ACTOR, patient_id=made[1], data=_patient("G-1b"), reason="typo in the number"
        )
        patients.withdraw_patient(db=db, actor=ACTOR, patient_id=made[4], reason="registered twice")
    monkeypatch.setattr(record_lookups, "_IDS_PER_QUERY", 2)  # several chunks through the one statement
    scoped = Actor(ACTOR, clinic_id=world.clinic_id, role="physician")
    with transaction(engine) as db:
        before = _reads(db)
        asked = [*made, "no-such-id", stranger, made[0]]
        found = records.get_many(db, row_cls=PatientRow, record_ids=asked, actor=ACTOR, purpose="test")
        assert list(found) == [*made[:4], stranger]
        assert found[made[1]].version == 2 and found[made[1]].data["record_number"] == "G-1b"
        # the same statement again, other ids; a clinic-scoped actor sees only its clinic's
        again = records.get_many(db, row_cls=PatientRow, record_ids=made[2:], actor=scoped)
        assert list(again) == made[2:4]
        # another record type: a statement of its own
        doctors = records.get_many(
            db, row_cls=ClinicianRow, record_ids=[world.clinician_id, made[0]], actor=ACTOR
        )
        assert list(doctors) == [world.clinician_id]
        assert records.get_many(db, row_cls=PatientRow, record_ids=[], actor=ACTOR) == {}
    with transaction(engine) as db:
        assert _reads(db) - before == 5 + 2 + 1  # one audited read per record returned


def _reads(db: Session) -> int:
    query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "read")
    return int(db.scalar(query) or 0)
