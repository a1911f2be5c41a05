"""The report's read of PostgreSQL by the ADBC driver (reports.columnar_driver) keeps the
guarantees of the read through the session's own connection: the clinic limit of row-level
security (the driver's connections run as the session's role, with its clinic setting), the
session's snapshot, and a transaction that has written is read through its own connection.

Run as the README's serving role (not a superuser: superusers bypass row-level security), with
two clinics' records written through the real services.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import Engine, text

import pg_roles
from bontrack.patients.models import PatientRow
from bontrack.reports import columnar_driver
from bontrack.reports.columnar import connect, load_current
from bontrack.reports.columnar_sessions import load_sessions
from bontrack.reports.data import SESSION_FIELDS, cohort_frames
from bontrack.storage.engine import transaction
from bontrack.storage.row_security import limit_to_clinic
from factories import clinic_world
from pg_roles import count_driver_reads

# the README's role and two clinics (tests/pg_roles.py), as this module's fixtures
two_clinics = pg_roles.two_clinics
app_engine = pg_roles.app_engine


@pytest.fixture
def driver_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements read by the driver (``pg_batches``), in the loaders' modules."""
    return count_driver_reads(monkeypatch)


def _ids(engine: Engine, table: str, clinic_id: str) -> set[str]:
    with engine.connect() as conn:  # (as the superuser: every clinic's rows)
        rows = conn.execute(text(f"select id from {table} where clinic_id = :c"), {"c": clinic_id})
        return set(rows.scalars())


def test_pg_driver_read__a_clinic_limited_sessions_driver_read_returns_no_row_of_another_clinic(
    engine: Engine, two_clinics: tuple[str, str], app_engine: Engine, driver_reads: list[str]
) -> None:
    a, b = two_clinics
    of_a, of_b = _ids(engine, "patient_versions", a), _ids(engine, "patient_versions", b)
    assert of_a and of_b
    duck = connect()
    with transaction(app_engine) as db:
        limit_to_clinic(db, a)
        # no clinic asked of the read (an unscoped query): the database limits it
        load_current(db, PatientRow, None, [], duck=duck, into="patients", committed=True)
        load_sessions(db, None, SESSION_FIELDS, duck=duck, into="sessions", committed=True)
        frames = cohort_frames(db=db, actor="test:rls", committed=True)
    assert driver_reads  # (read by the driver, not the session's cursor)
    assert {r[0] for r in duck.sql("select id from patients").fetchall()} == of_a
    assert duck.sql("select count(*) from sessions").fetchall() == [(1,)]  # A's, not B's
    assert len(frames.patients) == 1 and len(frames.sessions) == 1
    with transaction(engine) as db:  # a superuser's session that took the role: read as that role
        db.execute(text(f"set local role {app_engine.url.username}"))
        limit_to_clinic(db, a)
        load_current(db, PatientRow, None, [], duck=duck, into="as_role", committed=True)
    assert {r[0] for r in duck.sql("select id from as_role").fetchall()} == of_a
    with transaction(app_engine) as db:  # unlimited, the same read sees both clinics
        load_current(db, PatientRow, None, [], duck=duck, into="everyone", committed=True)
    assert {r[0] for r in duck.sql("select id from everyone").fetchall()} == of_a | of_b


def test_pg_driver_read__the_driver_reads_the_sessions_snapshot_not_a_later_commit(
    engine: Engine, two_clinics: tuple[str, str], app_engine: Engine, driver_reads: list[str]
) -> None:
    """The snapshot is exported once for the transaction: a patient committed by another
    connection after it is not read, by any of the report's loads."""
    duck = connect()
    with transaction(app_engine) as db:
        assert columnar_driver.shared_snapshot(db) is not None
        with transaction(engine) as other:  # committed while the report's transaction is open
            clinic_world(other, record_number="P-C")
        load_current(db, PatientRow, None, [], duck=duck, into="patients", committed=True)
    assert driver_reads
    assert duck.sql("select count(*) from patients").fetchall() == [(2,)]  # not the third


def test_pg_driver_read__a_transaction_that_has_written_is_read_through_its_own_connection(
    two_clinics: tuple[str, str], engine: Engine, driver_reads: list[str]
) -> None:
    a, _b = two_clinics
    duck = connect()
    with transaction(engine) as db:
        db.execute(
            text(
                "INSERT INTO patient_versions (id, version, clinic_id, withdrawn, recorded_at, recorded_by,"
                " data) VALUES ('x', 1, :a, false, now(), 'test', '{}')"
            ),
            {"a": a},
        )
        assert columnar_driver.shared_snapshot(db) is None
        load_current(db, PatientRow, None, [], duck=duck, into="patients", committed=True)
        db.rollback()
    assert not driver_reads
    assert ("x",) in duck.sql("select id from patients").fetchall()  # its own write is read


def _backends(engine: Engine, role: str | None) -> int:
    """The role's server processes (one closed a moment ago may still end: waited for, 5 s at most)."""
    for _ in range(50):
        with engine.connect() as conn:
            sql = text("select count(*) from pg_stat_activity where usename = :r")
            n = int(conn.execute(sql, {"r": role}).scalar_one())
        if n <= 1:
            return n
        time.sleep(0.1)
    return n


def test_pg_driver_read__the_reports_read_reuses_its_connections_and_leaves_none_open(
    engine: Engine, two_clinics: tuple[str, str], app_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a driver connection costs 35-40 ms: the report's reads share two (the outcomes'
    load beside the others'), closed when the read ends."""
    import adbc_driver_postgresql.dbapi as adbc

    opened: list[Any] = []
    real = adbc.connect

    def counted(*args: Any, **kwargs: Any) -> Any:
        opened.append(real(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(adbc, "connect", counted)
    with transaction(app_engine) as db:
        frames = cohort_frames(db=db, actor="test:read", committed=True)
        assert _backends(engine, app_engine.url.username) == 1  # the session's own
    assert len(frames.patients) == 2
    assert len(opened) in (1, 2)
