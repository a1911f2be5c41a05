"""clinic_id in every primary and unique key of every table a clinic owns (migration 0009), so
the schema can be distributed by clinic; and the migration from 0008 keeps every row.

Runs on SQLite and PostgreSQL. The proof that PostgreSQL accepts these keys for a table split
by clinic is tests/storage/test_hash_partitioned.py.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, bindparam, inspect, select, text
from sqlalchemy.exc import IntegrityError

from bontrack.audit.service import entries
from bontrack.errors import NotFoundError
from bontrack.outcomes import service as outcomes
from bontrack.patients import service as patients
from bontrack.patients.models import PatientRow
from bontrack.storage.engine import _alembic_config, make_engine, open_engine, transaction
from bontrack.storage.record_ids import RecordId, id_text
from clinic_story import Story, clinic_story, outcome_input
from factories import ACTOR

BEFORE = "0008"  # the revision before the clinic keys
# the only table with a clinic_id that no clinic owns: a user's clinic is the account's scope
# (None: every clinic), and users are a reference table (see the README)
NOT_OWNED = {"users"}


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    from alembic import command

    with engine.begin() as conn:
        (command.downgrade if down else command.upgrade)(_alembic_config(conn), revision)


def clinic_keys(engine: Engine) -> dict[str, list[list[str]]]:
    """Each table with a non-null clinic_id, and its primary key and unique keys (constraints and
    unique indexes), as column lists."""
    inspector = inspect(engine)
    found: dict[str, list[list[str]]] = {}
    for table in inspector.get_table_names():
        columns = {c["name"]: c for c in inspector.get_columns(table)}
        if "clinic_id" not in columns or columns["clinic_id"]["nullable"]:
            continue
        keys = [inspector.get_pk_constraint(table)["constrained_columns"]]
        keys += [u["column_names"] for u in inspector.get_unique_constraints(table)]
        keys += [i["column_names"] for i in inspector.get_indexes(table) if i["unique"]]
        found[table] = keys
    return found


def assert_clinic_in_every_key(engine: Engine) -> None:
    keys = clinic_keys(engine)
    # the audit log is stored in audit_packs (migration 0010; audit_log is the view reading it)
    assert {"patient_versions", "outcome_versions", "patient_links", "audit_packs"} <= set(keys)
    if engine.dialect.name == "sqlite":  # there the log's key is the rowid: SQLite is not distributed
        assert keys["audit_packs"][0] == ["seq"]
        keys["audit_packs"] = keys["audit_packs"][1:]
    missing = {t: k for t, ks in keys.items() for k in ks if "clinic_id" not in k}
    assert not missing, missing
    nullable = {
        t
        for t in inspect(engine).get_table_names()
        if any(c["name"] == "clinic_id" and c["nullable"] for c in inspect(engine).get_columns(t))
    }
    assert nullable == NOT_OWNED


def test_every_key_of_a_table_a_clinic_owns_holds_the_clinic(engine: Engine) -> None:
    assert_clinic_in_every_key(engine)
    record_key = inspect(engine).get_pk_constraint("patient_versions")["constrained_columns"]
    assert record_key == ["id", "version", "clinic_id"]  # id first: the key serves look-ups by id
    if engine.dialect.name == "postgresql":
        assert clinic_keys(engine)["audit_packs"][0] == ["seq", "clinic_id"]


def test_two_writers_of_the_same_next_version_still_collide(engine: Engine) -> None:
    with transaction(engine) as db:
        story = clinic_story(db, "P-1")
    with pytest.raises(IntegrityError), transaction(engine) as db:
        patient = db.scalars(select(PatientRow).where(PatientRow.id == story.world.patient_id)).one()
        values = {c.name: getattr(patient, c.name) for c in PatientRow.__table__.columns}
        db.execute(PatientRow.__table__.insert(), [values])  # version 1 again, same clinic


AUDIT_FACTS = "actor, action, clinic_id, record_type, record_id, version, detail, outcome"


def _rows(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table, as sorted JSON (an audit entry's clinic '' read as NULL: the
    value migration 0009 gives the entries of no clinic). The audit log by its entries' facts
    (at 0010 it is a view over packed rows, its seq and times to the microsecond renumbered)."""
    meta = MetaData()
    found: dict[str, list[str]] = {}
    with engine.connect() as conn:
        audit = conn.execute(text(f"SELECT {AUDIT_FACTS} FROM audit_log ORDER BY seq"))
        found["audit_log"] = [
            json.dumps(r | {"clinic_id": r["clinic_id"] or None}, sort_keys=True)
            for r in (dict(row._mapping) for row in audit)
        ]
        for name in inspect(conn).get_table_names():
            if name in ("alembic_version", "audit_log", "audit_packs", "audit_texts"):
                continue
            table = Table(name, meta, autoload_with=conn)
            # (a record id stored as 16 bytes since 0018 read as its text)
            rows = [{k: id_text(v) for k, v in r._mapping.items()} for r in conn.execute(select(table))]
            found[name] = sorted(json.dumps(r, default=str, sort_keys=True) for r in rows)
    return found


