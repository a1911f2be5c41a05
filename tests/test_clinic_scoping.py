"""Clinic scoping in the services: every service function, called by an actor of another clinic,
finds nothing (an empty list, None, no page) or says the record is not there, in the very words
a missing record gets; the same calls by an actor of the record's clinic do find it.

The list of calls must name every public function of the domain services (a new one fails the
completeness test until it is added here), except the few that read no clinic's records.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bontrack.actor import Actor
from bontrack.assessments import service as assessments
from bontrack.auth import link_list
from bontrack.auth.links import PatientLinkCreate, issue_link
from bontrack.errors import NotFoundError, not_found_message
from bontrack.injections import billing as injection_billing
from bontrack.injections import service as injections
from bontrack.injections import suggest as injection_suggest
from bontrack.injections.schemas import AdverseEventCreate
from bontrack.outcomes import service as outcomes
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.patients import service as patients
from bontrack.patients.schemas import ClinicCreate, ClinicianCreate, PatientCreate
from bontrack.research import service as research
from bontrack.scheduling import actions as worklist_actions
from bontrack.scheduling import service as scheduling
from bontrack.scheduling.models import DueItemRow
from bontrack.scheduling.schemas import WorklistActionCreate
from bontrack.scheduling.window import load_window
from bontrack.screening import service as screening
from bontrack.stock import openings as stock_openings
from bontrack.stock import service as stock
from bontrack.stock.schemas import DiscardRequest, StockReceiptCreate
from bontrack.storage.engine import transaction
from bontrack.therapy import service as therapy
from bontrack.therapy.schemas import TherapyVisitCreate
from factories import ACTOR, DAY, World, clinic_world, saved_session, session_input

SERVICES: tuple[ModuleType, ...] = (
    patients,
    injections,
    outcomes,
    therapy,
    screening,
    assessments,
    scheduling,
    worklist_actions,
    research,
    stock,
    stock_openings,
    injection_billing,
    injection_suggest,
    link_list,
)
# pure helpers: they take no actor and read no clinic's records
READ_NOTHING = {
    "outcomes.score_answers",
    "patients.not_the_patients",  # builds an error for the caller; reads nothing it returns
    "research.pseudonym_key",
    "research.pseudonym",
    "research.age_band",
    "scheduling.planned_therapy_dates",
    "scheduling.action_words",  # words for an action the caller holds
    "scheduling.window_conditions",  # SQL conditions of the worklist's window
    "scheduling.listed_conditions",  # SQL conditions of the items a list holds
    "stock.expiry_warning_days",  # a knowledge-base number
    "stock.same_lot",  # compares two lot numbers given
    "stock.lot_key",  # a lot number given, as compared
    "stock.receipt_warnings",  # words about a delivery the caller holds
    "stock.lot_mismatch",  # judges a stock line the caller has read
    "screening.latest_of",  # picks among screenings the caller has read
}


@dataclass
class Ids:
    world: World
    session_id: str
    event_id: str
    outcome_id: str
    visit_id: str
    screening_id: str
    assessment_id: str
    other_clinic_id: str
    action_id: str = ""
    link_id: str = ""


Call = Callable[[Session, str, Ids], Any]
LATER = DAY + dt.timedelta(days=60)
ISSUED = dt.datetime.combine(DAY, dt.time(9))  # a patient link's issue, and its revocation


def _event(ids: Ids) -> AdverseEventCreate:
    return AdverseEventCreate(
        patient_id=ids.world.patient_id,
        session_id=ids.session_id,
        event="dysphagia",
        onset_date=DAY + dt.timedelta(days=3),
        reported_date=DAY + dt.timedelta(days=5),
        severity="mild",
    )


def _outcome(ids: Ids) -> OutcomeCreate:
    return OutcomeCreate(
        patient_id=ids.world.patient_id,
        episode_id=ids.world.episode_id,
        instrument="nprs",
        date=DAY,
        answers={"1": 6},
    )


def _visit(ids: Ids) -> TherapyVisitCreate:
    return TherapyVisitCreate(
        patient_id=ids.world.patient_id,
        plan_id=ids.world.plan_id,
        date=DAY,
        therapist_id=ids.world.clinician_id,
    )


def _current_data(db: Session, get: Callable[..., Any], **key: str) -> Any:
    return get(db=db, actor=ACTOR, **key).data


def _patient_data() -> PatientCreate:
    return PatientCreate(
        record_number="P-900", name="Other Patient", birth_date=dt.date(1980, 1, 1), sex="male"
    )


WHY = "entered for the wrong patient"
# every call: (db, actor, ids) -> result
CALLS: dict[str, Call] = {
    # patients
    "patients.create_clinic": None,  # type: ignore[dict-item]  # a new clinic: see the test below
    "patients.get_clinic": lambda db, a, i: patients.get_clinic(db=db, actor=a, clinic_id=i.world.clinic_id),
    "patients.create_clinician": lambda db, a, i: patients.create_clinician(
        db=db, actor=a, clinic_id=i.world.clinic_id, data=ClinicianCreate(name="Dr X", role="physician")
    ),
    "patients.clinicians_of_clinic": lambda db, a, i: patients.clinicians_of_clinic(
        db=db, actor=a, clinic_id=i.world.clinic_id
    ),
    "patients.get_clinician": lambda db, a, i: patients.get_clinician(
        db=db, actor=a, clinician_id=i.world.clinician_id, clinic_id=i.world.clinic_id
    ),
    "patients.create_patient": lambda db, a, i: patients.create_patient(
        db=db, actor=a, clinic_id=i.world.clinic_id, data=_patient_data()
    ),
    "patients.get_patient": lambda db, a, i: patients.get_patient(
        db=db, actor=a, patient_id=i.world.patient_id
    ),
    "patients.update_patient": lambda db, a, i: patients.update_patient(
        db=db,
        actor=a,
        patient_id=i.world.patient_id,
        data=_current_data(db, patients.get_patient, patient_id=i.world.patient_id),
        reason=WHY,
    ),
    "patients.withdraw_patient": lambda db, a, i: patients.withdraw_patient(
        db=db, actor=a, patient_id=i.world.patient_id, reason=WHY
    ),
    "patients.patient_history": lambda db, a, i: patients.patient_history(
        db=db, actor=a, patient_id=i.world.patient_id
    ),
    "patients.list_patients": lambda db, a, i: patients.list_patients(
        db=db, actor=a, clinic_id=i.world.clinic_id
    ),
    "patients.create_episode": lambda db, a, i: patients.create_episode(
        db=db, actor=a, data=_current_data(db, patients.get_episode, episode_id=i.world.episode_id)
    ),
    "patients.get_episode": lambda db, a, i: patients.get_episode(
        db=db, actor=a, episode_id=i.world.episode_id
    ),
    "patients.update_episode": lambda db, a, i: patients.update_episode(
        db=db,
        actor=a,
        episode_id=i.world.episode_id,
        data=_current_data(db, patients.get_episode, episode_id=i.world.episode_id),
        reason=WHY,
    ),
    "patients.withdraw_episode": lambda db, a, i: patients.withdraw_episode(
        db=db, actor=a, episode_id=i.world.episode_id, reason=WHY
    ),
    "patients.episode_history": lambda db, a, i: patients.episode_history(
        db=db, actor=a, episode_id=i.world.episode_id
    ),
    "patients.episode_of": lambda db, a, i: patients.episode_of(
        db=db, actor=a, episode_id=i.world.episode_id, patient_id=i.world.patient_id
    ),
    "patients.page_patients": lambda db, a, i: patients.page_patients(
        db=db, actor=a, clinic_id=None, limit=10, offset=0
    )[1],
    "patients.episodes_of_patient": lambda db, a, i: patients.episodes_of_patient(
        db=db, actor=a, patient_id=i.world.patient_id
    ),
    # injections
    "injections.sessions_of_patient": lambda db, a, i: injections.sessions_of_patient(
        db=db, actor=a, patient_id=i.world.patient_id
    ),
    "injections.get_session": lambda db, a, i: injections.get_session(
        db=db, actor=a, session_id=i.session_id
    ),
    "injections.session_of_patient": lambda db, a, i: injections.session_of_patient(
        db=db, actor=a, session_id=i.session_id, patient_id=i.world.patient_id
    ),
    "injections.cycle_responses": lambda db, a, i: injections.cycle_responses(
        db=db,
        actor=a,
        patient_id=i.world.patient_id,
        sessions=injections.sessions_of_patient(db=db, actor=a, patient_id=i.world.patient_id),
    ),
    "injections.judge": lambda db, a, i: injections.judge(
        db=db, actor=a, data=session_input(i.world, day=LATER)
    ),
    "injections.create_session": lambda db, a, i: injections.create_session(
        db=db, actor=a, data=session_input(i.world, day=LATER)
    ),
    "injections.update_session": lambda db, a, i: injections.update_session(
        db=db, actor=a, session_id=i.session_id, data=session_input(i.world, units=20), reason=WHY
    ),
    "injections.withdraw_session": lambda db, a, i: injections.withdraw_session(
        db=db, actor=a, session_id=i.session_id, reason=WHY
    ),
    "injections.session_history": lambda db, a, i: injections.session_history(
        db=db, actor=a, session_id=i.session_id
    ),
    "injections.report_adverse_event": lambda db, a, i: injections.report_adverse_event(
        db=db, actor=a, data=_event(i)
    ),
    "injections.update_adverse_event": lambda db, a, i: injections.update_adverse_event(
        db=db, actor=a, event_id=i.event_id, data=_event(i), reason=WHY
    ),
    "injections.withdraw_adverse_event": lambda db, a, i: injections.withdraw_adverse_event(
        db=db, actor=a, event_id=i.event_id, reason=WHY
    ),
    "injections.get_adverse_event": lambda db, a, i: injections.get_adverse_event(
        db=db, actor=a, event_id=i.event_id
    ),
    "injections.adverse_event_history": lambda db, a, i: injections.adverse_event_history(
        db=db, actor=a, event_id=i.event_id
    ),
    "injections.adverse_events_of_session": lambda db, a, i: injections.adverse_events_of_session(
        db=db, actor=a, session_id=i.session_id
    ),
    "injections.adverse_events_of_patient": lambda db, a, i: injections.adverse_events_of_patient(
        db=db, actor=a, patient_id=i.world.patient_id
    ),
    # outcomes
    "outcomes.record_outcome": lambda db, a, i: outcomes.record_outcome(db=db, actor=a, data=_outcome(i)),
    "outcomes.update_outcome": lambda db, a, i: outcomes.update_outcome(
        db=db, actor=a, outcome_id=i.outcome_id, data=_outcome(i), reason=WHY
    ),
    "outcomes.withdraw_outcome": lambda db, a, i: outcomes.withdraw_outcome(
        db=db, actor=a, outcome_id=i.outcome_id, reason=WHY
    ),
    "outcomes.outcome_history": lambda db, a, i: outcomes.outcome_history(
        db=db, actor=a, outcome_id=i.outcome_id
    ),
    "outcomes.outcomes_of_patient": lambda db, a, i: outcomes.outcomes_of_patient(
        db=db, actor=a, patient_id=i.world.patient_id
    ),
    "outcomes.get_outcome": lambda db, a, i: outcomes.get_outcome(db=db, actor=a, outcome_id=i.outcome_id),
    # therapy
    "therapy.create_plan": lambda db, a, i: therapy.create_plan(
        db=db, actor=a, data=_current_data(db, therapy.get_plan, plan_id=i.world.plan_id)
    ),
    "therapy.update_plan": lambda db, a, i: therapy.update_plan(
        db=db,
        actor=a,
        plan_id=i.world.plan_id,
        data=_current_data(db, therapy.get_plan, plan_id=i.world.plan_id),
        reason=WHY,
    ),
    "therapy.withdraw_plan": lambda db, a, i: therapy.withdraw_plan(
        db=db, actor=a, plan_id=i.world.plan_id, reason=WHY
    ),
    "therapy.plan_history": lambda db, a, i: therapy.plan_history(db=db, actor=a, plan_id=i.world.plan_id),
    "therapy.get_plan": lambda db, a, i: therapy.get_plan(db=db, actor=a, plan_id=i.world.plan_id),
    "therapy.plans_of_episode": lambda db, a, i: therapy.plans_of_episode(
        db=db, actor=a, episode_id=i.world.episode_id
    ),
    "therapy.plan_active_on": lambda db, a, i: therapy.plan_active_on(
        db=db, actor=a, episode_id=i.world.episode_id, on=DAY
    ),
    "therapy.record_visit": lambda db, a, i: therapy.record_visit(db=db, actor=a, data=_visit(i)),
    "therapy.update_visit": lambda db, a, i: therapy.update_visit(
        db=db, actor=a, visit_id=i.visit_id, data=_visit(i), reason=WHY
    ),
    "therapy.withdraw_visit": lambda db, a, i: therapy.withdraw_visit(
        db=db, actor=a, visit_id=i.visit_id, reason=WHY
    ),
    "therapy.get_visit": lambda db, a, i: therapy.get_visit(db=db, actor=a, visit_id=i.visit_id),
    "therapy.visit_history": lambda db, a, i: therapy.visit_history(db=db, actor=a, visit_id=i.visit_id),
    "therapy.visit_warnings": lambda db, a, i: therapy.visit_warnings(db=db, actor=a, visit_id=i.visit_id),
    "therapy.visits_of_plan": lambda db, a, i: therapy.visits_of_plan(
        db=db, actor=a, plan_id=i.world.plan_id
    ),
    "therapy.plans_of_patient": lambda db, a, i: therapy.plans_of_patient(
        db=db, actor=a, patient_id=i.world.patient_id
    ),
    "therapy.visits_of_patient": lambda db, a, i: therapy.visits_of_patient(
        db=db, actor=a, patient_id=i.world.patient_id
    ),
    # screening
    "screening.create_screening": lambda db, a, i: screening.create_screening(
        db=db, actor=a, data=_current_data(db, screening.get_screening, screening_id=i.screening_id)
    ),
    "screening.update_screening": lambda db, a, i: screening.update_screening(
        db=db,
        actor=a,
        screening_id=i.screening_id,
        data=_current_data(db, screening.get_screening, screening_id=i.screening_id),
        reason=WHY,
    ),
    "screening.withdraw_screening": lambda db, a, i: screening.withdraw_screening(
        db=db, actor=a, screening_id=i.screening_id, reason=WHY
    ),
    "screening.screening_history": lambda db, a, i: screening.screening_history(
        db=db, actor=a, screening_id=i.screening_id
    ),
    "screening.latest_screening": lambda db, a, i: screening.latest_screening(
        db=db, actor=a, patient_id=i.world.patient_id, on_or_before=LATER
    ),
    "screening.get_screening": lambda db, a, i: screening.get_screening(
        db=db, actor=a, screening_id=i.screening_id
    ),
    "screening.screenings_of_patient": lambda db, a, i: screening.screenings_of_patient(
        db=db, actor=a, patient_id=i.world.patient_id
    ),
    # assessments
    "assessments.create_assessment": lambda db, a, i: assessments.create_assessment(
        db=db, actor=a, data=_current_data(db, assessments.get_assessment, assessment_id=i.assessment_id)
    ),
    "assessments.update_assessment": lambda db, a, i: assessments.update_assessment(
        db=db,
        actor=a,
        assessment_id=i.assessment_id,
        data=_current_data(db, assessments.get_assessment, assessment_id=i.assessment_id),
        reason=WHY,
    ),
    "assessments.withdraw_assessment": lambda db, a, i: assessments.withdraw_assessment(
        db=db, actor=a, assessment_id=i.assessment_id, reason=WHY
    ),
    "assessments.assessment_history": lambda db, a, i: assessments.assessment_history(
        db=db, actor=a, assessment_id=i.assessment_id
    ),
    "assessments.latest_assessment": lambda db, a, i: assessments.latest_assessment(
        db=db, actor=a, episode_id=i.world.episode_id, on_or_before=LATER
    ),
    "assessments.get_assessment": lambda db, a, i: assessments.get_assessment(
        db=db, actor=a, assessment_id=i.assessment_id
    ),
    "assessments.assessments_of_patient": lambda db, a, i: assessments.assessments_of_patient(
        db=db, actor=a, patient_id=i.world.patient_id
    ),
    # scheduling and research: lists of every clinic the actor sees
    "scheduling.worklist": lambda db, a, i: scheduling.worklist(db=db, actor=a, today=DAY, horizon_days=120),
    "scheduling.stop_and_review": lambda db, a, i: scheduling.stop_and_review(
        db=db, actor=a, today=dt.date(2100, 1, 1)
    ),
    "scheduling.next_due": lambda db, a, i: scheduling.next_due(
        db=db, actor=a, today=DAY, horizon_days=365, clinic_id=None
    ),
    "research.deidentified_patients": lambda db, a, i: research.deidentified_patients(
        db=db, actor=a, clinic_id=None, limit=10, offset=0, on=DAY
    )[1],
}
# the clinic's own actor gets nothing here either, for a reason of the data, not of scoping
LOT = "C1234"  # the factory session's lot


def _an_open_item(db: Session, ids: Ids) -> str:
    """The key of one open due item of the setting's patient (read as setup, unscoped)."""
    found = db.scalars(
        select(DueItemRow.item_key)
        .where(DueItemRow.patient_id == ids.world.patient_id, DueItemRow.last_action.is_(None))
        .order_by(DueItemRow.item_key)
    ).first()
    assert found is not None
    return found


