"""Outcome services."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from bontrack.errors import FieldError, InputError
from bontrack.injections.service import session_of_patient
from bontrack.outcomes.kind import OUTCOME
from bontrack.outcomes.schemas import OutcomeCreate, OutcomeRead, OutcomeRecord, OutcomeScores
from bontrack.patients.service import born_by, episode_of
from bontrack.repository import Repository

_OUTCOME = Repository.of(OUTCOME)


def _scored(
    *, db: Session, actor: str, data: OutcomeCreate, patient_reported: bool = False
) -> tuple[str, OutcomeRecord]:
    """Check a measurement's references and score its answers: (clinic id, what is stored)."""
    episode = episode_of(db=db, actor=actor, episode_id=data.episode_id, patient_id=data.patient_id)
    errors = []
    if (data.session_id is None) != (data.weeks_after_session is None):
        errors.append(
            FieldError("weeks_after_session", "give both session_id and weeks_after_session, or neither")
        )
    if data.session_id is not None:
        session = session_of_patient(
            db=db, actor=actor, session_id=data.session_id, patient_id=data.patient_id
        )
        if data.date < session.data.date:
            errors.append(FieldError("date", f"is before the session date {session.data.date}"))
    if errors:
        raise InputError(errors)
    born_by(db=db, actor=actor, patient_id=data.patient_id, date=data.date)
    return episode.clinic_id, OutcomeRecord(
        **data.model_dump(),
        scoring=score_answers(data.instrument, data.answers),
        patient_reported=patient_reported,
    )


def record_outcome(
    *, db: Session, actor: str, data: OutcomeCreate, patient_reported: bool = False
) -> OutcomeRead:
    """Record one completed questionnaire or measurement with its raw answers; ``patient_reported``:
    the patient filled it in themself (through a one-time link), marked so on the chart."""
    clinic_id, record = _scored(db=db, actor=actor, data=data, patient_reported=patient_reported)
    return _OUTCOME.create(db, actor, record, clinic_id)


def update_outcome(
    *, db: Session, actor: str, outcome_id: str, data: OutcomeCreate, reason: str
) -> OutcomeRead:
    """Correct a measurement (a new version): checked and scored again by the current scorer, as
    when it was recorded; the earlier version keeps its own scores and scorer version."""
    return _OUTCOME.update(
        db,
        actor,
        outcome_id,
        data,
        reason,
        # a correction keeps who answered (the patient, through a link, or the clinic)
        check=lambda current: _scored(
            db=db, actor=actor, data=data, patient_reported=bool(current.data.get("patient_reported", False))
        )[1],
    )


def withdraw_outcome(*, db: Session, actor: str, outcome_id: str, reason: str) -> OutcomeRead:
    """Mark a measurement withdrawn (it leaves the chart, the reports and the cycle responses)."""
    return _OUTCOME.withdraw(db, actor, outcome_id, reason)


def outcome_history(*, db: Session, actor: str, outcome_id: str) -> list[OutcomeRead]:
    """Every version of a measurement, oldest first."""
    return _OUTCOME.history(db, actor, outcome_id)


def score_answers(instrument: str, answers: Mapping[str, object]) -> OutcomeScores:
    """Score a form with the instrument's published rule; bad answers are an InputError."""
    from bontrack.instruments import INSTRUMENT_IDS, SCORER_VERSION, AnswerError, InstrumentError, score

    if instrument not in INSTRUMENT_IDS:
        raise InputError.one(
            "instrument", f"unknown instrument {instrument!r}; allowed: {', '.join(INSTRUMENT_IDS)}"
        )
    try:
        result = score(instrument, answers)
    except AnswerError as exc:
        field = f"answers.{exc.item}" if exc.item is not None else "answers"
        raise InputError.one(field, str(exc)) from None
    except InstrumentError as exc:
        raise InputError.one("answers", str(exc)) from None
    return OutcomeScores(
        scores=dict(result.scores),
        answered=result.answered,
        missing=list(result.missing),
        band=result.band,
        reason=result.reason,
        scorer_version=SCORER_VERSION,
    )


def outcomes_of_patient(*, db: Session, actor: str, patient_id: str) -> list[OutcomeRead]:
    """Current outcome measurements of a patient, by date."""
    return _OUTCOME.of_patient(db, actor, patient_id)


def get_outcome(*, db: Session, actor: str, outcome_id: str, field: str = "outcome_id") -> OutcomeRead:
    """The current version of an outcome measurement."""
    return _OUTCOME.get(db, actor, outcome_id, field=field)
