"""What several migrations do alike: a table's rows limited to the transaction's clinic by
PostgreSQL's row-level security (the policy of migration 0008), and a derived table filled from
the records (current outcome scores, current sessions' fields).

Kept here, not copied into each migration; a change to these changes every migration that calls
them, so they only ever say what 0008 said."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

NO_CLINIC_NULL = "clinic_id IS NULL"
NO_CLINIC_EMPTY = "clinic_id = ''"  # the audit tables' entries about no clinic (a failed log-in)


def scoped_to_clinic(table: str, no_clinic: str = NO_CLINIC_NULL) -> list[str]:
    """The statements that limit ``table`` to the clinic set for the transaction (its owner too);
    a row about no clinic (``no_clinic``) may be written by anyone."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY clinic_scope ON {table} USING (bontrack_clinic_visible(clinic_id)) "
        f"WITH CHECK ({no_clinic} OR bontrack_clinic_visible(clinic_id))",
    ]


def derive(bind: sa.Connection, rebuild: Callable[[Session], object]) -> None:
    """A derived table filled for every clinic from its records (nothing to do in a new
    registry), every record table mapped first."""
    import bontrack.kinds  # noqa: F401  (every table mapped)
    from bontrack.storage.record_ids import ids_stored_as_text

    # (called by migrations before 0018: the registry's ids are still text, as they bind them)
    with Session(bind=bind) as db, ids_stored_as_text():
        rebuild(db)
        db.flush()
