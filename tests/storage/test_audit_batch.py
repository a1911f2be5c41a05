"""Audit entries of a unit of work are inserted together, and only with what they record."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from bontrack.audit.models import AuditEntry
from bontrack.patients import service as patients
from bontrack.scheduling.service import stop_and_review
from bontrack.storage.engine import transaction
from factories import clinic_world, saved_session


def _count(engine: Engine) -> int:
    with transaction(engine) as db:
        return int(db.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_reads_of_a_unit_of_work_are_one_insert_in_the_order_made(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        saved_session(db, world)
    inserts: list[int] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_PACKS"):
            inserts.append(len(params) if many else 1)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with transaction(engine) as db:
            patients.get_patient(db=db, actor="reader", patient_id=world.patient_id)
            patients.episodes_of_patient(db=db, actor="reader", patient_id=world.patient_id)
            patients.get_patient(db=db, actor="reader", patient_id=world.patient_id)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert inserts == [3]
    with transaction(engine) as db:
        last = db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(3)).all()
    assert [(e.actor, e.record_type) for e in reversed(last)] == [
        ("reader", "patient"),
        ("reader", "episode"),
        ("reader", "patient"),
    ]


def test_reading_the_audit_log_in_the_same_transaction_sees_what_is_not_yet_inserted(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        patients.get_patient(db=db, actor="reader", patient_id=world.patient_id)
        seen = db.scalars(select(AuditEntry).where(AuditEntry.actor == "reader")).all()
        counted = db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == "reader"))
    assert len(seen) == 1 and counted == 1


def test_a_rolled_back_unit_of_work_leaves_no_entries(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
    before = _count(engine)
    with pytest.raises(RuntimeError), transaction(engine) as db:
        patients.get_patient(db=db, actor="reader", patient_id=world.patient_id)
        raise RuntimeError("the request failed")
    assert _count(engine) == before


def test_a_rolled_back_savepoint_drops_only_its_own_entries(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
    with transaction(engine) as db:
        patients.get_patient(db=db, actor="before", patient_id=world.patient_id)
        with pytest.raises(RuntimeError), db.begin_nested():
            patients.get_patient(db=db, actor="inside", patient_id=world.patient_id)
            raise RuntimeError("the write failed")
        with db.begin_nested():
            patients.get_patient(db=db, actor="kept", patient_id=world.patient_id)
        patients.get_patient(db=db, actor="after", patient_id=world.patient_id)
    with transaction(engine) as db:
        actors = db.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "read").order_by(AuditEntry.seq)
        ).all()
    assert actors[-3:] == ["before", "kept", "after"]
    assert "inside" not in actors


def test_a_savepoint_rolled_back_after_its_entries_were_written_drops_them_too(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
    with transaction(engine) as db:
        with pytest.raises(RuntimeError), db.begin_nested():
            patients.get_patient(db=db, actor="inside", patient_id=world.patient_id)
            db.scalars(select(AuditEntry)).all()  # writes the pending entries, inside the savepoint
            patients.get_patient(db=db, actor="inside", patient_id=world.patient_id)
            raise RuntimeError("the write failed")
        patients.get_patient(db=db, actor="after", patient_id=world.patient_id)
    with transaction(engine) as db:
        actors = db.scalars(select(AuditEntry.actor).where(AuditEntry.action == "read")).all()
    assert "inside" not in actors and "after" in actors


def test_stop_and_review_audits_what_it_read(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        saved_session(db, world)
    with transaction(engine) as db:
        assert (
            stop_and_review(db=db, actor="reviewer", today=dt.date(2100, 1, 1), clinic_id=world.clinic_id)
            == []
        )
    with transaction(engine) as db:
        read = db.scalars(
            select(AuditEntry.record_type).where(AuditEntry.actor == "reviewer", AuditEntry.action == "read")
        ).all()
    assert "due_item" in read  # the due items kept as records are written (one entry, with the count)


def test_entries_made_before_a_savepoint_survive_its_rollback_even_if_written_inside(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
    with transaction(engine) as db:
        patients.get_patient(db=db, actor="before", patient_id=world.patient_id)
        with pytest.raises(RuntimeError), db.begin_nested():
            db.scalars(select(AuditEntry)).all()  # reading the log inside the savepoint
            patients.get_patient(db=db, actor="inside", patient_id=world.patient_id)
            raise RuntimeError("the write failed")
    with transaction(engine) as db:
        actors = db.scalars(select(AuditEntry.actor).where(AuditEntry.action == "read")).all()
    assert "before" in actors and "inside" not in actors
