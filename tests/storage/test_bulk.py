"""The bulk block: the same services, the same records, reads that see the block's own writes, and
one read audit entry per distinct (actor, record, version, purpose).

Each case runs one scenario twice with the same ids and clock: once inside ``storage.bulk.bulk`` and
once without it, on two new databases, and compares what they stored.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from bontrack.audit.models import AuditEntry, AuditPack
from bontrack.errors import InputError, NotFoundError
from bontrack.exchange.jsonl import export_lines
from bontrack.injections import service as injections
from bontrack.patients import service as patients
from bontrack.patients.models import PatientRow
from bontrack.patients.schemas import PatientCreate
from bontrack.records import ids_from
from bontrack.storage.bulk import bulk
from bontrack.storage.engine import open_engine, transaction
from bontrack.storage.inserts import insert_many
from bontrack.storage.times import recorded_by_clock
from factories import ACTOR, World, clinic_world, saved_session

OTHER = "test:auditor"
AuditKey = tuple[str, str, str | None, int | None, str | None]


def _ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: str(uuid.UUID(int=next(counter), version=4))


def _person(number: str, name: str = "New Patient") -> PatientCreate:
    return PatientCreate(record_number=number, name=name, birth_date=dt.date(1980, 1, 2), sex="male")


def _scenario(db: Session, before: World, *, in_bulk: bool) -> None:
    """Writes and reads a clinic would make, mixing records from before the block with new ones."""
    world = clinic_world(db, record_number="N-001")  # a new clinic, patient, episode, plan ...
    session = saved_session(db, world)  # the engine reads what this block wrote
    injections.get_session(db=db, actor=ACTOR, session_id=session.id)
    injections.get_session(db=db, actor=ACTOR, session_id=session.id)  # a repeated read
    injections.get_session(db=db, actor=OTHER, session_id=session.id)  # by someone else

    newcomer = patients.create_patient(db=db, actor=ACTOR, clinic_id=before.clinic_id, data=_person("P-002"))
    if in_bulk:  # still pending: the reads below are answered from memory
        assert db.scalar(select(func.count()).select_from(PatientRow)) == 1
    listed = patients.list_patients(db=db, actor=ACTOR, clinic_id=before.clinic_id)
    assert [p.data.record_number for p in listed] == ["P-001", "P-002"]  # database + block

    patients.update_patient(
        db=db, actor=ACTOR, patient_id=newcomer.id, data=_person("P-002", "Renamed"), reason="spelling"
    )
    current = patients.get_patient(db=db, actor=ACTOR, patient_id=newcomer.id)
    assert (current.version, current.data.name) == (2, "Renamed")
    patients.get_patient(db=db, actor=ACTOR, patient_id=before.patient_id)  # a record from before
    patients.get_patient(db=db, actor=ACTOR, patient_id=before.patient_id)

    with pytest.raises(InputError, match="already used"):  # the number is taken in the database
        patients.create_patient(db=db, actor=ACTOR, clinic_id=before.clinic_id, data=_person("P-001"))
    with pytest.raises(InputError, match="already used"):  # ... and within the block
        patients.create_patient(db=db, actor=ACTOR, clinic_id=before.clinic_id, data=_person("P-002"))

    patients.withdraw_patient(db=db, actor=ACTOR, patient_id=newcomer.id, reason="duplicate")
    with pytest.raises(NotFoundError, match="withdrawn"):
        patients.get_patient(db=db, actor=ACTOR, patient_id=newcomer.id)
    listed = patients.list_patients(db=db, actor=ACTOR, clinic_id=before.clinic_id)
    assert [p.data.record_number for p in listed] == ["P-001"]


def _run(
    engine: Engine, *, in_bulk: bool, bulk_unit: bool = False
) -> tuple[list[str], list[AuditKey], list[AuditKey]]:
    """Export lines, and the audit entries of the scenario's transaction: writes in order, reads.
    ``bulk_unit``: the scenario's unit of work is opened with the bulk writer (no block inside)."""
    clock = dt.datetime(2026, 3, 2, 9, 0)
    with ids_from(_ids()), recorded_by_clock(lambda: clock):
        with transaction(engine) as db:
            before = clinic_world(db, record_number="P-001")
            db.flush()
            start = db.scalar(select(func.max(AuditEntry.seq)))
        with transaction(engine, bulk=bulk_unit) as db:
            block: AbstractContextManager[object] = bulk(db) if in_bulk and not bulk_unit else nullcontext()
            with block:
                _scenario(db, before, in_bulk=in_bulk)
    with transaction(engine) as db:
        audit = db.scalars(select(AuditEntry).where(AuditEntry.seq > start).order_by(AuditEntry.seq)).all()
        keys = [(a.actor, a.action, a.record_id, a.version, a.detail) for a in audit]
        lines = export_lines(db=db, actor=ACTOR)
    return lines, [k for k in keys if k[1] != "read"], [k for k in keys if k[1] == "read"]


