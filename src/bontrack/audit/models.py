"""The audit_log table. Rows are only ever inserted (the database refuses UPDATE and DELETE on it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bontrack.storage.base import Base

ACTIONS = ("read", "create", "update", "withdraw", "override", "import", "export", "login")
# ok: done. denied: refused (wrong password of a known user, a role without the right, a record
# of another clinic). failed: a read made by a request that then failed (kept: its error may
# have shown what was read).
OUTCOMES = ("ok", "denied", "failed")


class AuditEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    clinic_id: Mapped[str | None] = mapped_column(String(36), index=True)
    record_type: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(36), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(10), default="ok", server_default="ok")
