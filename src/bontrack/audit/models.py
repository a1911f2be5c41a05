"""The audit log's tables and the view that reads them as one entry per record.

Stored lean (issue 18): ``audit_packs`` holds one row per run of entries of one unit of work that
share who, what, which type, clinic, detail, outcome and second (a chart read is one row naming
every record it read), the record ids and versions packed as bytes (bontrack.storage.audit_ids);
``audit_texts`` holds each actor, action, record type, detail phrase and outcome once, referred to
by number. The view ``audit_log`` expands the packs back into one entry per record read or
written, with the columns the log always had (``AuditEntry`` maps it, read-only). An entry's
``seq`` is its pack's number times PACK_LIMIT plus its place in the pack; its time is its pack's
(the first entry's, to the microsecond; the others were made within the same second). All three
are append-only in the database (migration 0010).

A pack's key holds ``clinic_id`` beside ``seq`` on PostgreSQL, so the log can be distributed by
clinic with the records it describes (Citus; see the README, "Distributing by clinic"). A key
column cannot be NULL: a pack of no clinic (a log-in, a whole-registry export) is stored with the
clinic '' and read back as None (``NoClinic``; the view gives NULL). On SQLite, which is never
distributed, ``seq`` alone is the key (the rowid), and the clinic is stored by number (its id in
``audit_texts``). ``audit_texts`` holds no clinic's data by itself (a reference table when
distributed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bontrack.storage.base import Base

ACTIONS = ("read", "create", "update", "withdraw", "override", "import", "export", "login")
# ok: done. denied: refused (wrong password of a known user, a role without the right, a record
# of another clinic). failed: a read made by a request that then failed (kept: its error may
# have shown what was read).
OUTCOMES = ("ok", "denied", "failed")
PACK_LIMIT = 1024  # entries a pack holds at most (seq = pack * PACK_LIMIT + place)
NO_CLINIC = ""  # the stored clinic of a pack of no clinic


class NoClinic(TypeDecorator[str]):
    """A clinic id that may be None in Python, stored as '' (never NULL: it is part of the key)."""

    impl = String(36)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str:
        return NO_CLINIC if value is None else value

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value in (None, NO_CLINIC) else value


class AuditPack(Base):
    """Entries of one unit of work sharing actor, action, type, clinic, detail, outcome, second."""

    __tablename__ = "audit_packs"
    # the log filtered by actor reads that actor's packs only (migration 0012)
    # No RETURNING on insert (nothing reads a new pack's seq back): on PostgreSQL, RETURNING makes
    # the new row pass the read policy too, and a pack of no clinic ('', a list of users, a
    # log-in) is not readable in a transaction limited to a clinic, though it may be written there.
    __table_args__ = (Index("ix_audit_packs_actor", "actor"), {"implicit_returning": False})

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # PostgreSQL: the clinic id (row-level security reads it); SQLite: the clinic id's number in
    # audit_texts, 0 for none (migration 0016; bontrack.storage.audit_packs writes it)
    clinic_id: Mapped[Any] = mapped_column(
        NoClinic().with_variant(Integer(), "sqlite"),
        primary_key=True,
        nullable=False,
        server_default=NO_CLINIC,
    )
    at: Mapped[int] = mapped_column(BigInteger)  # microseconds since 1970-01-01 UTC
    actor: Mapped[int] = mapped_column(Integer)  # audit_texts.id
    action: Mapped[int] = mapped_column(Integer)  # audit_texts.id
    record_type: Mapped[int | None] = mapped_column(Integer)  # audit_texts.id
    detail: Mapped[int | None] = mapped_column(Integer)  # audit_texts.id
    outcome: Mapped[int] = mapped_column(Integer)  # audit_texts.id
    # the record ids and versions (bontrack.storage.audit_ids: 17 bytes an entry, migration 0016);
    # NULL: no record
    ids: Mapped[bytes | None] = mapped_column(LargeBinary)
    # {"before": .., "after": ..} if given; NULL (not the JSON text 'null') if not
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    # seq alone identifies a pack (one sequence numbers them all)
    __mapper_args__ = {"primary_key": [seq]}  # noqa: RUF012 (SQLAlchemy's class attribute)


class AuditText(Base):
    """A text the audit log names (actor, action, record type, detail, outcome), stored once."""

    __tablename__ = "audit_texts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text, unique=True)


RECORD_KEY = 8  # characters of a record id that audit_record_packs keeps


class AuditRecordPack(Base):
    """Which packs name a record (migration 0012): the log filtered by record reads those packs
    only, not every entry. Append-only like the packs. Filled by a trigger on ``audit_packs`` on
    PostgreSQL; on SQLite in batches, sorted by key (migration 0013, ``AuditFiled``): a trigger
    inserting each pack's keys at random places in the index wrote a page per key, 80% of the
    cost of auditing a chart read.

    A record is keyed by the first RECORD_KEY characters of its id (a UUID's first 32 random bits),
    not the whole id: a third of the bytes, and the entries read from the packs found are filtered
    by the whole id, so two records sharing a key cost a pack read, never a wrong entry. The
    clinic is the pack's on PostgreSQL (row-level security, distribution by clinic; last in the
    key, so a look-up by record uses it) and '' on SQLite (no row-level security there: the clinic
    is not repeated).
    """

    __tablename__ = "audit_record_packs"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (one B-tree: the key is the row)

    record_key: Mapped[str] = mapped_column(String(RECORD_KEY), primary_key=True)
    pack: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    clinic_id: Mapped[str | None] = mapped_column(
        NoClinic(), primary_key=True, nullable=False, server_default=NO_CLINIC
    )


class AuditFiled(Base):
    """How far the packs are filed in ``audit_record_packs`` (migration 0013): on SQLite, every
    pack up to ``upto`` is; the packs after it are filed in batches by the writers
    (``storage.audit_packs.file_records``), and the log filtered by record reads them as well
    (a few thousand at most). One row. On PostgreSQL a trigger files each pack as it is
    inserted (its concurrent writers commit packs out of order, so a mark could pass one still
    being written) and the table stays empty.
    """

    __tablename__ = "audit_filed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    upto: Mapped[int] = mapped_column(BigInteger)


def record_key(record_id: str) -> str:
    """The key audit_record_packs files a record under."""
    return record_id[:RECORD_KEY]


class _View(DeclarativeBase):
    """Views: read through the ORM, made by the migrations, never by ``Base.metadata``."""


class AuditEntry(_View):
    """One logical audit entry (the view ``audit_log``): read it; write through storage.audit_log."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    clinic_id: Mapped[str | None] = mapped_column(String(36))
    record_type: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(10))
    pack: Mapped[int] = mapped_column(Integer)  # the audit_packs row it is read from (seq // PACK_LIMIT)
