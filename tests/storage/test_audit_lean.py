"""A record write's audit entry names the version it wrote instead of copying it (issue 18: a
lean audit log); reading the log gives the versions back, as before."""

from __future__ import annotations

from sqlalchemy import Engine, text

from bontrack.audit.service import entries
from bontrack.patients import service
from bontrack.storage.engine import transaction
from factories import ACTOR, clinic_world


def test_a_write_entry_stores_no_copy_and_reads_back_both_versions(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        old = service.get_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
        service.update_patient(
            db=db,
            actor=ACTOR,
            patient_id=world.patient_id,
            data=old.data.model_copy(update={"name": "Ann Other"}),
            reason="spelling",
        )
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT action, before, after FROM audit_log WHERE record_id = :id AND action <> 'read'"),
            {"id": world.patient_id},
        ).all()
    assert [a for a, _b, _c in stored] == ["create", "update"]
    # no copy of the record in the log: SQL NULL, or JSON null as the batched insert writes it
    assert all(b in (None, "null") and c in (None, "null") for _a, b, c in stored), stored
    with transaction(engine) as db:
        create, update = [e for e in entries(db, record_id=world.patient_id) if e.action != "read"]
    assert create.after is not None and create.after["data"]["name"] == "Test Patient"
    assert update.before is not None and update.before["version"] == 1
    assert update.after is not None and update.after["data"]["name"] == "Ann Other"
    assert update.after["reason"] == "spelling" and update.after["version"] == 2
