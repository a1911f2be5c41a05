"""De-identified patient records: what a researcher may see.

No name, birth date or record number leaves here. A patient appears under a pseudonym (a keyed
hash of the internal id, stable for this registry, not reversible without the registry's key),
with a 10-year age band, and events are dated in days from the first pain onset rather than by
calendar date (HIPAA Safe Harbor removes every date element but the year; we keep none).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from bontrack.auth.models import ServerKeyRow
from bontrack.injections.service import sessions_of_patient
from bontrack.outcomes.service import outcomes_of_patient
from bontrack.patients.schemas import PatientRead
from bontrack.patients.service import episodes_of_patient, page_patients

KEY_NAME = "pseudonym"


class DeidentifiedSession(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: int | None
    product: str
    total_units: float
    decision: str
    overridden: bool
    physical_therapy: bool


class DeidentifiedOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: int | None
    instrument: str
    scores: dict[str, float | None]
    weeks_after_session: int | None


class DeidentifiedPatient(BaseModel):
    model_config = ConfigDict(frozen=True)

    pseudonym: str
    age_band: str
    sex: str
    sessions: list[DeidentifiedSession]
    outcomes: list[DeidentifiedOutcome]


def pseudonym_key(db: Session) -> bytes:
    """This registry's pseudonym key, made on first use."""
    row = db.get(ServerKeyRow, KEY_NAME)
    if row is None:
        row = ServerKeyRow(name=KEY_NAME, value=secrets.token_hex(32))
        db.add(row)
        db.flush()
    return bytes.fromhex(row.value)


def pseudonym(key: bytes, patient_id: str) -> str:
    """A stable pseudonym for a patient id."""
    return "R-" + hmac.new(key, patient_id.encode(), hashlib.sha256).hexdigest()[:16]


def age_band(birth_date: dt.date, on: dt.date) -> str:
    """Ten-year band of age on a date; 90 and over are one band (Safe Harbor)."""
    years = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    if years >= 90:
        return "90+"
    low = max(0, years) // 10 * 10
    return f"{low}-{low + 9}"


def _deidentify(
    db: Session, actor: str, key: bytes, patient: PatientRead, on: dt.date
) -> DeidentifiedPatient:
    episodes = episodes_of_patient(db=db, actor=actor, patient_id=patient.id)
    origin = min((e.data.pain_onset_date for e in episodes), default=None)

    def day(when: dt.date) -> int | None:
        return (when - origin).days if origin is not None else None

    return DeidentifiedPatient(
        pseudonym=pseudonym(key, patient.id),
        age_band=age_band(patient.data.birth_date, on),
        sex=patient.data.sex,
        sessions=[
            DeidentifiedSession(
                day=day(s.data.date),
                product=s.data.product,
                total_units=s.data.total_units,
                decision=s.data.decision.decision,
                overridden=s.data.override is not None,
                physical_therapy=s.data.physical_therapy,
            )
            for s in sessions_of_patient(db=db, actor=actor, patient_id=patient.id)
        ],
        outcomes=[
            DeidentifiedOutcome(
                day=day(o.data.date),
                instrument=o.data.instrument,
                scores=o.data.scoring.scores,
                weeks_after_session=o.data.weeks_after_session,
            )
            for o in outcomes_of_patient(db=db, actor=actor, patient_id=patient.id)
        ],
    )


def deidentified_patients(
    *,
    db: Session,
    actor: str,
    clinic_id: str | None,
    limit: int,
    offset: int,
    on: dt.date,
    key: bytes | None = None,
) -> tuple[int, list[DeidentifiedPatient]]:
    """One page of de-identified patients with their sessions and scored outcomes, and the total.
    ``key``: the pseudonym key, when ``db`` is a read replica's session (the key is the primary's)."""
    key = key if key is not None else pseudonym_key(db)
    total, patients = page_patients(db=db, actor=actor, clinic_id=clinic_id, limit=limit, offset=offset)
    return total, [_deidentify(db, actor, key, p, on) for p in patients]
