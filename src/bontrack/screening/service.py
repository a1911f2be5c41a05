"""Screening services."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy.orm import Session

from bontrack.errors import FieldError, InputError
from bontrack.knowledge import KnowledgeBase, load_knowledge
from bontrack.knowledge.screening_names import allergies_named, allergies_not_named
from bontrack.patients.service import born_by
from bontrack.repository import Repository
from bontrack.screening.kind import SCREENING
from bontrack.screening.models import ScreeningRow
from bontrack.screening.schemas import ScreeningCreate, ScreeningRead

_SCREENING = Repository.of(SCREENING)


def _why_not(value: str, kb: KnowledgeBase) -> str:
    """ " (coconut milk: a plant milk ...; no cow's milk protein)": why a phrase in the entry is
    not the allergy whose name it holds (``allergies_not_named``), else ""."""
    said = "; ".join(allergies_not_named(value, kb))
    return f" ({said})" if said else ""


def _check_ids(data: ScreeningCreate) -> None:
    """Every allergy must name one the knowledge base knows, so the engine can judge it: its id
    or an alias, or an entry that names one as the check reads it ("Botox (hives)", "Albumin
    (Human)": ``knowledge.screening_names.allergies_named``), kept as written. Conditions are the
    knowledge base's ids."""
    kb = load_knowledge()
    errors = [
        FieldError(
            f"allergies[{i}]",
            f"{value!r} names none of the allergies screening asks about{_why_not(value, kb)}; allowed: "
            f"their ids ({', '.join(kb.files.allergies)}), or any entry that names one ('Botox (hives)', "
            "'Albumin (Human)')",
        )
        for i, value in enumerate(data.allergies)
        if not allergies_named(value, kb)
    ]
    known = kb.files.conditions
    errors += [
        FieldError(f"conditions[{i}]", f"unknown condition {value!r}; allowed: {', '.join(known)}")
        for i, value in enumerate(data.conditions)
        if value.lower() not in known
    ]
    if errors:
        raise InputError(errors)


def create_screening(*, db: Session, actor: str, data: ScreeningCreate) -> ScreeningRead:
    """Record a screening interview."""
    _check_ids(data)
    patient = born_by(db=db, actor=actor, patient_id=data.patient_id, date=data.date)
    return _SCREENING.create(db, actor, data, patient.clinic_id)


def update_screening(
    *, db: Session, actor: str, screening_id: str, data: ScreeningCreate, reason: str
) -> ScreeningRead:
    """Correct a screening (a new version), checked as when it was recorded."""

    def check(_current: ScreeningRow) -> None:
        _check_ids(data)
        born_by(db=db, actor=actor, patient_id=data.patient_id, date=data.date)

    return _SCREENING.update(db, actor, screening_id, data, reason, check=check)


def withdraw_screening(*, db: Session, actor: str, screening_id: str, reason: str) -> ScreeningRead:
    """Mark a screening withdrawn (sessions already saved keep the decision they were saved with)."""
    return _SCREENING.withdraw(db, actor, screening_id, reason)


def screening_history(*, db: Session, actor: str, screening_id: str) -> list[ScreeningRead]:
    """Every version of a screening, oldest first."""
    return _SCREENING.history(db, actor, screening_id)


def latest_screening(*, db: Session, actor: str, patient_id: str, on_or_before: date) -> ScreeningRead | None:
    """The most recent screening of a patient up to a date, or None."""
    current = _SCREENING.current(db, actor, purpose="latest screening", patient_id=patient_id)
    return latest_of(current, on_or_before)


def latest_of(screenings: Iterable[ScreeningRead], on_or_before: date) -> ScreeningRead | None:
    """Of screenings already read, the one the engine judges a plan of that day by: the latest
    dated on or before it (of one day's, the last recorded)."""
    found = [s for s in screenings if s.data.date <= on_or_before]
    return max(found, key=lambda s: (s.data.date, s.recorded_at), default=None)


def get_screening(
    *, db: Session, actor: str, screening_id: str, field: str = "screening_id"
) -> ScreeningRead:
    """The current version of a screening."""
    return _SCREENING.get(db, actor, screening_id, field=field)


def screenings_of_patient(*, db: Session, actor: str, patient_id: str) -> list[ScreeningRead]:
    """Current screenings of a patient, by date."""
    return _SCREENING.of_patient(db, actor, patient_id)
