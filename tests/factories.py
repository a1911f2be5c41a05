"""Build registry records for tests through the real services (no mocks)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bontrack.assessments.schemas import AssessmentCreate
from bontrack.assessments.service import create_assessment
from bontrack.injections.schemas import SessionCreate, SessionRead
from bontrack.injections.service import create_session
from bontrack.patients import service as patients
from bontrack.patients.schemas import ClinicCreate, ClinicianCreate, EpisodeCreate, PatientCreate
from bontrack.screening.schemas import ScreeningCreate
from bontrack.screening.service import create_screening
from bontrack.therapy.schemas import TherapyPlanCreate
from bontrack.therapy.service import create_plan

ACTOR = "test:clinician"
DAY = dt.date(2026, 3, 2)


@dataclass
class World:
    clinic_id: str
    clinician_id: str
    patient_id: str
    episode_id: str
    plan_id: str


def clinic_world(
    db: Session, *, record_number: str = "P-001", screening: dict[str, Any] | None = None
) -> World:
    """A clinic with one physician and one eligible patient: screened, examined, PT planned."""
    clinic = patients.create_clinic(db=db, actor=ACTOR, data=ClinicCreate(name="Northside Pain Clinic"))
    doc = patients.create_clinician(
        db=db, actor=ACTOR, clinic_id=clinic.id, data=ClinicianCreate(name="Dr Ada Reyes", role="physician")
    )
    patient = patients.create_patient(
        db=db,
        actor=ACTOR,
        clinic_id=clinic.id,
        data=PatientCreate(
            record_number=record_number, name="Test Patient", birth_date=dt.date(1978, 5, 4), sex="female"
        ),
    )
    episode = patients.create_episode(
        db=db,
        actor=ACTOR,
        data=EpisodeCreate(
            patient_id=patient.id,
            diagnosis_codes=[{"code": "M54.2"}, {"code": "M79.12"}],  # type: ignore[list-item]
            pain_onset_date=dt.date(2025, 1, 10),
            conservative_care=["home exercise", "NSAIDs"],
            conservative_care_weeks=12,
        ),
    )
    answers = {"pregnant": False, "breastfeeding": False, "infection_at_injection_site": False} | (
        screening or {}
    )
    create_screening(
        db=db,
        actor=ACTOR,
        data=ScreeningCreate(patient_id=patient.id, date=DAY - dt.timedelta(days=7), **answers),
    )
    create_assessment(
        db=db,
        actor=ACTOR,
        data=AssessmentCreate.model_validate(
            {
                "patient_id": patient.id,
                "episode_id": episode.id,
                "date": DAY - dt.timedelta(days=7),
                "assessor_id": doc.id,
                "trigger_points": [
                    {
                        "muscle": "upper_trapezius",
                        "side": side,
                        "taut_band": True,
                        "spot_tenderness": True,
                        "referred_pain": True,
                        "pain_recognition": True,
                        "local_twitch": False,
                    }
                    for side in ("left", "right")
                ],
                "pressure_pain_thresholds": [
                    {
                        "muscle": "upper_trapezius",
                        "side": "left",
                        "value": 210,
                        "unit": "kPa",
                        "device": "Wagner FPX 25",
                    }
                ],
            }
        ),
    )
    plan = create_plan(
        db=db,
        actor=ACTOR,
        data=TherapyPlanCreate(
            patient_id=patient.id,
            episode_id=episode.id,
            therapist_id=doc.id,
            start_date=DAY,
            weeks=6,
            visits_per_week=2,
        ),
    )
    return World(clinic.id, doc.id, patient.id, episode.id, plan.id)


def session_input(world: World, *, day: dt.date = DAY, units: float = 25, **extra: Any) -> SessionCreate:
    """A routine onabotulinumtoxinA session: 100 U vial in 2 mL, both upper trapezius."""
    return SessionCreate.model_validate(
        {
            "patient_id": world.patient_id,
            "episode_id": world.episode_id,
            "date": day,
            "injector_id": world.clinician_id,
            "product": "onabotulinumtoxinA",
            "vial_units": 100,
            "lot": "C1234",
            "lot_expiry": day + dt.timedelta(days=300),
            "diluent_ml": 2,
            "reconstituted_at": dt.datetime.combine(day, dt.time(8, 30)),
            "guidance": "emg",
            "sites": [
                {"muscle": "upper_trapezius", "side": "left", "units": units},
                {"muscle": "upper_trapezius", "side": "right", "units": units},
            ],
        }
        | extra
    )


def screened_again(db: Session, world: World, day: dt.date) -> None:
    """The pathway screens again before a session whose last screening is over 30 days old
    (knowledge: pathway.screening_max_age_days): the same answers, dated the session day."""
    from bontrack.knowledge import load_knowledge
    from bontrack.screening.service import latest_screening

    last = latest_screening(db=db, actor=ACTOR, patient_id=world.patient_id, on_or_before=day)
    limit = load_knowledge().files.pathway.screening_max_age_days.value
    if last is not None and (day - last.data.date).days > limit:
        create_screening(db=db, actor=ACTOR, data=last.data.model_copy(update={"date": day}))


def saved_session(db: Session, world: World, **kwargs: Any) -> SessionRead:
    """A session saved through the service, screened again first when its screening is stale."""
    screened_again(db, world, kwargs.get("day", DAY))
    return create_session(db=db, actor=ACTOR, data=session_input(world, **kwargs))
