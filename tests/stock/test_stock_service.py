"""Stock, openings, discards and recall through the real services, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bontrack.actor import Actor
from bontrack.assessments.schemas import AssessmentCreate
from bontrack.assessments.service import create_assessment
from bontrack.audit.models import AuditEntry
from bontrack.errors import InputError, NotFoundError
from bontrack.injections.service import create_session
from bontrack.patients import service as patients
from bontrack.patients.schemas import EpisodeCreate, PatientCreate
from bontrack.screening.schemas import ScreeningCreate
from bontrack.screening.service import create_screening
from bontrack.stock import service as stock
from bontrack.stock.models import StockReceiptRow, VialOpeningRow
from bontrack.stock.openings import openings_of_session
from bontrack.stock.schemas import DiscardRequest, StockReceiptCreate, VialOpeningCreate
from bontrack.storage.engine import transaction
from factories import ACTOR, DAY, World, clinic_world, session_input


def receipt(lot: str = "C1234", **extra: Any) -> StockReceiptCreate:
    return StockReceiptCreate.model_validate(
        {
            "product": "Botox",
            "lot": lot,
            "expiry": DAY + dt.timedelta(days=300),
            "vial_units": 100,
            "vial_count": 4,
            "supplier": "McKesson",
            "received_on": DAY - dt.timedelta(days=20),
        }
        | extra
    )


def another_patient(db: Session, world: World, record_number: str, phone: str = "") -> World:
    """A second eligible patient of the same clinic (screened and examined)."""
    patient = patients.create_patient(
        db=db,
        actor=ACTOR,
        clinic_id=world.clinic_id,
        data=PatientCreate(
            record_number=record_number,
            name=f"Patient {record_number}",
            birth_date=dt.date(1970, 1, 1),
            sex="male",
            phone=phone,
        ),
    )
    episode = patients.create_episode(
        db=db,
        actor=ACTOR,
        data=EpisodeCreate.model_validate(
            {
                "patient_id": patient.id,
                "diagnosis_codes": [{"code": "M54.2"}],
                "pain_onset_date": "2025-01-10",
                "conservative_care_weeks": 12,
            }
        ),
    )
    create_screening(
        db=db,
        actor=ACTOR,
        data=ScreeningCreate(
            patient_id=patient.id,
            date=DAY - dt.timedelta(days=7),
            pregnant=None,
            breastfeeding=None,
            infection_at_injection_site=False,
        ),
    )
    create_assessment(
        db=db,
        actor=ACTOR,
        data=AssessmentCreate.model_validate(
            {
                "patient_id": patient.id,
                "episode_id": episode.id,
                "date": DAY - dt.timedelta(days=7),
                "assessor_id": world.clinician_id,
                "trigger_points": [
                    {
                        "muscle": "upper_trapezius",
                        "side": s,
                        "taut_band": True,
                        "spot_tenderness": True,
                        "referred_pain": True,
                        "pain_recognition": True,
                        "local_twitch": False,
                    }
                    for s in ("left", "right")
                ],
            }
        ),
    )
    return World(world.clinic_id, world.clinician_id, patient.id, episode.id, world.plan_id)


def test_receive_and_list__by_product_then_expiry_with_counts(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt("LATE"))
        stock.receive_vials(
            db=db,
            actor=ACTOR,
            clinic_id=world.clinic_id,
            data=receipt("SOON", expiry=DAY + dt.timedelta(days=30), vial_count=2),
        )
        stock.receive_vials(
            db=db,
            actor=ACTOR,
            clinic_id=world.clinic_id,
            data=receipt("D1", product="dysport", vial_units=300, vial_count=1),
        )
        lines = stock.stock_on_hand(db=db, actor=ACTOR, on=DAY)
    assert [(x.product, x.lot) for x in lines] == [
        ("abobotulinumtoxinA", "D1"),
        ("onabotulinumtoxinA", "SOON"),
        ("onabotulinumtoxinA", "LATE"),
    ]
    soon = lines[1]
    assert (soon.received, soon.remaining, soon.expiring_soon, soon.days_to_expiry) == (2, 2, True, 30)
    assert not lines[2].expiring_soon  # 300 days
    assert lines[2].usable_hours_after_reconstitution == 24  # BOTOX label section 2.2


def test_expiry_warning__day_30_warns_day_31_does_not(engine: Engine) -> None:
    days = stock.expiry_warning_days()
    with transaction(engine) as db:
        world = clinic_world(db)
        for n in (days, days + 1):
            stock.receive_vials(
                db=db,
                actor=ACTOR,
                clinic_id=world.clinic_id,
                data=receipt(f"L{n}", expiry=DAY + dt.timedelta(days=n)),
            )
        lines = {
            x.lot: x for x in stock.lots_for_session(db=db, actor=ACTOR, clinic_id=world.clinic_id, on=DAY)
        }
    assert lines[f"L{days}"].expiring_soon and not lines[f"L{days + 1}"].expiring_soon


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"product": "nothing"}, "product"),
        ({"vial_units": 150}, "vial_units"),
        ({"expiry": DAY + dt.timedelta(days=10)}, "expiry"),
    ],
)
def test_receive__bad_product_size_or_changed_expiry_names_the_field(
    engine: Engine, extra: dict[str, Any], field: str
) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt())
    with pytest.raises(InputError) as info, transaction(engine) as db:
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt(**extra))
    assert info.value.errors[0].field == field
    with transaction(engine) as db:
        assert len(db.scalars(select(StockReceiptRow)).all()) == 1  # nothing written


def test_session_from_stock__opens_vials_and_starts_the_usable_window(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt())
        session = create_session(db=db, actor=ACTOR, data=session_input(world, vial_count=2))
        opened = openings_of_session(db=db, actor=ACTOR, session_id=session.id)
        line = stock.stock_on_hand(db=db, actor=ACTOR, on=DAY)[0]
    assert len(opened) == 1
    assert opened[0].data.vial_count == 2
    assert opened[0].data.opened_at == dt.datetime.combine(DAY, dt.time(8, 30))
    assert opened[0].data.usable_until == dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(8, 30))
    assert (line.opened, line.remaining) == (2, 2)


def test_session_from_stock__more_vials_than_left_is_refused(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt(vial_count=1))
    with pytest.raises(InputError) as info, transaction(engine) as db:
        create_session(db=db, actor=ACTOR, data=session_input(world, vial_count=2))
    assert info.value.errors[0].field == "vial_count"
    assert "only 1 unopened vial" in info.value.errors[0].message
    with transaction(engine) as db:
        assert db.scalars(select(VialOpeningRow)).all() == []


def test_session_with_a_lot_not_in_stock__is_saved_without_opening(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        session = create_session(db=db, actor=ACTOR, data=session_input(world, lot="ELSEWHERE"))
        assert openings_of_session(db=db, actor=ACTOR, session_id=session.id) == []


def test_discard__counts_units_and_refuses_more_than_left(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt(vial_count=3))
        thrown = stock.discard_vials(
            db=db,
            actor=ACTOR,
            data=DiscardRequest(lot="C1234", vial_count=2, reason="cold chain broken", discarded_on=DAY),
        )
        assert thrown.data.units == 200
        assert stock.stock_on_hand(db=db, actor=ACTOR, on=DAY)[0].remaining == 1
    with pytest.raises(InputError) as info, transaction(engine) as db:
        stock.discard_vials(
            db=db, actor=ACTOR, data=DiscardRequest(lot="C1234", vial_count=2, reason="x", discarded_on=DAY)
        )
    assert info.value.errors[0].field == "vial_count"
    with pytest.raises(NotFoundError), transaction(engine) as db:
        stock.discard_vials(
            db=db, actor=ACTOR, data=DiscardRequest(lot="NOPE", vial_count=1, reason="x", discarded_on=DAY)
        )


def test_stock_is_clinic_scoped(engine: Engine) -> None:
    with transaction(engine) as db:
        a = clinic_world(db)
        b = clinic_world(db, record_number="P-002")
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=a.clinic_id, data=receipt("A-LOT"))
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=b.clinic_id, data=receipt("B-LOT"))
        doctor_a = Actor("a:doctor", clinic_id=a.clinic_id, role="physician")
        assert [x.lot for x in stock.stock_on_hand(db=db, actor=doctor_a, on=DAY)] == ["A-LOT"]
        with pytest.raises(NotFoundError):
            stock.discard_vials(
                db=db,
                actor=doctor_a,
                data=DiscardRequest(lot="B-LOT", vial_count=1, reason="x", discarded_on=DAY),
            )
        # receiving at the actor's own clinic needs no clinic id
        own = stock.receive_vials(db=db, actor=doctor_a, data=receipt("A-2"))
        assert own.clinic_id == a.clinic_id


def test_recall__admin_sees_all_three_patients_physician_only_their_clinics(engine: Engine) -> None:
    with transaction(engine) as db:
        a = clinic_world(db)
        a2 = another_patient(db, a, "P-A2", phone="+1 555 0102")
        b = clinic_world(db, record_number="P-B1")
        a3 = another_patient(db, a, "P-A3")  # given another lot: not recalled
        for world in (a, a2, b):
            create_session(db=db, actor=ACTOR, data=session_input(world, lot="R-77"))
        create_session(db=db, actor=ACTOR, data=session_input(a3, lot="OTHER"))
    admin = Actor("root:admin", clinic_id=None, role="admin")
    doctor_a = Actor("a:doctor", clinic_id=a.clinic_id, role="physician")
    with transaction(engine) as db:
        everyone = stock.recall(db=db, actor=admin, lot=" r-77 ")
        mine = stock.recall(db=db, actor=doctor_a, lot="R-77")
    assert {x.patient_id for x in everyone.sessions} == {a.patient_id, a2.patient_id, b.patient_id}
    assert (everyone.patients, everyone.clinics) == (3, 2)
    assert {x.patient_id for x in mine.sessions} == {a.patient_id, a2.patient_id}
    assert {x.record_number for x in mine.sessions} == {"P-001", "P-A2"}
    assert {x.phone for x in mine.sessions} == {"", "+1 555 0102"}
    with transaction(engine) as db:
        details = db.scalars(select(AuditEntry.detail).where(AuditEntry.actor == "a:doctor")).all()
    assert details.count("recall of lot R-77") == 4  # two sessions and two patients read


def test_recall__a_lot_written_with_spaces_inside_is_the_same_lot(engine: Engine) -> None:
    """QA pass 5: a session whose lot was typed "R 77" was missed by the recall of lot R77."""
    with transaction(engine) as db:
        a = clinic_world(db)
        a2 = another_patient(db, a, "P-A2")
        a3 = another_patient(db, a, "P-A3")
        create_session(db=db, actor=ACTOR, data=session_input(a, lot="R 77"))
        create_session(db=db, actor=ACTOR, data=session_input(a2, lot="r77"))
        create_session(db=db, actor=ACTOR, data=session_input(a3, lot="R-77"))  # another lot number
    admin = Actor("root:admin", clinic_id=None, role="admin")
    with transaction(engine) as db:
        joined = stock.recall(db=db, actor=admin, lot="R77")
        spaced = stock.recall(db=db, actor=admin, lot=" r 7 7 ")
    assert {x.patient_id for x in joined.sessions} == {a.patient_id, a2.patient_id}
    assert {x.patient_id for x in spaced.sessions} == {a.patient_id, a2.patient_id}


def test_recall__an_empty_lot_names_the_field(engine: Engine) -> None:
    with pytest.raises(InputError) as info, transaction(engine) as db:
        stock.recall(db=db, actor=ACTOR, lot="  ")
    assert info.value.errors[0].field == "lot"


def test_withdrawn_session__its_vials_return_to_stock(engine: Engine) -> None:
    from bontrack.injections.service import withdraw_session

    with transaction(engine) as db:
        world = clinic_world(db)
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt())
        session = create_session(db=db, actor=ACTOR, data=session_input(world))
        assert stock.stock_on_hand(db=db, actor=ACTOR, on=DAY)[0].remaining == 3
        withdraw_session(db=db, actor=ACTOR, session_id=session.id, reason="entered for the wrong patient")
        assert stock.stock_on_hand(db=db, actor=ACTOR, on=DAY)[0].remaining == 4
        assert openings_of_session(db=db, actor=ACTOR, session_id=session.id) == []


def test_corrected_session__its_openings_follow_the_lot_and_vials(engine: Engine) -> None:
    from bontrack.injections.service import update_session

    with transaction(engine) as db:
        world = clinic_world(db)
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt())
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt("D5678"))
        session = create_session(db=db, actor=ACTOR, data=session_input(world))
        left = {x.lot: x.remaining for x in stock.stock_on_hand(db=db, actor=ACTOR, on=DAY)}
        assert left == {"C1234": 3, "D5678": 4}
        # a correction that leaves what was taken from stock alone: the opening is not touched
        update_session(
            db=db,
            actor=ACTOR,
            session_id=session.id,
            data=session_input(world, guidance="ultrasound"),
            reason="typo",
        )
        [first] = openings_of_session(db=db, actor=ACTOR, session_id=session.id)
        assert first.version == 1
        # the lot was wrong: C1234's vial goes back, D5678's comes out
        update_session(
            db=db,
            actor=ACTOR,
            session_id=session.id,
            data=session_input(world, lot="D5678"),
            reason="lot misread from the carton",
        )
        left = {x.lot: x.remaining for x in stock.stock_on_hand(db=db, actor=ACTOR, on=DAY)}
        assert left == {"C1234": 4, "D5678": 3}
        [now] = openings_of_session(db=db, actor=ACTOR, session_id=session.id)
        assert (now.data.lot, now.data.vial_count) == ("D5678", 1)
        history = records_history(db, first.id)
        assert [v.withdrawn for v in history] == [False, True]
        assert history[-1].reason == "session corrected: lot misread from the carton"


def test_corrected_session__more_vials_than_left_is_refused_and_nothing_changes(engine: Engine) -> None:
    from bontrack.injections.service import update_session

    with transaction(engine) as db:
        world = clinic_world(db)
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt(vial_count=1))
        session = create_session(db=db, actor=ACTOR, data=session_input(world))
    with pytest.raises(InputError) as info, transaction(engine) as db:
        update_session(
            db=db, actor=ACTOR, session_id=session.id, data=session_input(world, lot="NOPE1"), reason="x"
        )
        # a lot not kept in stock: the earlier opening is withdrawn and nothing is taken (allowed);
        # then ask for more vials than the stock holds, in the same transaction
        update_session(
            db=db,
            actor=ACTOR,
            session_id=session.id,
            data=session_input(world, vial_count=2),
            reason="two vials",
        )
    assert info.value.errors[0].field == "vial_count"
    with transaction(engine) as db:
        [line] = stock.stock_on_hand(db=db, actor=ACTOR, on=DAY, include_empty=True)
        assert (
            line.remaining == 0 and len(openings_of_session(db=db, actor=ACTOR, session_id=session.id)) == 1
        )


def records_history(db: Session, opening_id: str) -> list[Any]:
    from bontrack import records

    return [
        records.to_read(r, VialOpeningCreate)
        for r in records.history(db, row_cls=VialOpeningRow, record_id=opening_id, actor=ACTOR)
    ]


# ---- one physical lot, possible histories (QA R4, R5) -----------------------------------------


def test_receive__the_same_lot_in_another_case_joins_the_lot_as_first_written(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt("STK-A1"))
        again = stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt(" stk-a1 "))
        assert again.data.lot == "STK-A1"
        [line] = stock.stock_on_hand(db=db, actor=ACTOR, on=DAY)
        assert (line.lot, line.received) == ("STK-A1", 8)
        # a discard and a session naming it in another case take from the one line
        stock.discard_vials(
            db=db, actor=ACTOR, data=DiscardRequest(lot="stk-a1", vial_count=1, reason="x", discarded_on=DAY)
        )
        create_session(db=db, actor=ACTOR, data=session_input(world, lot="Stk-A1"))
        [line] = stock.stock_on_hand(db=db, actor=ACTOR, on=DAY)
        assert (line.discarded, line.opened, line.remaining) == (1, 1, 6)


def test_receive__the_same_lot_with_spaces_inside_joins_the_lot_as_first_written(engine: Engine) -> None:
    """QA pass 5: "c 1234" received after "C1234" made a second stock line of the same lot."""
    with transaction(engine) as db:
        world = clinic_world(db)
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt("C1234"))
        again = stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt("c 1234"))
        assert again.data.lot == "C1234"
        stock.discard_vials(
            db=db, actor=ACTOR, data=DiscardRequest(lot="C 12 34", vial_count=1, reason="x", discarded_on=DAY)
        )
        [line] = stock.stock_on_hand(db=db, actor=ACTOR, on=DAY)
        assert (line.lot, line.received, line.discarded) == ("C1234", 8, 1)
    assert stock.same_lot("c 1234", " C1234") and not stock.same_lot("C-1234", "C1234")


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"product": "Dysport", "vial_units": 300}, "lot", "lot STK-A1 (the same lot"),
        ({"expiry": DAY + dt.timedelta(days=10)}, "expiry", "lot STK-A1 (the same lot"),
    ],
)
def test_receive__the_same_lot_in_another_case_with_other_details_names_it_as_written(
    engine: Engine, extra: dict[str, Any], field: str, words: str
) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt("STK-A1"))
    with pytest.raises(InputError) as info, transaction(engine) as db:
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt("stk-a1", **extra))
    [error] = info.value.errors
    assert error.field == field and error.message.startswith(words), error.message
    with transaction(engine) as db:
        assert len(db.scalars(select(StockReceiptRow)).all()) == 1


def test_receive__an_expiry_before_2000_is_refused_as_a_sessions_lot_is(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
    with pytest.raises(InputError) as info, transaction(engine) as db:
        stock.receive_vials(
            db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt(expiry=dt.date(1999, 1, 1))
        )
    [error] = info.value.errors
    assert error.field == "expiry"
    assert error.message == "1999-01-01 is before 2000-01-01: check the date printed on the vial"


def test_receive__an_expired_lot_is_saved_with_a_warning(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        data = receipt("OLD-1", expiry=DAY - dt.timedelta(days=30))
        saved = stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=data)
        [warning] = stock.receipt_warnings(saved.data)
        assert "OLD-1 expired on" in warning and "never offered for a session" in warning
        assert stock.receipt_warnings(receipt().model_copy()) == []


def test_discard__dated_before_the_lot_was_received_is_refused_naming_both_dates(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        stock.receive_vials(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=receipt())
    early = DAY - dt.timedelta(days=30)
    with pytest.raises(InputError) as info, transaction(engine) as db:
        stock.discard_vials(
            db=db, actor=ACTOR, data=DiscardRequest(lot="C1234", vial_count=1, reason="x", discarded_on=early)
        )
    [error] = info.value.errors
    received = DAY - dt.timedelta(days=20)
    assert error.field == "discarded_on"
    assert error.message == f"lot C1234 was received on {received}, after the discard's date {early}"


def test_session_dated_before_the_lot_was_received_is_refused_on_the_lot(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        stock.receive_vials(
            db=db,
            actor=ACTOR,
            clinic_id=world.clinic_id,
            data=receipt(received_on=DAY + dt.timedelta(days=1)),
        )
    with pytest.raises(InputError) as info, transaction(engine) as db:
        create_session(db=db, actor=ACTOR, data=session_input(world))
    [error] = info.value.errors
    assert error.field == "lot"
    assert error.message == (
        f"lot C1234 was received on {DAY + dt.timedelta(days=1)}, after the session's date {DAY}"
    )
