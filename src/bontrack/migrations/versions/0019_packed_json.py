"""Each version's JSON packed on SQLite (bontrack.storage.record_json): the ``data`` of every
record table holds one tag byte and a zstd frame made with a dictionary shipped with bontrack,
about a fifth of the text's bytes. The text packed is the text stored (compact since 0012), so
unpacking gives it back byte for byte. PostgreSQL is unchanged. The freed pages go back to the
disk with ``bontrack db compact``.

Revision ID: 0019_packed_json
Revises: 0018_ids_as_bytes
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

from typing import Any

from alembic import op

from bontrack.storage.record_json import pack, unpack_text

revision = "0019_packed_json"
down_revision = "0018_ids_as_bytes"
branch_labels = None
depends_on = None

# the record tables at this revision (a migration keeps its own copy): each has ``data``
TABLES = (
    "adverse_event_versions",
    "assessment_versions",
    "clinic_versions",
    "clinician_versions",
    "episode_versions",
    "injection_session_versions",
    "outcome_versions",
    "patient_versions",
    "screening_versions",
    "stock_receipt_versions",
    "therapy_plan_versions",
    "therapy_visit_versions",
    "vial_discard_versions",
    "vial_opening_versions",
    "worklist_action_versions",
)


def _packed(text: Any) -> Any:
    return pack(text) if isinstance(text, str) else text


def _rewrite(function: Any, stored_as: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    raw = bind.connection.driver_connection
    assert raw is not None
    raw.create_function("bontrack_migrate_data", 1, function, deterministic=True)
    tables = {r[0] for r in bind.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in TABLES:
        if table in tables:
            bind.exec_driver_sql(
                f"UPDATE {table} SET data = bontrack_migrate_data(data) WHERE typeof(data) = '{stored_as}'"
            )


def upgrade() -> None:
    _rewrite(_packed, "text")


def downgrade() -> None:
    _rewrite(unpack_text, "blob")
