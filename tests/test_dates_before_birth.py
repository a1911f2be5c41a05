"""No clinical date before the patient's birth (bug B4): one rule (bontrack.dates.before_birth)
applied by the service of every record a patient's date is on, created or corrected, so the API,
the pages and the demo share it, and by ``bontrack import``, all or nothing. Real registries
through the real services, faces and command line."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bontrack.assessments.service import assessments_of_patient, create_assessment, update_assessment
from bontrack.cli import app
from bontrack.errors import InputError
from bontrack.injections.schemas import AdverseEventCreate
from bontrack.injections.service import create_session, report_adverse_event
from bontrack.kinds import KINDS
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.outcomes.service import record_outcome, update_outcome
from bontrack.patients import service as patients
from bontrack.screening.service import create_screening, screenings_of_patient, update_screening
from bontrack.storage.engine import transaction
from bontrack.therapy.schemas import TherapyVisitCreate
from bontrack.therapy.service import create_plan, plans_of_patient, record_visit, update_plan
from factories import ACTOR, DAY, World, clinic_world, saved_session, session_input

BORN = dt.date(1978, 5, 4)  # the factory patient's birth date
BEFORE = dt.date(1970, 1, 1)


def test_rule__a_date_before_birth_named_without_quoting_the_birth_date() -> None:
    from bontrack.dates import before_birth  # here: the other tests run on code without it too

    assert before_birth(BORN, BORN) is None and before_birth(BORN + dt.timedelta(days=1), BORN) is None
    message = before_birth(BEFORE, BORN)
    assert message == "1970-01-01 is before the patient's birth date" and "1978" not in message


def _counts(db: Session) -> dict[str, int]:
    return {k.name: db.scalar(select(func.count()).select_from(k.row)) or 0 for k in KINDS}


def _outcome(world: World, day: dt.date) -> OutcomeCreate:
    return OutcomeCreate(
        patient_id=world.patient_id,
        episode_id=world.episode_id,
        instrument="nprs",
        date=day,
        answers={"1": 5},
    )


def _create(name: str, db: Session, world: World) -> tuple[str, Callable[[], object]]:
    """(the date field, a create of the record dated before the patient's birth)."""
    pid = world.patient_id
    if name == "episode":
        current = patients.episodes_of_patient(db=db, actor=ACTOR, patient_id=pid)[0].data
        data = current.model_copy(update={"pain_onset_date": BEFORE})
        return "pain_onset_date", lambda: patients.create_episode(db=db, actor=ACTOR, data=data)
    if name == "screening":
        screening = screenings_of_patient(db=db, actor=ACTOR, patient_id=pid)[0].data
        data = screening.model_copy(update={"date": BEFORE})
        return "date", lambda: create_screening(db=db, actor=ACTOR, data=data)
    if name == "assessment":
        assessment = assessments_of_patient(db=db, actor=ACTOR, patient_id=pid)[0].data
        data = assessment.model_copy(update={"date": BEFORE})
        return "date", lambda: create_assessment(db=db, actor=ACTOR, data=data)
    if name == "therapy_plan":
        plan = plans_of_patient(db=db, actor=ACTOR, patient_id=pid)[0].data
        data = plan.model_copy(update={"start_date": BEFORE})
        return "start_date", lambda: create_plan(db=db, actor=ACTOR, data=data)
    if name == "outcome":
        return "date", lambda: record_outcome(db=db, actor=ACTOR, data=_outcome(world, BEFORE))
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["episode", "screening", "assessment", "therapy_plan", "outcome"])
def test_create__dated_before_birth_refused_naming_the_field_nothing_written(
    engine: Engine, name: str
) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
    with transaction(engine) as db:
        before = _counts(db)
        field, write = _create(name, db, world)
        with pytest.raises(InputError) as caught:
            write()
        assert [(e.field, e.message) for e in caught.value.errors] == [
            (field, "1970-01-01 is before the patient's birth date")
        ]
        assert _counts(db) == before


def test_create__sessions_adverse_events_and_visits_before_birth_refused(engine: Engine) -> None:
    """Dated by a session or a plan, which are themselves on or after the birth date: a session
    dated before the birth is refused by the decision engine's check, an adverse event or a visit
    before the birth is before its session or plan (and the birth rule stands behind that)."""
    with transaction(engine) as db:
        world = clinic_world(db)
        session = saved_session(db, world)
    with transaction(engine) as db:
        before = _counts(db)
        with pytest.raises(InputError) as caught:
            create_session(db=db, actor=ACTOR, data=session_input(world, day=BEFORE))
        assert "stored record: patient.birth_date" in [e.field for e in caught.value.errors]
        event = AdverseEventCreate(
            patient_id=world.patient_id,
            session_id=session.id,
            onset_date=BEFORE,
            reported_date=DAY,
            event="neck weakness",
            severity="mild",
        )
        with pytest.raises(InputError) as caught:
            report_adverse_event(db=db, actor=ACTOR, data=event)
        assert caught.value.errors[0].field == "onset_date"
        visit = TherapyVisitCreate(
            patient_id=world.patient_id,
            plan_id=world.plan_id,
            therapist_id=world.clinician_id,
            date=BEFORE,
            attended=True,
        )
        with pytest.raises(InputError) as caught:
            record_visit(db=db, actor=ACTOR, data=visit)
        assert caught.value.errors[0].field == "date"
        assert _counts(db) == before


