"""Record ids stored as 16 bytes on SQLite: every id column of the record tables and of the tables
derived from them (bontrack.storage.record_ids.RecordId) holds a UUID's 16 bytes instead of its
36 characters of text; an id that is not a UUID's canonical text stays the text it is. PostgreSQL
is unchanged (its columns stay text).

Revision ID: 0018_ids_as_bytes
Revises: 0017_due_item_counts
Create Date: 2026-12-04 16:20:00
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from alembic import op

revision = "0018_ids_as_bytes"
down_revision = "0017_due_item_counts"
branch_labels = None
depends_on = None

# as the models declare them at this revision (a migration keeps its own copy)
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "adverse_event_versions": ("patient_id", "session_id", "id", "clinic_id"),
    "assessment_versions": ("patient_id", "episode_id", "id", "clinic_id"),
    "clinic_versions": ("id", "clinic_id"),
    "clinician_versions": ("id", "clinic_id"),
    "due_items": ("clinic_id", "patient_id", "session_id", "plan_id", "clinician_id"),
    "episode_versions": ("patient_id", "id", "clinic_id"),
    "injection_session_versions": ("patient_id", "episode_id", "id", "clinic_id"),
    "outcome_scores": ("clinic_id", "outcome_id", "patient_id", "session_id"),
    "outcome_versions": ("patient_id", "session_id", "id", "clinic_id"),
    "patient_versions": ("id", "clinic_id"),
    "screening_versions": ("patient_id", "id", "clinic_id"),
    "session_fields": ("clinic_id", "session_id"),  # (its patient_id: the JSON's text)
    "stock_receipt_versions": ("id", "clinic_id"),
    "therapy_plan_versions": ("patient_id", "episode_id", "id", "clinic_id"),
    "therapy_visit_versions": ("patient_id", "plan_id", "id", "clinic_id"),
    "vial_discard_versions": ("id", "clinic_id"),
    "vial_opening_versions": ("session_id", "patient_id", "id", "clinic_id"),
    "worklist_action_versions": ("patient_id", "id", "clinic_id"),
}

_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _to_bytes(value: Any) -> Any:
    if isinstance(value, str) and len(value) == 36 and _CANONICAL.fullmatch(value):
        return bytes.fromhex(value.replace("-", ""))
    return value


def _to_text(value: Any) -> Any:
    if isinstance(value, bytes) and len(value) == 16:
        h = value.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return value


def _rewrite(function: Callable[[Any], Any], stored_as: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    raw = bind.connection.driver_connection
    assert raw is not None
    raw.create_function("bontrack_migrate_id", 1, function, deterministic=True)
    tables = {r[0] for r in bind.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table, columns in ID_COLUMNS.items():
        if table not in tables:
            continue
        sets = ", ".join(f"{c} = bontrack_migrate_id({c})" for c in columns)
        rows = " OR ".join(f"typeof({c}) = '{stored_as}'" for c in columns)
        bind.exec_driver_sql(f"UPDATE {table} SET {sets} WHERE {rows}")


def upgrade() -> None:
    _rewrite(_to_bytes, "text")


def downgrade() -> None:
    _rewrite(_to_text, "blob")