def _action(ids: Ids, action: str = "done") -> WorklistActionCreate:
    return WorklistActionCreate(
        patient_id=ids.world.patient_id, item_key="outcome:x:6", kind="outcome_visit", action=action, on=DAY
    )


CALLS.update(
    {
        "scheduling.record_action": lambda db, a, i: worklist_actions.record_action(
            db=db, actor=a, data=_action(i)
        ),
        "scheduling.correct_action": lambda db, a, i: worklist_actions.correct_action(
            db=db, actor=a, action_id=i.action_id, data=_action(i, "contacted"), reason="typo"
        ),
        "scheduling.action_history": lambda db, a, i: worklist_actions.action_history(
            db=db, actor=a, action_id=i.action_id
        ),
        "scheduling.actions_of_patient": lambda db, a, i: worklist_actions.actions_of_patient(
            db=db, actor=a, patient_id=i.world.patient_id
        ),
        "scheduling.latest_actions": lambda db, a, i: worklist_actions.latest_actions(
            db=db, actor=a, clinic_id=None, purpose="worklist"
        ),
        "scheduling.item_of": lambda db, a, i: [
            found
            for found in [
                worklist_actions.item_of(
                    db=db,
                    actor=a,
                    clinic_id=None,
                    patient_id=i.world.patient_id,
                    item_key=_an_open_item(db, i),
                    today=DAY,
                )
            ]
            if found is not None
        ],
        "scheduling.work_list": lambda db, a, i: (
            worklist_actions.work_list(
                db=db, actor=a, today=DAY, window=load_window(look_back_days=365, look_ahead_days=365)
            ).items
        ),
        "stock.receive_vials": lambda db, a, i: stock.receive_vials(
            db=db,
            actor=a,
            clinic_id=i.world.clinic_id,
            data=StockReceiptCreate(
                product="onabotulinumtoxinA",
                lot=LOT,
                expiry=DAY + dt.timedelta(days=300),
                vial_units=100,
                vial_count=1,
                supplier="McKesson",
                received_on=DAY,
            ),
        ),
        "stock.stock_on_hand": lambda db, a, i: stock.stock_on_hand(
            db=db, actor=a, on=DAY, clinic_id=i.world.clinic_id
        ),
        "stock.lots_for_session": lambda db, a, i: stock.lots_for_session(
            db=db, actor=a, clinic_id=i.world.clinic_id, on=DAY
        ),
        "stock.discard_vials": lambda db, a, i: stock.discard_vials(
            db=db,
            actor=a,
            clinic_id=i.world.clinic_id,
            data=DiscardRequest(lot=LOT, vial_count=1, reason="dropped", discarded_on=DAY),
        ),
        "stock.open_for_session": lambda db, a, i: stock_openings.open_for_session(
            db=db, actor=a, session=injections.get_session(db=db, actor=a, session_id=i.session_id)
        ),
        # the session as an actor of every clinic read it: the opening itself keeps to the clinic
        "stock.record_opening": lambda db, a, i: stock_openings.record_opening(
            db=db,
            actor=a,
            session=injections.get_session(db=db, actor=ACTOR, session_id=i.session_id),
            product="onabotulinumtoxinA",
            lot=LOT,
        ),
        "stock.openings_of_session": lambda db, a, i: stock_openings.openings_of_session(
            db=db, actor=a, session_id=i.session_id
        ),
        "stock.withdraw_openings": lambda db, a, i: stock_openings.withdraw_openings(
            db=db, actor=a, session_id=i.session_id, reason="entered in error"
        ),
        "stock.reopen_for_session": lambda db, a, i: stock_openings.reopen_for_session(
            db=db,
            actor=a,
            session=injections.get_session(db=db, actor=a, session_id=i.session_id),
            reason="corrected",
        ),
        "stock.stock_line_for": lambda db, a, i: stock.stock_line_for(
            db=db, actor=a, clinic_id=i.world.clinic_id, lot=LOT.lower(), on=DAY
        ),
        "stock.discards_of_lot": lambda db, a, i: stock.discards_of_lot(db=db, actor=a, lot=LOT),
        "stock.recall": lambda db, a, i: stock.recall(db=db, actor=a, lot=LOT).sessions,
        "patients.born_by": lambda db, a, i: patients.born_by(
            db=db, actor=a, patient_id=i.world.patient_id, date=DAY
        ),
        "injections.standing": lambda db, a, i: injections.standing(
            db=db, actor=a, patient_id=i.world.patient_id, on=LATER
        ),
        "injections.session_billing": lambda db, a, i: injection_billing.session_billing(
            db=db, actor=a, session_id=i.session_id
        ),
        "auth.links_of_patient": lambda db, a, i: link_list.links_of_patient(
            db=db, actor=a, patient_id=i.world.patient_id
        ),
        "auth.revoke_link": lambda db, a, i: link_list.revoke_link(
            db=db, actor=a, patient_id=i.world.patient_id, link_id=i.link_id, reason=WHY, now=ISSUED
        ),
        "injections.suggest_plan": lambda db, a, i: injection_suggest.suggest_plan(
            db=db,
            actor=a,
            data=injection_suggest.PlanSuggestionRequest(
                patient_id=i.world.patient_id,
                episode_id=i.world.episode_id,
                date=LATER,
                injector_id=i.world.clinician_id,
                product="onabotulinumtoxinA",
            ),
        ),
    }
)
# nothing of these exists in the setting for anyone (no vial opened, none discarded)
EMPTY_FOR_EVERYONE = {
    "scheduling.stop_and_review",
    "stock.openings_of_session",
    "stock.withdraw_openings",
    "stock.discards_of_lot",
    "stock.open_for_session",
    "stock.reopen_for_session",
    "therapy.visit_warnings",  # the visit is within its plan's number: nothing to say
}  # no patient has two cycles without response