def test_bulk__stores_what_the_services_store_without_it(engine: Engine, second_engine: Engine) -> None:
    bulk_lines, bulk_writes, _ = _run(engine, in_bulk=True)
    plain_lines, plain_writes, _ = _run(second_engine, in_bulk=False)
    assert bulk_lines == plain_lines
    assert bulk_writes == plain_writes  # every write audited, in the order made


def test_bulk__one_read_entry_per_actor_record_version_and_purpose(
    engine: Engine, second_engine: Engine
) -> None:
    _, _, bulk_reads = _run(engine, in_bulk=True)
    _, _, plain_reads = _run(second_engine, in_bulk=False)
    assert set(bulk_reads) == set(plain_reads)
    assert max(Counter(bulk_reads).values()) == 1
    assert max(Counter(plain_reads).values()) > 1  # the scenario does repeat reads
    assert len([k for k in bulk_reads if k[0] == OTHER]) == 1  # another actor's read is its own entry


def test_a_unit_of_work_opened_with_the_bulk_writer__stores_what_a_bulk_block_stores(
    engine: Engine, second_engine: Engine
) -> None:
    unit_lines, unit_writes, unit_reads = _run(engine, in_bulk=True, bulk_unit=True)
    block_lines, block_writes, block_reads = _run(second_engine, in_bulk=True)
    assert (unit_lines, unit_writes, unit_reads) == (block_lines, block_writes, block_reads)
    assert max(Counter(unit_reads).values()) == 1  # the bulk writer's rule of one read entry


def test_bulk__a_block_inside_a_block_is_refused(engine: Engine) -> None:
    with transaction(engine) as db, bulk(db), pytest.raises(RuntimeError, match="already open"), bulk(db):
        pass
    with transaction(engine, bulk=True) as db, pytest.raises(RuntimeError, match="already open"), bulk(db):
        pass


def test_bulk__reads_after_a_merge_are_refused(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
    with transaction(engine) as db, bulk(db) as writer:
        writer.merge({}, [])
        with pytest.raises(RuntimeError, match="cannot answer reads"):
            patients.get_patient(db=db, actor=ACTOR, patient_id=world.patient_id)


def test_insert_many__stores_exactly_what_a_core_insert_stores(tmp_path: Path) -> None:
    """The SQLite fast path converts parameters itself: the stored bytes must not differ."""
    at = dt.datetime(2026, 3, 2, 9, 15, 30, 123456)
    audit = [  # audit_packs rows: texts (and on SQLite the clinic) by number, record ids as bytes
        {"at": 1_772_442_930_123_456, "actor": 1, "action": 2, "clinic_id": 8, "record_type": 3}
        | {"detail": None, "outcome": 4, "ids": b'[["p",1]]', "extra": {"é": [1, 2.5, None, True]}},
        {"at": 1_772_442_930_123_457, "actor": 1, "action": 2, "clinic_id": 8, "record_type": 3}
        | {"detail": None, "outcome": 4, "ids": b"\x00" + bytes(range(16)) + b"\xff", "extra": None},
        {"at": -1, "actor": 1, "action": 5, "clinic_id": 0, "record_type": None}
        | {"detail": 6, "outcome": 7, "ids": None, "extra": None},
    ]
    rows = [
        {"id": "p", "version": 1, "clinic_id": "c", "withdrawn": False, "recorded_at": at}
        | {"recorded_by": ACTOR, "reason": None, "data": {"name": "Ní Bhriain", "n": 1.0}}
        | {"record_number": "P-1"},
        {"id": "p", "version": 2, "clinic_id": "c", "withdrawn": True, "recorded_at": at}
        | {"recorded_by": ACTOR, "reason": "moved", "data": {}, "record_number": None},
    ]
    dumps = []
    for name, fast in (("fast.db", True), ("core.db", False)):
        engine = open_engine(f"sqlite:///{tmp_path / name}")
        with transaction(engine) as db:
            for table, values in ((PatientRow.__table__, rows), (AuditPack.__table__, audit)):
                if fast:
                    insert_many(db, table, values)  # type: ignore[arg-type]
                else:
                    db.execute(insert(table), values)
        engine.dispose()
        with sqlite3.connect(tmp_path / name) as conn:
            dumps.append([line for line in conn.iterdump() if "INSERT INTO" in line])
    assert dumps[0] == dumps[1] and len(dumps[0]) >= 4
