"""audit_log is append-only in the database itself (issue 12, D7): UPDATE and DELETE fail on
SQLite and PostgreSQL alike, whoever sends them, and inserting still works. Since migration 0010
``audit_log`` is a view of the tables that store it (audit_packs, audit_texts): the view and both
tables refuse them."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DatabaseError

from bontrack.storage.audit_log import log
from bontrack.storage.audit_packs import file_records
from bontrack.storage.engine import transaction
from pg_roles import readme_grants


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone else'",
        "UPDATE audit_log SET outcome = 'ok' WHERE outcome = 'denied'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE actor = 'test:auditor'",
        "UPDATE audit_packs SET actor = actor",
        "DELETE FROM audit_packs",
        "UPDATE audit_texts SET text = 'someone else' WHERE text = 'test:auditor'",
        "DELETE FROM audit_texts",
        "UPDATE audit_record_packs SET pack = pack",  # the packs naming a record (migration 0012)
        "DELETE FROM audit_record_packs",
    ],
)
def test_audit_log__update_and_delete_are_refused_by_the_database(engine: Engine, statement: str) -> None:
    with transaction(engine) as db:
        log(db, actor="test:auditor", action="read", record_type="patient", record_id="p-1")
        log(db, actor="test:auditor", action="login", outcome="denied", detail="wrong password")
    with transaction(engine) as db:
        file_records(db)  # SQLite files the packs by record in batches (migration 0013): now
    before = _count(engine)
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert _count(engine) == before == 2
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, outcome FROM audit_log ORDER BY seq")).all()
    assert [tuple(r) for r in rows] == [("test:auditor", "ok"), ("test:auditor", "denied")]


def test_audit_log__truncate_is_refused_on_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    with transaction(engine) as db:
        log(db, actor="test:auditor", action="read")
    for table in ("audit_packs", "audit_texts", "audit_record_packs"):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {table}"))
    assert _count(engine) == 1


def test_audit_log__the_readmes_application_role_may_append_but_not_change(engine: Engine) -> None:
    """The grants the README gives the serving role on PostgreSQL: INSERT yes, UPDATE/DELETE no."""
    if engine.dialect.name != "postgresql":
        pytest.skip("roles and grants are PostgreSQL's")
    with engine.begin() as conn:
        conn.execute(text("CREATE ROLE bontrack_app LOGIN"))
        for statement in readme_grants():
            conn.execute(text(statement))
    app = create_engine(engine.url.set(username="bontrack_app"))
    try:
        with transaction(app) as db:
            log(db, actor="test:app", action="read")
        for statement in (
            "UPDATE audit_log SET actor = 'x'",
            "DELETE FROM audit_log",
            "UPDATE audit_packs SET actor = actor",
            "DELETE FROM audit_texts",
            "TRUNCATE audit_packs",
            "TRUNCATE audit_texts",
            "DELETE FROM audit_record_packs",
        ):
            with pytest.raises(DatabaseError, match="permission denied"), app.begin() as conn:
                conn.execute(text(statement))
        with app.begin() as conn:  # what the server does change, it may
            conn.execute(text("DELETE FROM login_throttle"))
            conn.execute(text("UPDATE auth_tokens SET revoked_at = NULL WHERE false"))
    finally:
        app.dispose()
    assert _count(engine) == 1
