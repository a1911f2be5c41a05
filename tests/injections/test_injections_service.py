"""Saving an injection session: the engine judges the stored context; blocks need an override."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from bontrack.audit.service import entries
from bontrack.errors import InputError, RefusedError
from bontrack.injections import service
from bontrack.injections.models import InjectionSessionRow
from bontrack.injections.schemas import AdverseEventCreate, Override
from bontrack.knowledge import load_knowledge
from bontrack.storage.engine import transaction
from bontrack.synth.events import OVERRIDE_REASONS
from factories import ACTOR, DAY, clinic_world, saved_session, session_input


def _count_sessions(engine: Engine) -> int:
    with transaction(engine) as db:
        return db.scalar(select(func.count()).select_from(InjectionSessionRow)) or 0


def test_create_session__allowed_plan_is_saved_with_decision_and_knowledge_version(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        saved = saved_session(db, world)
    assert saved.data.decision.decision in ("allow", "warn")
    assert not [f for f in saved.data.decision.findings if f.severity == "block"]
    assert saved.data.knowledge_version == load_knowledge().version
    assert saved.data.total_units == 50
    assert saved.data.physical_therapy is True
    assert [s.volume_ml for s in saved.data.sites] == [0.5, 0.5]  # 25 U of 100 U in 2 mL


def test_create_session__brand_name_is_stored_as_product_id(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        saved = service.create_session(db=db, actor=ACTOR, data=session_input(world, product="Botox"))
    assert saved.data.product == "onabotulinumtoxinA"


def test_create_session__block_without_override_is_refused(engine: Engine) -> None:
    with pytest.raises(RefusedError) as info, transaction(engine) as db:
        world = clinic_world(db, screening={"pregnant": True})
        saved_session(db, world)
    assert info.value.errors[0].field == "override"
    assert "screening.pregnant" in info.value.errors[0].message
    assert _count_sessions(engine) == 0


def test_create_session__block_with_override_is_saved_and_audited(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db, screening={"conditions": ["myasthenia_gravis"]})
        reason = "Neurology review 2026-02-20: stable ocular MG, benefit judged to outweigh risk."
        override = Override(
            clinician_id=world.clinician_id, reason=reason, acknowledged=["condition.myasthenia_gravis"]
        )
        saved = service.create_session(db=db, actor=ACTOR, data=session_input(world, override=override))
        (audit,) = entries(db, record_id=saved.id, action="override")
    assert saved.data.decision.decision == "block"
    assert saved.data.override is not None and saved.data.override.reason == reason
    assert saved.data.override.acknowledged == ["condition.myasthenia_gravis"]
    assert audit.detail == reason
    assert audit.after is not None and "condition.myasthenia_gravis" in audit.after["blocked_by"]
    assert audit.after["acknowledged"] == ["condition.myasthenia_gravis"]


REASON = "Patient informed; benefit judged to outweigh the risk."


def test_create_session__a_stale_screening_and_a_session_that_day_need_both_acknowledged(
    engine: Engine,
) -> None:
    """The QA pass's case: a second BOTOX session on the day of one already saved, with a stale
    screening: one override no longer clears every block at once."""
    with transaction(engine) as db:
        world = clinic_world(db)
        later = DAY + dt.timedelta(days=40)  # the screening (DAY - 7) is 47 days old

        def override(*codes: str) -> Override:
            return Override(clinician_id=world.clinician_id, reason=REASON, acknowledged=list(codes))

        first = service.create_session(
            db=db, actor=ACTOR, data=session_input(world, day=later, override=override("screening.stale"))
        )
        with pytest.raises(RefusedError) as info:
            service.create_session(
                db=db, actor=ACTOR, data=session_input(world, day=later, override=override("screening.stale"))
            )
        both = override("retreatment.too_soon", "screening.stale")
        second = service.create_session(
            db=db, actor=ACTOR, data=session_input(world, day=later, override=both)
        )
        (audit,) = entries(db, record_id=second.id, action="override")
    assert first.data.override is not None and first.data.override.acknowledged == ["screening.stale"]
    (error,) = info.value.errors
    assert error.field == "override.acknowledged"
    assert error.message.startswith(
        "must list the code of every block: retreatment.too_soon is not acknowledged"
    )
    assert f"already recorded on the same day ({later}, 50 U)" in error.message
    # recorded in the decision's order: the block first (the patient before the plan)
    assert second.data.override is not None
    assert second.data.override.acknowledged == ["screening.stale", "retreatment.too_soon"]
    assert audit.after is not None and audit.after["acknowledged"] == [
        "screening.stale",
        "retreatment.too_soon",
    ]


def test_create_session__each_block_must_be_acknowledged_on_its_own(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db, screening={"pregnant": True, "conditions": ["myasthenia_gravis"]})
        one = Override(clinician_id=world.clinician_id, reason=REASON, acknowledged=["screening.pregnant"])
        with pytest.raises(RefusedError) as info:
            service.create_session(db=db, actor=ACTOR, data=session_input(world, override=one))
    (error,) = info.value.errors
    assert error.field == "override.acknowledged"
    assert "condition.myasthenia_gravis is not acknowledged (Myasthenia gravis)" in error.message
    assert _count_sessions(engine) == 0


def test_create_session__a_one_character_reason_is_refused_with_the_minimum(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db, screening={"pregnant": True})
        short = Override(clinician_id=world.clinician_id, reason="x", acknowledged=["screening.pregnant"])
        with pytest.raises(RefusedError) as info:
            service.create_session(db=db, actor=ACTOR, data=session_input(world, override=short))
        # spaces do not count: letters spread out are no words
        spread = short.model_copy(update={"reason": "p a t i e n t  i n f o r m"})
        with pytest.raises(RefusedError) as again:
            service.create_session(db=db, actor=ACTOR, data=session_input(world, override=spread))
    pathway = load_knowledge().files.pathway
    assert (pathway.override_reason_min_chars.value, pathway.override_reason_min_words.value) == (15, 3)
    ((field, message),) = [(e.field, e.message) for e in info.value.errors]
    assert field == "override.reason"
    assert message.startswith(
        "Write why going ahead outweighs the blocks in a few words of your own: at least 3 different "
        "words with 15 letters between them"
    )
    assert message.endswith("; written: 0 different words, 0 letters")
    assert again.value.errors[0].message.endswith("; written: 0 different words, 0 letters")
    assert _count_sessions(engine) == 0


FILLER = [
    "aaaaaaaaaaaaaaa",  # one character repeated to the length
    "override override override",  # one word repeated
    "...............",
    "123456789012345",
    "patient informed",  # 15 letters, 2 words: says what, not why
    "ok ok ok ok ok ok ok ok risk go",  # a word written again counts once
]


@pytest.mark.parametrize("reason", FILLER)
def test_create_session__a_reason_that_fills_the_length_without_words_is_refused(
    engine: Engine, reason: str
) -> None:
    with transaction(engine) as db:
        world = clinic_world(db, screening={"pregnant": True})
        filler = Override(clinician_id=world.clinician_id, reason=reason, acknowledged=["screening.pregnant"])
        with pytest.raises(RefusedError) as info:
            service.create_session(db=db, actor=ACTOR, data=session_input(world, override=filler))
    ((field, message),) = [(e.field, e.message) for e in info.value.errors]
    assert field == "override.reason" and "at least 3 different words" in message
    assert _count_sessions(engine) == 0


@pytest.mark.parametrize(
    ("reason", "written"),
    [
        ("aaaaaaaaaaaaaaa", "0 different words, 0 letters"),
        ("Override override OVERRIDE", "1 different word, 8 letters"),
        ("patient informed", "2 different words, 15 letters"),
        ("ok, MG 2y: go", "3 different words, 6 letters"),
    ],
)
def test_reason_problem__says_what_was_written(reason: str, written: str) -> None:
    from bontrack.injections.authority import reason_problem  # new with the words rule

    problem = reason_problem(reason)
    assert problem is not None and problem.endswith(f"; written: {written}")


@pytest.mark.parametrize(
    "reason",
    [
        "neurology review: stable MG",
        "Patient informed, risk accepted.",
        "Grossesse exclue, bénéfice discuté avec la patiente",  # letters of any alphabet
        *OVERRIDE_REASONS,  # what the synthetic clinic writes
    ],
)
def test_reason_problem__a_reason_in_words_passes(reason: str) -> None:
    from bontrack.injections.authority import reason_problem

    assert reason_problem(reason) is None


def test_create_session__a_code_that_does_not_block_is_not_recorded(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db, screening={"pregnant": True})
        extra = Override(
            clinician_id=world.clinician_id,
            reason="Patient informed; benefit outweighs the risk.",
            acknowledged=["lot.expired", "screening.pregnant", "screening.pregnant"],
        )
        saved = service.create_session(db=db, actor=ACTOR, data=session_input(world, override=extra))
    assert saved.data.override is not None and saved.data.override.acknowledged == ["screening.pregnant"]


def test_stored_override__without_acknowledgements_or_with_a_short_reason_still_reads() -> None:
    # a record saved before the blocks were acknowledged, with the reason it was given then
    stored = Override.model_validate({"clinician_id": "c", "reason": "x"}, context={"stored": True})
    assert stored.acknowledged == [] and stored.reason == "x"


def test_create_session__override_by_unknown_clinician_is_refused(engine: Engine) -> None:
    with pytest.raises(InputError) as info, transaction(engine) as db:
        world = clinic_world(db, screening={"pregnant": True})
        service.create_session(
            db=db,
            actor=ACTOR,
            data=session_input(world, override=Override(clinician_id="nobody", reason="x")),
        )
    assert info.value.errors[0].field == "override.clinician_id"


def test_override_schema__blank_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="reason"):
        Override.model_validate({"clinician_id": "c", "reason": "   "})


def test_create_session__stored_history_blocks_too_early_reinjection(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        saved_session(db, world)
        with pytest.raises(RefusedError) as info:
            saved_session(db, world, day=DAY + dt.timedelta(days=30))
    assert "retreatment" in info.value.errors[0].message or "interval" in info.value.errors[0].message


def test_create_session__a_second_session_the_same_day_says_to_correct_the_first(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        first = saved_session(db, world, units=12.5)
        with pytest.raises(RefusedError) as info:
            saved_session(db, world)
        _record, decision = service.judge(db=db, actor=ACTOR, data=session_input(world))
    assert "retreatment.too_soon" in info.value.errors[0].message
    (block,) = [f for f in decision.findings if f.severity == "block"]
    assert block.message.startswith(
        f"A session of onabotulinumtoxinA was already recorded on the same day ({first.data.date}, 25 U)"
    )
    assert "added by correcting that session" in block.message


def test_create_session__plan_errors_name_the_callers_fields(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        data = session_input(world)
        data = data.model_copy(update={"vial_units": 123.0})
        with pytest.raises(InputError) as info:
            service.create_session(db=db, actor=ACTOR, data=data)
    assert info.value.errors[0].field == "vial_units"


def test_update_session__corrected_version_is_judged_again(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        first = saved_session(db, world)
        fixed = service.update_session(
            db=db,
            actor=ACTOR,
            session_id=first.id,
            data=session_input(world, units=20),
            reason="dose mis-typed",
        )
        history = service.session_history(db=db, actor=ACTOR, session_id=first.id)
    assert fixed.version == 2 and fixed.data.total_units == 40
    assert [h.data.total_units for h in history] == [50, 40]


def test_report_adverse_event__before_session_is_refused(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        session = saved_session(db, world)
        event = AdverseEventCreate(
            patient_id=world.patient_id,
            session_id=session.id,
            event="dysphagia",
            onset_date=DAY - dt.timedelta(days=1),
            reported_date=DAY + dt.timedelta(days=5),
            severity="mild",
        )
        with pytest.raises(InputError) as info:
            service.report_adverse_event(db=db, actor=ACTOR, data=event)
        ok = service.report_adverse_event(
            db=db, actor=ACTOR, data=event.model_copy(update={"onset_date": DAY + dt.timedelta(days=3)})
        )
        listed = service.adverse_events_of_session(db=db, actor=ACTOR, session_id=session.id)
    assert info.value.errors[0].field == "onset_date"
    assert [e.id for e in listed] == [ok.id]