def _public_functions() -> set[str]:
    found = set()
    for module in SERVICES:
        short = module.__name__.split(".")[1]
        for name, value in vars(module).items():
            if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_"):
                found.add(f"{short}.{name}")
    return found


def test_every_service_function_is_called_here() -> None:
    assert set(CALLS) == _public_functions() - READ_NOTHING
    assert _public_functions() >= READ_NOTHING


@pytest.fixture
def setting(engine: Engine) -> tuple[Ids, Actor, Actor]:
    """Clinic A with one record of every kind; an actor of clinic A and one of clinic B."""
    with transaction(engine) as db:
        world = clinic_world(db)
        session = saved_session(db, world)
        event = injections.report_adverse_event(
            db=db,
            actor=ACTOR,
            data=AdverseEventCreate(
                patient_id=world.patient_id,
                session_id=session.id,
                event="dysphagia",
                onset_date=DAY + dt.timedelta(days=2),
                reported_date=DAY + dt.timedelta(days=4),
                severity="mild",
            ),
        )
        outcome = outcomes.record_outcome(
            db=db,
            actor=ACTOR,
            data=OutcomeCreate(
                patient_id=world.patient_id,
                episode_id=world.episode_id,
                instrument="nprs",
                date=DAY,
                answers={"1": 7},
            ),
        )
        visit = therapy.record_visit(
            db=db,
            actor=ACTOR,
            data=TherapyVisitCreate(
                patient_id=world.patient_id, plan_id=world.plan_id, date=DAY, therapist_id=world.clinician_id
            ),
        )
        (screened, *_) = screening.screenings_of_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
        (assessed,) = assessments.assessments_of_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
        other = patients.create_clinic(db=db, actor=ACTOR, data=ClinicCreate(name="Southside Clinic"))
        patients.create_clinician(
            db=db, actor=ACTOR, clinic_id=other.id, data=ClinicianCreate(name="Dr B", role="physician")
        )
        stock.receive_vials(  # the session's lot, received after it: in stock, nothing opened
            db=db,
            actor=ACTOR,
            clinic_id=world.clinic_id,
            data=StockReceiptCreate(
                product="onabotulinumtoxinA",
                lot=LOT,
                expiry=DAY + dt.timedelta(days=300),
                vial_units=100,
                vial_count=4,
                supplier="McKesson",
                received_on=DAY,
            ),
        )
        done = worklist_actions.record_action(
            db=db,
            actor=ACTOR,
            data=WorklistActionCreate(
                patient_id=world.patient_id,
                item_key="outcome:x:6",
                kind="outcome_visit",
                action="done",
                on=DAY,
            ),
        )
        _, link = issue_link(
            db=db,
            actor=ACTOR,
            data=PatientLinkCreate(
                patient_id=world.patient_id, episode_id=world.episode_id, instruments=["nprs"]
            ),
            now=ISSUED,
        )
    ids = Ids(world, session.id, event.id, outcome.id, visit.id, screened.id, assessed.id, other.id, done.id)
    ids.link_id = link.id
    own = Actor("a:doctor", clinic_id=world.clinic_id, role="physician")
    stranger = Actor("b:doctor", clinic_id=other.id, role="physician")
    return ids, own, stranger


