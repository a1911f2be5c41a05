"""clinic_id in every primary and unique key of every table a clinic owns (migration 0009), so
the schema can be distributed by clinic; and the migration from 0008 keeps every row.

Runs on SQLite and PostgreSQL. The proof that PostgreSQL accepts these keys for a table split
by clinic is tests/storage/test_hash_partitioned.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, inspect, select, text
from sqlalchemy.exc import IntegrityError

from bontrack.audit.service import entries
from bontrack.errors import NotFoundError
from bontrack.outcomes import service as outcomes
from bontrack.patients import service as patients
from bontrack.patients.models import PatientRow
from bontrack.storage.engine import _alembic_config, make_engine, transaction
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
    assert {"patient_versions", "outcome_versions", "patient_links", "audit_log"} <= set(keys)
    if engine.dialect.name == "sqlite":  # there the log's key is the rowid: SQLite is not distributed
        assert keys["audit_log"][0] == ["seq"]
        keys["audit_log"] = keys["audit_log"][1:]
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
        assert clinic_keys(engine)["audit_log"][0] == ["seq", "clinic_id"]


def test_two_writers_of_the_same_next_version_still_collide(engine: Engine) -> None:
    with transaction(engine) as db:
        story = clinic_story(db, "P-1")
    with pytest.raises(IntegrityError), transaction(engine) as db:
        patient = db.scalars(select(PatientRow).where(PatientRow.id == story.world.patient_id)).one()
        values = {c.name: getattr(patient, c.name) for c in PatientRow.__table__.columns}
        db.execute(PatientRow.__table__.insert(), [values])  # version 1 again, same clinic


def _rows(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table, as sorted JSON (an audit entry's clinic '' read as NULL: the
    value migration 0009 gives the entries of no clinic)."""
    meta = MetaData()
    found: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            if name == "alembic_version":
                continue
            table = Table(name, meta, autoload_with=conn)
            rows: list[dict[str, Any]] = [dict(r._mapping) for r in conn.execute(select(table))]
            if name == "audit_log":
                rows = [r | {"clinic_id": r["clinic_id"] or None} for r in rows]
            found[name] = sorted(json.dumps(r, default=str, sort_keys=True) for r in rows)
    return found


def _write_at_0008(engine: Engine) -> tuple[Story, Story]:
    with transaction(engine) as db:
        a, b = clinic_story(db, "P-A"), clinic_story(db, "P-B")
    with engine.begin() as conn:  # as 0008's program wrote an entry of no clinic: NULL
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, clinic_id, outcome) "
                "VALUES (CURRENT_TIMESTAMP, 'old:admin', 'export', NULL, 'ok')"
            )
        )
    return a, b


def test_upgrade_from_0008_keeps_every_row_and_the_services_work_on(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        _migrate(engine, BEFORE)
        a, b = _write_at_0008(engine)
        before = _rows(engine)
        assert len(before["outcome_versions"]) == 8 and before["audit_log"]

        _migrate(engine, "head")
        assert _rows(engine) == before
        assert_clinic_in_every_key(engine)
        with engine.connect() as conn:  # no NULL clinic is left in the log
            assert conn.execute(text("SELECT count(*) FROM audit_log WHERE clinic_id IS NULL")).scalar() == 0

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
    assert info.value.errors[0].field == "line 1: version"
    with engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM patient_versions WHERE id = :id"), {"id": a.world.patient_id}
        )
        assert count.scalar() == 1
