"""PostgreSQL row-level security: a transaction limited to clinic A reads no row of clinic B from
any table, even with a raw ``SELECT *`` that carries none of the application's filters.

Run as the README's serving role (not a superuser: superusers bypass row-level security), with
two clinics' records written through the real services.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DatabaseError

import pg_roles
from bontrack.storage.engine import transaction
from bontrack.storage.row_security import limit_to_clinic

# the README's role and two clinics (tests/pg_roles.py), as this module's fixtures
two_clinics = pg_roles.two_clinics
app_engine = pg_roles.app_engine


def _clinic_tables(engine: Engine) -> list[str]:
    inspector = inspect(engine)
    return [
        t
        for t in inspector.get_table_names()
        if any(c["name"] == "clinic_id" for c in inspector.get_columns(t))
    ]


def test_row_security__a_raw_select_in_a_transaction_limited_to_a_sees_nothing_of_b(
    engine: Engine, two_clinics: tuple[str, str], app_engine: Engine
) -> None:
    a, b = two_clinics
    tables = _clinic_tables(engine)
    assert {"patient_versions", "injection_session_versions", "audit_packs", "outcome_versions"} <= set(
        tables
    )
    tables.append("audit_log")  # the view the audit log is read through (security_invoker)
    with transaction(app_engine) as db:
        limit_to_clinic(db, a)
        seen = {t: db.execute(text(f"SELECT clinic_id FROM {t}")).scalars().all() for t in tables}
    assert all(clinic == a for rows in seen.values() for clinic in rows), {
        t: sorted(set(map(str, rows))) for t, rows in seen.items()
    }
    assert seen["patient_versions"] and seen["injection_session_versions"]  # A's own rows are there
    with transaction(app_engine) as db:  # a new transaction without the limit sees both clinics
        both = set(db.execute(text("SELECT clinic_id FROM patient_versions")).scalars())
    assert both == {a, b}


def test_row_security__a_limited_transaction_cannot_write_a_row_of_another_clinic(
    engine: Engine, two_clinics: tuple[str, str], app_engine: Engine
) -> None:
    a, b = two_clinics
    with pytest.raises(DatabaseError, match="row-level security"), transaction(app_engine) as db:
        limit_to_clinic(db, a)
        db.execute(
            text(
                "INSERT INTO patient_versions (id, version, clinic_id, withdrawn, recorded_at, recorded_by,"
                " data) VALUES ('x', 1, :b, false, now(), 'test', '{}')"
            ),
            {"b": b},
        )


def test_row_security__every_table_with_a_clinic_has_a_forced_policy(
    engine: Engine, two_clinics: tuple[str, str]
) -> None:
    with engine.connect() as conn:
        flags = dict(
            conn.execute(
                text(
                    "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class "
                    "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
                )
            ).all()
        )
    tables = _clinic_tables(engine)
    assert tables and all(flags[t] for t in tables), [t for t in tables if not flags[t]]


def test_row_security__the_limit_lasts_until_the_transaction_ends(
    engine: Engine, two_clinics: tuple[str, str]
) -> None:
    """The web layer sets the limit for a user of one clinic at the start of each request's
    transaction (web/deps.py current_user and page_user); the next transaction starts unlimited."""
    from bontrack.storage.row_security import SETTING

    a, _b = two_clinics
    with transaction(engine) as db:
        limit_to_clinic(db, a)
        assert db.execute(text(f"SELECT current_setting('{SETTING}')")).scalar() == a
    with transaction(engine) as db:  # the setting ends with the transaction
        assert db.execute(text(f"SELECT current_setting('{SETTING}', true)")).scalar() in (None, "")