def _write_at_0008(engine: Engine, scratch: Engine) -> tuple[Story, Story]:
    """Two clinics' stories as 0008's program left them: written through the services on a
    registry at head (``scratch``; today's program writes today's audit log), then every record
    row copied, and the audit entries copied as 0008's one row per entry."""
    with transaction(scratch) as db:
        a, b = clinic_story(db, "P-A"), clinic_story(db, "P-B")
    source, target = MetaData(), MetaData()
    with scratch.connect() as old, engine.begin() as new:
        for name in inspect(old).get_table_names():
            if name in (
                "alembic_version",
                "audit_packs",
                "audit_texts",
                "due_items",
                "outcome_scores",
                "session_fields",
                "audit_record_packs",
                "audit_filed",
            ):
                continue  # (not at 0008)
            found = old.execute(select(Table(name, source, autoload_with=old)))
            rows = [{k: id_text(v) for k, v in r._mapping.items()} for r in found]  # (0008: ids as text)
            if rows:
                new.execute(Table(name, target, autoload_with=new).insert(), rows)
        facts = "at, actor, action, clinic_id, record_type, record_id, version, detail, outcome"
        entries_then = [
            dict(r._mapping) for r in old.execute(text(f"SELECT {facts} FROM audit_log ORDER BY seq"))
        ]
        audit = Table("audit_log", target, autoload_with=new)
        new.execute(audit.insert(), [e | {"at": _time(e["at"])} for e in entries_then])
        # as 0008's program wrote an entry of no clinic: NULL
        new.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, clinic_id, outcome) "
                "VALUES (CURRENT_TIMESTAMP, 'old:admin', 'export', NULL, 'ok')"
            )
        )
    return a, b


def _time(value: Any) -> Any:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def test_upgrade_from_0008_keeps_every_row_and_the_services_work_on(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    scratch = open_engine(f"sqlite:///{tmp_path / 'scratch.db'}")
    try:
        _migrate(engine, BEFORE)
        a, b = _write_at_0008(engine, scratch)
        before = _rows(engine)
        assert len(before["outcome_versions"]) == 8 and before["audit_log"]

        _migrate(engine, "head")
        after = _rows(engine)
        assert after.pop("due_items", None) is not None  # a derived table, made at 0011_due_items
        assert after.pop("audit_record_packs", None) is not None  # the packs filed by record (0012)
        assert after.pop("audit_filed", None) is not None  # how far they are filed (0013; SQLite)
        assert after.pop("outcome_scores", None)  # the current scores, derived at 0014
        assert after.pop("session_fields", None)  # the current sessions' fields, derived at 0015
        assert after == before
        assert_clinic_in_every_key(engine)
        with engine.connect() as conn:  # no NULL clinic is left in the log
            nulls = text("SELECT count(*) FROM audit_packs WHERE clinic_id IS NULL")
            assert conn.execute(nulls).scalar() == 0

        with transaction(engine) as db:
            # the services read and correct as before, and an old entry of no clinic reads None
            exported = entries(db, action="export")
            assert [e.clinic_id for e in exported] == [None]
            corrected = outcomes.update_outcome(
                db=db,
                actor=ACTOR,
                outcome_id=a.outcome_id,
                data=outcome_input(a.world, a.session_id, 3, 6),
                reason="a second look",
            )
            assert corrected.version == 3
            history = outcomes.outcome_history(db=db, actor=ACTOR, outcome_id=a.outcome_id)
            assert [h.data.answers["1"] for h in history] == [6, 4, 3]
            listed = patients.list_patients(db=db, actor=ACTOR, clinic_id=b.world.clinic_id)
            assert [p.data.record_number for p in listed] == ["P-B"]

        _migrate(engine, BEFORE, down=True)
        after_down = _rows(engine)
        assert after_down["patient_versions"] == before["patient_versions"]
        assert len(after_down["outcome_versions"]) == len(before["outcome_versions"]) + 1
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_log WHERE clinic_id = ''")).scalar() == 0
    finally:
        engine.dispose()
        scratch.dispose()


def test_a_record_of_another_clinic_is_still_not_found(engine: Engine) -> None:
    """The key holds the clinic, but a record is still looked up by its id alone: an actor of
    another clinic gets not found, as before."""
    from bontrack.actor import Actor

    with transaction(engine) as db:
        a, b = clinic_story(db, "P-A"), clinic_story(db, "P-B")
    stranger = Actor("b:doctor", clinic_id=b.world.clinic_id, role="physician")
    with pytest.raises(NotFoundError), transaction(engine) as db:
        patients.get_patient(db=db, actor=stranger, patient_id=a.world.patient_id)
    with transaction(engine) as db:
        assert (
            patients.get_patient(db=db, actor=stranger, patient_id=b.world.patient_id).id
            == b.world.patient_id
        )


def test_an_id_already_in_another_clinic_is_refused_on_import(engine: Engine) -> None:
    """The key no longer makes a record id unique across clinics: the import still refuses a
    version whose id and version exist in another clinic, and writes nothing."""
    from bontrack.errors import InputError
    from bontrack.exchange.jsonl import export_lines, import_lines

    with transaction(engine) as db:
        a, b = clinic_story(db, "P-A"), clinic_story(db, "P-B")
        lines = export_lines(db=db, actor=ACTOR)
    (patient,) = [json.loads(x) for x in lines if json.loads(x)["id"] == a.world.patient_id]
    moved = patient | {"clinic_id": b.world.clinic_id}
    with pytest.raises(InputError) as info, transaction(engine) as db:
        import_lines(db=db, actor=ACTOR, lines=[json.dumps(moved)])
    assert info.value.errors[0].field == "line 1, patient"
    assert "version 1 exists with other content" in info.value.errors[0].message
    with engine.connect() as conn:
        same_id = text("SELECT count(*) FROM patient_versions WHERE id = :id").bindparams(
            bindparam("id", type_=RecordId())
        )
        count = conn.execute(same_id, {"id": a.world.patient_id})
        assert count.scalar() == 1
