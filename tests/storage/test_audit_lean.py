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


def test_entries_are_packed_and_pages_of_the_newest_read_them_back_one_by_one(engine: Engine) -> None:
    """Reads of one unit of work share a pack; the audit page's pages (newest first, read from
    the newest packs only) and an entry by its seq give the same entries as the whole log."""
    from bontrack.audit.service import entry, page_entries
    from bontrack.storage.audit_log import log

    with transaction(engine) as db:
        for n in range(7):
            log(db, actor="pager", action="read", record_type="patient", record_id=f"p-{n}", version=1)
        log(db, actor="pager", action="login", outcome="denied", detail="wrong password")
        for n in range(3):
            log(db, actor="pager", action="read", record_type="episode", record_id=f"e-{n}", version=2)
    with engine.connect() as conn:
        packs = conn.execute(text("SELECT count(*) FROM audit_packs")).scalar_one()
    assert packs == 3  # the patients, the log-in, the episodes
    with transaction(engine) as db:
        everything = [(e.seq, e.action, e.record_id) for e in entries(db)]
        newest_first = everything[::-1]
        for limit, offset in ((1, 0), (2, 1), (3, 3), (4, 7), (5, 9), (20, 0), (5, 11)):
            total, page = page_entries(db, limit=limit, offset=offset)
            assert total == len(everything) == 11
            assert [(e.seq, e.action, e.record_id) for e in page] == newest_first[offset : offset + limit]
        for seq, action, record_id in everything:
            found = entry(db, seq)
            assert found is not None and (found.action, found.record_id) == (action, record_id)
        assert entry(db, everything[-1][0] + 1) is None
