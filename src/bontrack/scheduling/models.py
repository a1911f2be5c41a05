"""The worklist's one stored record type: what was done about an item (append-only versions)."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bontrack.records import VersionedRow
from bontrack.storage.base import Base


class WorklistActionRow(VersionedRow, Base):
    __tablename__ = "worklist_action_versions"
    record_type: ClassVar[str] = "worklist_action"
    index_fields: ClassVar[tuple[str, ...]] = ("patient_id", "item_key")
    patient_id: Mapped[str | None] = mapped_column(String(36), index=True)
    item_key: Mapped[str | None] = mapped_column(String(120), index=True)
