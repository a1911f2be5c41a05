"""Patients domain services. Keyword-only; every call is audited; none commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bontrack import records
from bontrack.dates import before_birth, born_after
from bontrack.errors import FieldError, InputError, NotFoundError, not_found_message
from bontrack.kinds import KINDS
from bontrack.patient_reads import current_of_patient
from bontrack.patients.kind import CLINIC, CLINICIAN, EPISODE, PATIENT
from bontrack.patients.models import ClinicianRow, EpisodeRow, PatientRow
from bontrack.patients.schemas import (
    ClinicCreate,
    ClinicianCreate,
    ClinicianRead,
    ClinicRead,
    EpisodeCreate,
    EpisodeRead,
    PatientCreate,
    PatientRead,
)
from bontrack.repository import Repository

_CLINIC = Repository.of(CLINIC)
_EPISODE = Repository.of(EPISODE)
_PATIENT = Repository.of(PATIENT)
_CLINICIAN = Repository.of(CLINICIAN)


def create_clinic(*, db: Session, actor: str, data: ClinicCreate) -> ClinicRead:
    """Register a clinic; its id is the clinic_id of everything recorded there."""
    clinic_id = records.new_id()
    return _CLINIC.create(db, actor, data, clinic_id, record_id=clinic_id)


def get_clinic(*, db: Session, actor: str, clinic_id: str, field: str = "clinic_id") -> ClinicRead:
    """The current version of a clinic."""
    return _CLINIC.get(db, actor, clinic_id, field=field)


def create_clinician(*, db: Session, actor: str, clinic_id: str, data: ClinicianCreate) -> ClinicianRead:
    """Register a clinician at a clinic."""
    get_clinic(db=db, actor=actor, clinic_id=clinic_id)
    return _CLINICIAN.create(db, actor, data, clinic_id)


def clinicians_of_clinic(*, db: Session, actor: str, clinic_id: str) -> list[ClinicianRead]:
    """Current clinicians of a clinic, by name (the pickers of injector, assessor, therapist)."""
    return sorted(_CLINICIAN.current(db, actor, clinic_id=clinic_id), key=lambda c: c.data.name)


def get_clinician(
    *, db: Session, actor: str, clinician_id: str, clinic_id: str, field: str = "clinician_id"
) -> ClinicianRead:
    """A clinician of the given clinic (one of another clinic is not found)."""
    row = records.get(db, row_cls=ClinicianRow, record_id=clinician_id, actor=actor, field=field)
    if row.clinic_id != clinic_id:
        raise InputError.one(field, f"clinician {clinician_id!r} does not work at this clinic")
    return records.to_read(row, ClinicianCreate)


def _check_unique_record_number(
    db: Session, *, actor: str, clinic_id: str, record_number: str, patient_id: str | None
) -> None:
    """A record number is one patient's in the clinic, whatever the case of its letters
    ("syn-000002" is "SYN-000002"): checked here, so every face (API, pages, FHIR import,
    corrections) refuses it alike. Registries that already hold such twins keep them."""
    same = records.find_current(
        db,
        row_cls=PatientRow,
        actor=actor,
        purpose="record number uniqueness",
        clinic_id=clinic_id,
        record_number=records.Caseless(record_number),
    )
    other = next((row for row in same if row.id != patient_id), None)
    if other is not None:
        written = "" if other.record_number == record_number else f" (written {other.record_number!r})"
        raise InputError.one(
            "record_number",
            f"{record_number!r} is already used by another patient of this clinic{written}; record "
            "numbers are the same whatever the case of their letters",
        )


def create_patient(*, db: Session, actor: str, clinic_id: str, data: PatientCreate) -> PatientRead:
    """Register a patient; the record number is unique within the clinic."""
    get_clinic(db=db, actor=actor, clinic_id=clinic_id)
    _check_unique_record_number(
        db, actor=actor, clinic_id=clinic_id, record_number=data.record_number, patient_id=None
    )
    return _PATIENT.create(db, actor, data, clinic_id)


def get_patient(*, db: Session, actor: str, patient_id: str, field: str = "patient_id") -> PatientRead:
    """The current version of a patient."""
    return _PATIENT.read(db, actor, patient_id, field=field)


def born_by(*, db: Session, actor: str, patient_id: str, **dates: dt.date) -> PatientRead:
    """The patient (read and audited), once each of the record's clinical dates (by field) is
    found on or after their birth date; else InputError naming each field (bontrack.dates.before_birth:
    the one rule, for every record a patient's date is on, created or corrected)."""
    patient = get_patient(db=db, actor=actor, patient_id=patient_id)
    born = patient.data.birth_date
    errors = [FieldError(f, m) for f, day in dates.items() if (m := before_birth(day, born)) is not None]
    if errors:
        raise InputError(errors)
    return patient


def update_patient(
    *, db: Session, actor: str, patient_id: str, data: PatientCreate, reason: str
) -> PatientRead:
    """Correct a patient's details (a new version): the record number stays unique in the clinic,
    and the birth date cannot move after the date of any of the patient's current records
    (``born_after``: the earliest is named with its date)."""

    def check(current: PatientRow) -> None:
        _check_unique_record_number(
            db,
            actor=actor,
            clinic_id=current.clinic_id,
            record_number=data.record_number,
            patient_id=patient_id,
        )
        if data.birth_date > dt.date.fromisoformat(str(current.data["birth_date"])):
            message = _records_before(db, actor, patient_id, data.birth_date)
            if message is not None:
                raise InputError.one("birth_date", message)

    return _PATIENT.update(db, actor, patient_id, data, reason, check=check)


def _records_before(db: Session, actor: str, patient_id: str, born: dt.date) -> str | None:
    """What is wrong with ``born`` as the patient's birth date given their current records of
    every dated kind (read in one query, audited): the earliest one dated before it, named."""
    kinds = [k for k in KINDS if k.dated_by is not None and k.patient_field == "patient_id"]
    found = current_of_patient(db, actor, patient_id, [Repository.of(k) for k in kinds])
    before = [
        (day, kind)
        for kind, reads in zip(kinds, found, strict=True)
        for read in reads
        if (day := getattr(read.data, str(kind.dated_by))) < born
    ]
    if not before:
        return None
    day, kind = min(before, key=lambda b: b[0])
    return born_after(born, kind.dated_words(day), day, len(before) - 1)


def withdraw_patient(*, db: Session, actor: str, patient_id: str, reason: str) -> PatientRead:
    """Mark a patient withdrawn (registered twice, or by mistake); the history stays.

    Refused while any current record of the patient remains (see bontrack.corrections for why):
    withdraw or correct those first.
    """
    return _PATIENT.withdraw(db, actor, patient_id, reason)


def patient_history(*, db: Session, actor: str, patient_id: str) -> list[PatientRead]:
    """Every version of a patient, oldest first."""
    return _PATIENT.history(db, actor, patient_id)


def list_patients(*, db: Session, actor: str, clinic_id: str) -> list[PatientRead]:
    """Current patients of a clinic."""
    return _PATIENT.current(db, actor, clinic_id=clinic_id)


def create_episode(*, db: Session, actor: str, data: EpisodeCreate) -> EpisodeRead:
    """Open a pain episode for a patient."""
    patient = born_by(db=db, actor=actor, patient_id=data.patient_id, pain_onset_date=data.pain_onset_date)
    return _EPISODE.create(db, actor, data, patient.clinic_id)


def get_episode(*, db: Session, actor: str, episode_id: str, field: str = "episode_id") -> EpisodeRead:
    """The current version of an episode."""
    return _EPISODE.get(db, actor, episode_id, field=field)


def update_episode(
    *, db: Session, actor: str, episode_id: str, data: EpisodeCreate, reason: str
) -> EpisodeRead:
    """Correct an episode (a new version), checked as when it was opened."""

    def check(_current: EpisodeRow) -> None:
        born_by(db=db, actor=actor, patient_id=data.patient_id, pain_onset_date=data.pain_onset_date)

    return _EPISODE.update(db, actor, episode_id, data, reason, check=check)


def withdraw_episode(*, db: Session, actor: str, episode_id: str, reason: str) -> EpisodeRead:
    """Mark an episode withdrawn; refused while current records of the episode remain."""
    return _EPISODE.withdraw(db, actor, episode_id, reason)


def episode_history(*, db: Session, actor: str, episode_id: str) -> list[EpisodeRead]:
    """Every version of an episode, oldest first."""
    return _EPISODE.history(db, actor, episode_id)


def episode_of(*, db: Session, actor: str, episode_id: str, patient_id: str) -> EpisodeRead:
    """An episode that must belong to the given patient."""
    episode = get_episode(db=db, actor=actor, episode_id=episode_id)
    if episode.data.patient_id != patient_id:
        raise not_the_patients(
            db,
            field="episode_id",
            record_type="episode",
            record_id=episode_id,
            clinic_id=episode.clinic_id,
            patient_id=patient_id,
        )
    return episode


def not_the_patients(
    db: Session, *, field: str, record_type: str, record_id: str, clinic_id: str, patient_id: str
) -> InputError:
    """The error for a referenced record of another patient: said so within the patient's clinic;
    of another clinic, the very error a missing record gets (its existence is not told)."""
    patient = records.latest(db, PatientRow, patient_id)
    if patient is not None and patient.clinic_id == clinic_id:
        words = {"injection_session": "session", "therapy_plan": "therapy plan"}.get(record_type, record_type)
        return InputError.one(field, f"{words} {record_id!r} belongs to another patient")
    return NotFoundError.one(field, not_found_message(record_type, record_id))


def page_patients(
    *, db: Session, actor: str, clinic_id: str | None, limit: int, offset: int, search: str | None = None
) -> tuple[int, list[PatientRead]]:
    """One page of current patients (of a clinic, or of every clinic) and the total; ``search``
    keeps those whose name or record number contains the text (any case)."""
    where = {"clinic_id": clinic_id} if clinic_id is not None else {}
    containing = (search, ("name", "record_number")) if search and search.strip() else None
    total, rows = records.page_current(
        db,
        row_cls=PatientRow,
        actor=actor,
        limit=limit,
        offset=offset,
        purpose=f"search {search.strip()!r}" if containing and search else None,
        containing=containing,
        **where,
    )
    return total, [records.to_read(r, PatientCreate) for r in rows]


def episodes_of_patient(*, db: Session, actor: str, patient_id: str) -> list[EpisodeRead]:
    """Current episodes of a patient, by onset date."""
    return _EPISODE.of_patient(db, actor, patient_id)
