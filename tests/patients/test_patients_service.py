"""Patients services: versions, withdrawal, history, audit, validation."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from bontrack.audit.service import entries
from bontrack.errors import ConflictError, InputError, NotFoundError
from bontrack.patients import service
from bontrack.patients.models import PatientRow
from bontrack.patients.schemas import ClinicCreate, EpisodeCreate, PatientCreate
from bontrack.schemas import parse
from bontrack.storage.engine import transaction
from factories import ACTOR, clinic_world


def _patient(record_number: str = "P-002", name: str = "Second Patient") -> PatientCreate:
    return PatientCreate(record_number=record_number, name=name, birth_date=dt.date(1990, 2, 3), sex="male")


def test_create_patient__duplicate_record_number_in_clinic_is_refused(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        with pytest.raises(InputError) as info:
            service.create_patient(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=_patient("P-001"))
    assert info.value.errors[0].field == "record_number"


@pytest.mark.parametrize("number", ["p-001", "P-001", "p-00\u0031"])
def test_create_patient__record_number_differing_only_in_case_is_refused(engine: Engine, number: str) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        with pytest.raises(InputError) as info:
            service.create_patient(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=_patient(number))
    (error,) = info.value.errors
    assert (
        error.field == "record_number" and "already used by another patient of this clinic" in error.message
    )
    if number != "P-001":
        assert "(written 'P-001')" in error.message and "whatever the case" in error.message


def test_record_number__case_checked_in_a_bulk_block_and_beyond_ten_letters(engine: Engine) -> None:
    from bontrack.storage.bulk import bulk

    long_number = "MRN-ABCDEFGHIJKLM-7"  # 13 letters: more spellings than are looked up one by one
    with transaction(engine) as db:
        world = clinic_world(db)
        service.create_patient(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=_patient(long_number))
    with transaction(engine) as db, pytest.raises(InputError):
        service.create_patient(
            db=db, actor=ACTOR, clinic_id=world.clinic_id, data=_patient(long_number.lower())
        )
    with transaction(engine) as db, pytest.raises(InputError), bulk(db):
        service.create_patient(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=_patient("Q-1"))
        service.create_patient(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=_patient("q-1"))
    with transaction(engine) as db:  # another clinic may use it
        other = service.create_clinic(db=db, actor=ACTOR, data=world_clinic("Eastside"))
        service.create_patient(db=db, actor=ACTOR, clinic_id=other.id, data=_patient("p-001"))


def test_update_patient__a_correction_to_another_patients_number_in_other_case_is_refused(
    engine: Engine,
) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        second = service.create_patient(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=_patient("P-002"))
        with pytest.raises(InputError) as info:
            service.update_patient(
                db=db,
                actor=ACTOR,
                patient_id=second.id,
                data=second.data.model_copy(update={"record_number": "p-001"}),
                reason="typo",
            )
        assert info.value.errors[0].field == "record_number"
        # its own number in another case is a correction of that patient
        own = service.update_patient(
            db=db,
            actor=ACTOR,
            patient_id=second.id,
            data=second.data.model_copy(update={"record_number": "p-002"}),
            reason="lower case",
        )
    assert own.data.record_number == "p-002"


def world_clinic(name: str) -> ClinicCreate:
    return ClinicCreate(name=name)


def test_create_patient__unknown_clinic_is_refused(engine: Engine) -> None:
    with transaction(engine) as db, pytest.raises(NotFoundError) as info:
        service.create_patient(db=db, actor=ACTOR, clinic_id="no-such-clinic", data=_patient())
    assert info.value.errors[0].field == "clinic_id"


def test_update_patient__writes_new_version_and_keeps_history(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        old = service.get_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
        new = service.update_patient(
            db=db,
            actor="dr.b",
            patient_id=world.patient_id,
            data=old.data.model_copy(update={"name": "Corrected Name"}),
            reason="typo in the name",
        )
    with transaction(engine) as db:
        history = service.patient_history(db=db, actor=ACTOR, patient_id=world.patient_id)
        rows = db.scalar(
            select(func.count()).select_from(PatientRow).where(PatientRow.id == world.patient_id)
        )
    assert new.version == 2
    assert [h.data.name for h in history] == ["Test Patient", "Corrected Name"]
    assert [h.recorded_by for h in history] == [ACTOR, "dr.b"]
    assert history[1].reason == "typo in the name"
    assert rows == 2  # version 1 was not overwritten


def test_update_patient__audit_entry_has_before_and_after(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        old = service.get_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
        service.update_patient(
            db=db,
            actor="dr.b",
            patient_id=world.patient_id,
            data=old.data.model_copy(update={"sex": "other"}),
            reason="patient asked",
        )
        (entry,) = entries(db, record_id=world.patient_id, action="update")
    assert entry.actor == "dr.b"
    assert entry.before is not None and entry.before["data"]["sex"] == "female"
    assert entry.after is not None and entry.after["data"]["sex"] == "other"
    assert entry.version == 2 and entry.record_type == "patient" and entry.clinic_id == world.clinic_id


def test_get_patient__read_is_audited(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        before = len(entries(db, record_id=world.patient_id, action="read"))
        service.get_patient(db=db, actor="receptionist", patient_id=world.patient_id)
        reads = entries(db, record_id=world.patient_id, action="read")
    assert len(reads) == before + 1
    assert reads[-1].actor == "receptionist"


def test_withdraw_patient__hidden_from_reads_but_history_remains(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        twice = service.create_patient(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=_patient())
        service.withdraw_patient(db=db, actor=ACTOR, patient_id=twice.id, reason="registered twice")
        with pytest.raises(NotFoundError, match="withdrawn"):
            service.get_patient(db=db, actor=ACTOR, patient_id=twice.id)
        history = service.patient_history(db=db, actor=ACTOR, patient_id=twice.id)
        listed = service.list_patients(db=db, actor=ACTOR, clinic_id=world.clinic_id)
    assert [h.withdrawn for h in history] == [False, True]
    assert [p.id for p in listed] == [world.patient_id]


def test_withdraw_patient__refused_while_current_records_refer_to_them(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        with pytest.raises(ConflictError) as info:
            service.withdraw_patient(db=db, actor=ACTOR, patient_id=world.patient_id, reason="moved away")
        assert service.get_patient(db=db, actor=ACTOR, patient_id=world.patient_id).version == 1
    assert info.value.errors[0].field == "id"
    assert "1 episode" in str(info.value) and "1 therapy plan" in str(info.value)


def test_withdraw_patient__blank_reason_is_refused(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        with pytest.raises(InputError) as info:
            service.withdraw_patient(db=db, actor=ACTOR, patient_id=world.patient_id, reason="  ")
    assert info.value.errors[0].field == "reason"


def test_failed_transaction__leaves_registry_unchanged(engine: Engine) -> None:
    with pytest.raises(InputError), transaction(engine) as db:
        world = clinic_world(db)
        service.create_patient(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=_patient("P-001"))
    with transaction(engine) as db:
        assert db.scalar(select(func.count()).select_from(PatientRow)) == 0
        assert entries(db) == []


def test_episode_schema__bad_icd10_code_names_field() -> None:
    with pytest.raises(InputError) as info:
        parse(
            EpisodeCreate,
            {
                "patient_id": "x",
                "diagnosis_codes": [{"code": "neck pain"}],
                "pain_onset_date": "2025-01-01",
                "conservative_care_weeks": 8,
            },
        )
    assert info.value.errors[0].field == "diagnosis_codes[0].code"
    assert "not an ICD-10-CM code" in info.value.errors[0].message


def test_episode_schema__codes_are_normalised_to_upper_case() -> None:
    episode = parse(
        EpisodeCreate,
        {
            "patient_id": "x",
            "diagnosis_codes": [{"code": " m79.12 "}],
            "pain_onset_date": "2025-01-01",
            "conservative_care_weeks": 8,
        },
    )
    assert episode.diagnosis_codes[0].code == "M79.12"


def test_list_patients__corrected_record_number_is_found_only_by_its_new_value(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        old = service.get_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
        service.update_patient(
            db=db,
            actor=ACTOR,
            patient_id=world.patient_id,
            data=old.data.model_copy(update={"record_number": "P-009"}),
            reason="wrong number",
        )
        # the old number is free again, and reusing it makes a different patient
        again = service.create_patient(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=_patient("P-001"))
        listed = {
            p.data.record_number: p.id
            for p in service.list_patients(db=db, actor=ACTOR, clinic_id=world.clinic_id)
        }
    assert listed == {"P-009": world.patient_id, "P-001": again.id}
