"""The audit log filtered by record or by actor reads only the packs that can hold those entries
(migration 0012: ``audit_record_packs`` and the packs' index on their actor), and gives exactly
the entries of the whole log filtered in Python, whether the packs are filed by record yet or
not (SQLite files them in batches, migration 0013). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DatabaseError
from tests.storage.audit_entries import entry

from bontrack.audit.models import AuditEntry
from bontrack.audit.service import entries, filters, page_entries
from bontrack.storage import audit_packs
from bontrack.storage.audit_log import log
from bontrack.storage.engine import transaction

CLINIC = "c-1"
# two records whose ids share their first 8 characters (the key audit_record_packs files them
# under): filtering by one must not give the other's entries
TWINS = ("abcdefgh-0001", "abcdefgh-0002")


def _fill(engine: Engine) -> None:
    with transaction(engine) as db:  # one unit of work: runs of reads become packs
        for n in range(5):
            entry(db, "ann", f"p-{n}", clinic_id=CLINIC)
        entry(db, "ann", TWINS[0], clinic_id=CLINIC)
        entry(db, "bob", TWINS[1], clinic_id=CLINIC)
        log(db, actor="bob", action="login", outcome="denied", detail="wrong password")
        # an entry naming a version but no record id (its pack is filed under no key)
        log(db, actor="bob", action="read", record_type="patient", version=1, clinic_id=CLINIC)
    with transaction(engine) as db:
        entry(db, "bob", "p-2", clinic_id=CLINIC)
        entry(db, "bob", TWINS[0], clinic_id=CLINIC)
        log(db, actor="ann", action="update", record_type="user", record_id="p-2", after={"active": False})
        entry(db, "cy", "e-1", 2, clinic_id=CLINIC, record_type="episode")


def _facts(found: Any) -> list[tuple[Any, ...]]:
    return [(e.seq, e.actor, e.action, e.record_id, e.version) for e in found]


@pytest.mark.parametrize("filed", [False, True], ids=["packs-waiting", "packs-filed"])
def test_filters_by_record_and_actor_equal_the_whole_log_filtered(engine: Engine, filed: bool) -> None:
    _fill(engine)
    if filed:
        with transaction(engine) as db:
            audit_packs.file_records(db)
    with transaction(engine) as db:
        everything = list(entries(db))
        assert len(everything) == 13
        records = {e.record_id for e in everything if e.record_id} | {"nobody", "abcdefgh"}
        actors = {e.actor for e in everything} | {"nobody"}
        for record_id in records:
            wanted = [e for e in everything if e.record_id == record_id]
            assert _facts(entries(db, record_id=record_id)) == _facts(wanted), record_id
            total, page = page_entries(db, limit=3, offset=0, record_id=record_id)
            assert (total, _facts(page)) == (len(wanted), _facts(wanted[::-1][:3])), record_id
        for actor in actors:
            wanted = [e for e in everything if e.actor == actor]
            assert _facts(entries(db, actor=actor)) == _facts(wanted), actor
            total, page = page_entries(db, limit=2, offset=1, actor=actor)
            assert (total, _facts(page)) == (len(wanted), _facts(wanted[::-1][1:3])), actor
        for record_id in records:
            for actor in actors:
                wanted = [e for e in everything if e.actor == actor and e.record_id == record_id]
                assert _facts(entries(db, record_id=record_id, actor=actor)) == _facts(wanted)
        # the twins are filed under one key, and told apart by the whole id
        assert {e.record_id for e in entries(db, record_id=TWINS[0])} == {TWINS[0]}
        # an update's after is given back with the filter too
        (update,) = entries(db, record_id="p-2", actor="ann", action="update")
        assert update.after == {"active": False}


def _plan(engine: Engine, **wanted: str) -> str:
    query = (
        select(func.count()).select_from(AuditEntry).where(*filters(**wanted, dialect=engine.dialect.name))
    )
    with engine.connect() as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            return "\n".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        # a few rows: PostgreSQL would scan them whatever the indexes; the plan shows what it
        # does when scanning costs what it does in a large log
        conn.execute(text("SET enable_seqscan = off"))
        return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))


def test_the_filters_read_the_packs_through_their_indexes(engine: Engine) -> None:
    _fill(engine)
    by_record = _plan(engine, record_id=TWINS[0])
    by_actor = _plan(engine, actor="bob")
    if engine.dialect.name == "sqlite":
        assert "SEARCH audit_record_packs USING PRIMARY KEY (record_key=?)" in by_record, by_record
        assert "USING COVERING INDEX ix_audit_packs_actor (actor=?)" in by_actor, by_actor
        for plan in (by_record, by_actor):
            # the packs are looked up by their number, never read whole
            assert "SEARCH p USING" in plan and not re.search(r"SCAN (p|audit_packs)\b", plan), plan
    else:
        assert "audit_record_packs_pkey" in by_record, by_record
        assert "ix_audit_packs_actor" in by_actor, by_actor
        for plan in (by_record, by_actor):
            assert "Seq Scan on audit_packs" not in plan, plan


def _filed_and_named(engine: Engine) -> tuple[set[Any], set[Any]]:
    with engine.connect() as conn:
        filed = set(conn.execute(text("SELECT record_key, pack FROM audit_record_packs")).all())
        named = {(str(r)[:8], p) for p, r in conn.execute(text("SELECT pack, record_id FROM audit_log")) if r}
    return filed, named


def test_every_pack_naming_records_is_filed(engine: Engine) -> None:
    """Each record of each pack is filed (the bulk writer's and the buffered one's): on
    PostgreSQL by the trigger as the pack is written, on SQLite when the waiting packs are filed."""
    _fill(engine)
    filed, named = _filed_and_named(engine)
    if engine.dialect.name == "sqlite":
        assert filed == set()  # fewer than FILE_EVERY packs: they wait (the filters read them)
        with transaction(engine) as db:
            assert audit_packs.file_records(db) > 0
            assert audit_packs.file_records(db) == 0  # nothing waits any more
        filed, named = _filed_and_named(engine)
    assert filed == named and named


def test_sqlite_writers_file_the_waiting_packs_once_enough_wait(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL files each pack by its trigger")
    monkeypatch.setattr(audit_packs, "CHECK_EVERY", 2)
    monkeypatch.setattr(audit_packs, "FILE_EVERY", 3)
    marks = []
    for n in range(8):  # a pack a transaction
        with transaction(engine) as db:
            entry(db, "ann", f"r-{n}", clinic_id=CLINIC)
        with engine.connect() as conn:
            marks.append(conn.execute(text("SELECT upto FROM audit_filed")).scalar_one())
    # looked after the 2nd, 4th, 6th and 8th pack; filed when 3 or more waited
    assert marks == [0, 0, 0, 4, 4, 4, 4, 8]
    filed, named = _filed_and_named(engine)
    assert filed == named


def test_sqlite_filing_mark_only_moves_on(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps no mark")
    _fill(engine)
    with transaction(engine) as db:
        audit_packs.file_records(db)
    for statement in ("UPDATE audit_filed SET upto = upto - 1", "DELETE FROM audit_filed"):
        with pytest.raises(DatabaseError, match="audit_filed"), engine.begin() as conn:
            conn.execute(text(statement))
