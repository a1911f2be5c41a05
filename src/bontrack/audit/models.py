"""The audit_log table. Rows are only ever inserted (the database refuses UPDATE and DELETE on it).

Its key holds ``clinic_id`` beside ``seq`` on PostgreSQL, so the log can be distributed by clinic
with the records it describes (Citus; see the README, "Distributing by clinic"). A key column
cannot be NULL: an entry of no clinic (a log-in, a whole-registry export) is stored with the
clinic '' and read back as None (``NoClinic``). ``seq`` alone still names an entry (one sequence
numbers them all): it is the ORM's identity, and on SQLite, which is never distributed, the
table's key (the rowid, the cheapest insert).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bontrack.storage.base import Base

ACTIONS = ("read", "create", "update", "withdraw", "override", "import", "export", "login")
# ok: done. denied: refused (wrong password of a known user, a role without the right, a record
# of another clinic). failed: a read made by a request that then failed (kept: its error may
# have shown what was read).
OUTCOMES = ("ok", "denied", "failed")


NO_CLINIC = ""  # the stored clinic of an entry of no clinic


class NoClinic(TypeDecorator[str]):
    """A clinic id that may be None in Python, stored as '' (never NULL: it is part of the key)."""

    impl = String(36)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str:
        return NO_CLINIC if value is None else value

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value in (None, NO_CLINIC) else value


class AuditEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    clinic_id: Mapped[str | None] = mapped_column(
        NoClinic(), primary_key=True, nullable=False, index=True, server_default=NO_CLINIC
    )
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    record_type: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(36), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(10), default="ok", server_default="ok")

    # seq alone identifies an entry (one sequence numbers them all): ``db.get(AuditEntry, seq)``
    __mapper_args__ = {"primary_key": [seq]}  # noqa: RUF012 (SQLAlchemy's class attribute)