class _Undo(Exception):
    """Raised to roll back a call's transaction, carrying what the call returned."""


def _run(engine: Engine, call: Call, actor: Actor, ids: Ids) -> Any:
    try:
        with transaction(engine) as db:
            raise _Undo(call(db, actor, ids))
    except _Undo as undo:
        return undo.args[0]


def _nothing(result: Any) -> bool:
    if isinstance(result, int) and not isinstance(result, bool):
        return result == 0  # a count of records acted on
    return result is None or result is False or (isinstance(result, list | dict | tuple) and not result)


def test_an_actor_of_another_clinic_gets_nothing_or_not_found(
    engine: Engine, setting: tuple[Ids, Actor, Actor]
) -> None:
    ids, _, stranger = setting
    leaks: list[str] = []
    for name, call in sorted(CALLS.items()):
        if call is None:
            continue
        try:
            result = _run(engine, call, stranger, ids)
        except NotFoundError as error:
            ((field, message),) = [(e.field, e.message) for e in error.errors]
            if not message.startswith("no ") or " with id " not in message:
                leaks.append(f"{name}: not found in other words: {field}: {message}")
            continue
        if not _nothing(result):
            leaks.append(f"{name}: returned {result!r:.200}")
    assert leaks == []


def test_the_same_calls_by_the_clinics_own_actor_find_the_records(
    engine: Engine, setting: tuple[Ids, Actor, Actor]
) -> None:
    ids, own, _ = setting
    blind: list[str] = []
    for name, call in sorted(CALLS.items()):
        if call is None:
            continue
        try:
            result = _run(engine, call, own, ids)
        except NotFoundError as error:
            blind.append(f"{name}: {error}")
            continue
        except Exception:  # a rule of the data (a conflict, a decision): the record was found
            continue
        if _nothing(result) and name not in EMPTY_FOR_EVERYONE:
            blind.append(f"{name}: nothing")
    assert blind == []


def test_another_clinics_record_is_not_found_in_the_words_of_a_missing_one(
    engine: Engine, setting: tuple[Ids, Actor, Actor]
) -> None:
    ids, _, stranger = setting
    with transaction(engine) as db:
        with pytest.raises(NotFoundError) as hidden:
            patients.get_patient(db=db, actor=stranger, patient_id=ids.world.patient_id)
        with pytest.raises(NotFoundError) as missing:
            patients.get_patient(db=db, actor=stranger, patient_id="no-such-patient")
    assert hidden.value.errors[0].field == missing.value.errors[0].field == "patient_id"
    assert hidden.value.errors[0].message == not_found_message("patient", ids.world.patient_id)


def test_a_new_clinic_can_be_made_only_by_an_actor_of_every_clinic(
    engine: Engine, setting: tuple[Ids, Actor, Actor]
) -> None:
    _, own, _ = setting
    with transaction(engine) as db, pytest.raises(NotFoundError):
        patients.create_clinic(db=db, actor=own, data=ClinicCreate(name="Annex"))
    with transaction(engine) as db:
        assert (
            patients.create_clinic(db=db, actor=ACTOR, data=ClinicCreate(name="Annex")).data.name == "Annex"
        )
