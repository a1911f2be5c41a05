"""Outcome measurements are scored when saved; cycle responses feed the decision engine."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine

from bontrack.errors import InputError, RefusedError
from bontrack.injections.schemas import Override
from bontrack.instruments import SCORER_VERSION
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.outcomes.service import outcomes_of_patient, record_outcome
from bontrack.storage.engine import transaction
from factories import ACTOR, DAY, World, clinic_world, saved_session


def _outcome(
    world: World, instrument: str, answers: dict[str, Any], day: dt.date, **kw: Any
) -> OutcomeCreate:
    return OutcomeCreate(
        patient_id=world.patient_id,
        episode_id=world.episode_id,
        instrument=instrument,
        date=day,
        answers=answers,
        **kw,
    )


def test_record_outcome__ndi_scored_with_scorer_version(engine: Engine) -> None:
    answers = {str(i): v for i, v in enumerate([2, 1, 3, 2, 2, 1, 2, 0, 3, None], start=1)}
    with transaction(engine) as db:
        world = clinic_world(db)
        saved = record_outcome(db=db, actor=ACTOR, data=_outcome(world, "ndi", answers, DAY))
    assert saved.data.scoring.scorer_version == SCORER_VERSION
    # 16 points over 9 answered items: percent = 16 / 45 x 100; prorated total = percent / 2.
    assert saved.data.scoring.scores["percent"] == pytest.approx(16 / 45 * 100, abs=1e-12)
    assert saved.data.scoring.scores["total"] == pytest.approx(16 / 45 * 50, abs=1e-12)
    assert saved.data.scoring.missing == [10]
    with transaction(engine) as db:
        (read,) = outcomes_of_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
    assert read.data.scoring == saved.data.scoring


def test_record_outcome__answer_out_of_range_names_the_item_and_writes_nothing(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
    with pytest.raises(InputError) as info, transaction(engine) as db:
        record_outcome(db=db, actor=ACTOR, data=_outcome(world, "ndi", {"7": 9}, DAY))
    assert info.value.errors[0].field == "answers.7"
    assert "0" in info.value.errors[0].message and "5" in info.value.errors[0].message
    with transaction(engine) as db:
        assert outcomes_of_patient(db=db, actor=ACTOR, patient_id=world.patient_id) == []


def test_record_outcome__unknown_instrument_is_refused(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        with pytest.raises(InputError, match="allowed: nprs, vas, ndi, rand36"):
            record_outcome(db=db, actor=ACTOR, data=_outcome(world, "sf12", {"1": 1}, DAY))


def _cycle(db: Any, world: World, day: dt.date, baseline: int, followup: int) -> str:
    record_outcome(db=db, actor=ACTOR, data=_outcome(world, "nprs", {"1": baseline}, day))
    session = saved_session(db, world, day=day)
    record_outcome(
        db=db,
        actor=ACTOR,
        data=_outcome(
            world,
            "nprs",
            {"1": followup},
            day + dt.timedelta(weeks=6),
            session_id=session.id,
            weeks_after_session=6,
        ),
    )
    return session.id


def test_two_cycles_without_response__the_third_plan_warns_stop_and_review(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        _cycle(db, world, DAY, baseline=7, followup=6)  # 14% better: no response
        _cycle(db, world, DAY + dt.timedelta(days=90), baseline=7, followup=6)
        third = saved_session(db, world, day=DAY + dt.timedelta(days=180))
    assert "pathway.stop_and_review" in {f.code for f in third.data.decision.findings}


def test_a_responding_cycle__no_stop_and_review(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        _cycle(db, world, DAY, baseline=7, followup=6)
        _cycle(db, world, DAY + dt.timedelta(days=90), baseline=7, followup=4)  # 43% better
        third = saved_session(db, world, day=DAY + dt.timedelta(days=180))
    assert "pathway.stop_and_review" not in {f.code for f in third.data.decision.findings}


def test_override_reference_is_unaffected(engine: Engine) -> None:
    # A blocked plan still needs an override after outcomes exist (scoring does not change safety).
    with transaction(engine) as db:
        world = clinic_world(db)
        _cycle(db, world, DAY, baseline=7, followup=3)
        with pytest.raises(RefusedError):
            saved_session(db, world, day=DAY + dt.timedelta(days=30))
        ok = saved_session(
            db,
            world,
            day=DAY + dt.timedelta(days=30),
            override=Override(
                clinician_id=world.clinician_id,
                reason="Severe relapse; discussed with patient",
                acknowledged=["retreatment.too_soon"],
            ),
        )
    assert ok.data.decision.decision == "block"