def test_correction__dated_before_birth_refused_the_record_unchanged(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        outcome = record_outcome(db=db, actor=ACTOR, data=_outcome(world, DAY))
    pid = world.patient_id
    with transaction(engine) as db:
        screening = screenings_of_patient(db=db, actor=ACTOR, patient_id=pid)[0]
        assessment = assessments_of_patient(db=db, actor=ACTOR, patient_id=pid)[0]
        plan = plans_of_patient(db=db, actor=ACTOR, patient_id=pid)[0]
        episode = patients.episodes_of_patient(db=db, actor=ACTOR, patient_id=pid)[0]
        corrections: list[tuple[str, Callable[[], object]]] = [
            (
                "date",
                lambda: update_outcome(
                    db=db, actor=ACTOR, outcome_id=outcome.id, data=_outcome(world, BEFORE), reason="typo"
                ),
            ),
            (
                "date",
                lambda: update_screening(
                    db=db,
                    actor=ACTOR,
                    screening_id=screening.id,
                    data=screening.data.model_copy(update={"date": BEFORE}),
                    reason="typo",
                ),
            ),
            (
                "date",
                lambda: update_assessment(
                    db=db,
                    actor=ACTOR,
                    assessment_id=assessment.id,
                    data=assessment.data.model_copy(update={"date": BEFORE}),
                    reason="typo",
                ),
            ),
            (
                "start_date",
                lambda: update_plan(
                    db=db,
                    actor=ACTOR,
                    plan_id=plan.id,
                    data=plan.data.model_copy(update={"start_date": BEFORE}),
                    reason="typo",
                ),
            ),
            (
                "pain_onset_date",
                lambda: patients.update_episode(
                    db=db,
                    actor=ACTOR,
                    episode_id=episode.id,
                    data=episode.data.model_copy(update={"pain_onset_date": BEFORE}),
                    reason="typo",
                ),
            ),
        ]
        before = _counts(db)
        for field, correct in corrections:
            with pytest.raises(InputError) as caught:
                correct()
            assert [e.field for e in caught.value.errors] == [field]
            assert "is before the patient's birth date" in caught.value.errors[0].message
        assert _counts(db) == before


def test_import__a_record_before_its_patients_birth_refused_all_or_nothing(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """Exported lines with one outcome moved before the birth (its patient in the same file):
    the import names the line and field, and writes nothing; the other order of patient and
    record, and a patient already in the registry, the same."""
    with transaction(engine) as db:
        world = clinic_world(db)
        record_outcome(db=db, actor=ACTOR, data=_outcome(world, DAY))
    exported = tmp_path / "registry.jsonl"
    result = CliRunner().invoke(app, ["--db", db_url, "export", str(exported)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(t) for t in exported.read_text().splitlines()]
    (number,) = [n for n, line in enumerate(lines, start=1) if line["type"] == "outcome"]
    lines[number - 1]["data"]["date"] = "1970-01-01"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(line) + "\n" for line in lines))
    target = f"sqlite:///{tmp_path / 'target.db'}"
    result = CliRunner().invoke(app, ["--db", target, "import", str(bad)])
    assert result.exit_code != 0
    words = " ".join(result.output.split())
    said = f"line {number}, outcome measurement: Date: 1970-01-01 is before the patient's birth date"
    assert said in words, words
    assert not (tmp_path / "target.db").exists()  # the registry the failed import created is gone
    # the patient already in the registry, the record alone in the file
    patient_lines = [line for line in lines if line["type"] in ("clinic", "clinician", "patient")]
    first = tmp_path / "patients.jsonl"
    first.write_text("".join(json.dumps(line) + "\n" for line in patient_lines))
    assert CliRunner().invoke(app, ["--db", target, "import", str(first)]).exit_code == 0
    rest = tmp_path / "rest.jsonl"
    rest.write_text("".join(json.dumps(line) + "\n" for line in lines if line not in patient_lines))
    result = CliRunner().invoke(app, ["--db", target, "import", str(rest)])
    assert result.exit_code != 0 and "1970-01-01 is before the patient's birth date" in " ".join(
        result.output.split()
    )


def test_an_adverse_event_reported_before_its_onset_is_refused_in_words(engine: Engine) -> None:
    """The message names both dates in words (it read "is before onset_date", a field's id)."""
    with transaction(engine) as db:
        world = clinic_world(db)
        session = saved_session(db, world)
    later = session.data.date + dt.timedelta(days=10)
    event = AdverseEventCreate(
        patient_id=world.patient_id,
        session_id=session.id,
        onset_date=later,
        reported_date=later - dt.timedelta(days=3),
        event="neck weakness",
        severity="mild",
    )
    with transaction(engine) as db, pytest.raises(InputError) as caught:
        report_adverse_event(db=db, actor=ACTOR, data=event)
    [error] = caught.value.errors
    assert error.field == "reported_date"
    assert error.message == f"{event.reported_date} is before the onset date {event.onset_date}"
    assert "onset_date" not in error.message
