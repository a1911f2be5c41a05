"""Physical therapy's own rules, through the services on a real registry: one current plan covers a
patient's day, one visit of a plan a day, the therapist's role (knowledge: pathway.therapist_roles),
and a visit beyond the plan's number saved with a warning."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from bontrack.errors import ConflictError, InputError
from bontrack.knowledge import load_knowledge
from bontrack.patients import service as patients
from bontrack.patients.schemas import ClinicianCreate
from bontrack.storage.engine import transaction
from bontrack.therapy import service as therapy
from bontrack.therapy.schemas import TherapyPlanCreate, TherapyVisitCreate
from factories import ACTOR, DAY, World, clinic_world

WEEK = dt.timedelta(days=7)


def _plan(
    world: World, start: dt.date, weeks: int = 2, per_week: int = 1, **changes: str
) -> TherapyPlanCreate:
    return TherapyPlanCreate.model_validate(
        {
            "patient_id": world.patient_id,
            "episode_id": world.episode_id,
            "therapist_id": world.clinician_id,
            "start_date": start,
            "weeks": weeks,
            "visits_per_week": per_week,
        }
        | changes
    )


def _visit(world: World, plan_id: str, day: dt.date, **changes: str) -> TherapyVisitCreate:
    return TherapyVisitCreate.model_validate(
        {"patient_id": world.patient_id, "plan_id": plan_id, "date": day, "therapist_id": world.clinician_id}
        | changes
    )


def test_create_plan__overlapping_a_current_plan_is_refused_naming_it(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)  # its plan: from DAY, 6 weeks
    for start in (DAY, DAY + WEEK, DAY - WEEK, DAY + 5 * WEEK + dt.timedelta(days=6)):
        with transaction(engine) as db, pytest.raises(ConflictError) as refused:
            therapy.create_plan(db=db, actor=ACTOR, data=_plan(world, start))
        (error,) = refused.value.errors
        assert error.field == "start_date"
        assert f"{DAY} to {DAY + 6 * WEEK - dt.timedelta(days=1)}" in error.message  # named by its days
        assert world.plan_id not in error.message  # words for people: no record id
        assert "correct that plan" in error.message
    with transaction(engine) as db:
        assert [p.id for p in therapy.plans_of_patient(db=db, actor=ACTOR, patient_id=world.patient_id)] == [
            world.plan_id
        ]
        after = therapy.create_plan(
            db=db, actor=ACTOR, data=_plan(world, DAY + 6 * WEEK)
        )  # the day after it ends
    with transaction(engine) as db:  # a withdrawn plan holds no period
        therapy.withdraw_plan(db=db, actor=ACTOR, plan_id=world.plan_id, reason="entered in error")
        therapy.create_plan(db=db, actor=ACTOR, data=_plan(world, DAY))
    assert after.data.start_date == DAY + 6 * WEEK


def test_update_plan__keeps_its_own_period_but_cannot_move_onto_another(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        later = therapy.create_plan(db=db, actor=ACTOR, data=_plan(world, DAY + 8 * WEEK))
    with transaction(engine) as db:  # a correction of the same period is no overlap with itself
        therapy.update_plan(
            db=db, actor=ACTOR, plan_id=later.id, data=_plan(world, DAY + 8 * WEEK, weeks=3), reason="longer"
        )
    with transaction(engine) as db, pytest.raises(ConflictError) as refused:
        therapy.update_plan(
            db=db, actor=ACTOR, plan_id=later.id, data=_plan(world, DAY + 4 * WEEK), reason="earlier"
        )
    assert refused.value.errors[0].field == "start_date" and "overlaps" in refused.value.errors[0].message


def test_record_visit__a_second_visit_of_the_plan_on_one_day_is_refused(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        first = therapy.record_visit(db=db, actor=ACTOR, data=_visit(world, world.plan_id, DAY))
    with transaction(engine) as db, pytest.raises(ConflictError) as refused:
        therapy.record_visit(db=db, actor=ACTOR, data=_visit(world, world.plan_id, DAY, attended=False))
    (error,) = refused.value.errors
    assert error.field == "date" and "already recorded (attended)" in error.message
    assert first.id not in error.message  # the visit named by its day, in words: no record id
    assert "correct that visit" in error.message
    with transaction(engine) as db:  # correcting the visit itself keeps its day
        fixed = _visit(world, world.plan_id, DAY, notes="stretching taught")
        therapy.update_visit(db=db, actor=ACTOR, visit_id=first.id, data=fixed, reason="notes added")
        other = therapy.record_visit(db=db, actor=ACTOR, data=_visit(world, world.plan_id, DAY + WEEK))
    with transaction(engine) as db, pytest.raises(ConflictError):  # nor moved onto another visit's day
        moved = _visit(world, world.plan_id, DAY)
        therapy.update_visit(db=db, actor=ACTOR, visit_id=other.id, data=moved, reason="wrong day")
    with transaction(engine) as db:
        assert len(therapy.visits_of_plan(db=db, actor=ACTOR, plan_id=world.plan_id)) == 2


def test_therapist__must_be_a_clinician_whose_role_delivers_therapy(engine: Engine) -> None:
    allowed = load_knowledge().files.pathway.therapist_roles
    assert allowed.source and allowed.roles == ["physical_therapist", "physician"]
    with transaction(engine) as db:
        world = clinic_world(db)
        nurse = patients.create_clinician(
            db=db,
            actor=ACTOR,
            clinic_id=world.clinic_id,
            data=ClinicianCreate(name="Nurse Kim", role="nurse"),
        )
        pt = patients.create_clinician(
            db=db,
            actor=ACTOR,
            clinic_id=world.clinic_id,
            data=ClinicianCreate(name="Sam Lee", role="physiotherapist"),
        )
    for write in (
        lambda db: therapy.create_plan(
            db=db, actor=ACTOR, data=_plan(world, DAY + 8 * WEEK, therapist_id=nurse.id)
        ),
        lambda db: therapy.record_visit(
            db=db, actor=ACTOR, data=_visit(world, world.plan_id, DAY, therapist_id=nurse.id)
        ),
    ):
        with transaction(engine) as db, pytest.raises(InputError) as refused:
            write(db)
        (error,) = refused.value.errors
        assert error.field == "therapist_id"
        assert "Nurse Kim is recorded as nurse" in error.message and "physical therapist" in error.message
    with transaction(engine) as db:  # a physical therapist, and a physician (the world's), deliver it
        therapy.record_visit(db=db, actor=ACTOR, data=_visit(world, world.plan_id, DAY, therapist_id=pt.id))
        therapy.record_visit(db=db, actor=ACTOR, data=_visit(world, world.plan_id, DAY + WEEK))


def test_visit_warnings__a_visit_beyond_the_plans_number_is_saved_and_said(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        plan = therapy.create_plan(db=db, actor=ACTOR, data=_plan(world, DAY + 8 * WEEK))  # 2 visits
        saved = [
            therapy.record_visit(db=db, actor=ACTOR, data=_visit(world, plan.id, DAY + 8 * WEEK + n * WEEK))
            for n in range(3)
        ]
    with transaction(engine) as db:
        said = [therapy.visit_warnings(db=db, actor=ACTOR, visit_id=v.id) for v in saved]
    assert said[:2] == [[], []]
    (warning,) = said[2]
    assert warning.startswith("Visit 3 of a 2-visit plan (from ") and "correct its weeks" in warning
