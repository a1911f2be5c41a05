"""Backups of the whole registry, taken while the server writes, and their restore.

A backup holds everything the database holds: every record and version, the audit log, users,
tokens, patients' links and the registry's keys (the pseudonym key). The JSON Lines export is
for exchange between registries; it keeps records and versions only.

- SQLite: the backup API in one step (``Connection.backup(pages=-1)``): one read transaction, so
  writers go on (write-ahead log) and cannot make the copy start again, as they can with the
  step-by-step copy of the ``sqlite3`` shell's ``.backup``. The copy is a single file (rollback
  journal), checked with ``PRAGMA integrity_check`` before it takes its name.
- PostgreSQL: ``pg_dump`` in custom format (``-Fc``) inside a snapshot this module exports, so
  the row counts it reports are those of the dump; restored with ``pg_restore`` in one
  transaction.

A restore refuses to replace a registry that holds data unless asked to (``force``), and says
what it replaces. Nothing here writes a partial file under the name asked for: the copy is made
as ``FILE.partial`` and renamed when complete and checked.
"""

from __future__ import annotations

from pathlib import Path

from bontrack.backup.common import (
    Stages,
    Summary,
    _audit,
    _file_kind,
    _is_sqlite,
    _parse_url,
    cannot_write,
    describe,
)
from bontrack.backup.postgres import (
    _pg_backup,
    _pg_restore,
)
from bontrack.backup.sqlite import (
    _sqlite_backup,
    _sqlite_restore,
)
from bontrack.errors import InputError, RegistryError
from bontrack.storage.audit_packs import forget_texts

__all__ = ["Stages", "Summary", "backup", "describe", "restore"]


def backup(
    *,
    url: str,
    file: Path,
    actor: str,
    force: bool = False,
    pg_bin: str | None = None,
    stages: Stages | None = None,
) -> Summary:
    """Copy the whole registry at ``url`` to ``file`` while it is in use; audited in the registry."""
    parsed = _parse_url(url)
    stages = stages or Stages()
    try:
        if _is_sqlite(parsed):
            summary = _sqlite_backup(parsed, file, force=force, stages=stages)
        else:
            summary = _pg_backup(parsed, file, force=force, pg_bin=pg_bin, stages=stages)
    except OSError as exc:
        raise cannot_write(file, exc) from None
    summary.audited = _audit(
        url,
        action="export",
        detail=f"backup of the whole registry to {file.resolve()} ({summary.rows:,} rows in "
        f"{len(summary.tables)} tables)",
        revision=summary.revision,
        actor=actor,
    )
    return summary


def restore(
    *,
    url: str,
    file: Path,
    actor: str,
    force: bool = False,
    pg_bin: str | None = None,
    stages: Stages | None = None,
) -> Summary:
    """Bring the whole registry in ``file`` back into the database at ``url``."""
    parsed = _parse_url(url)
    kind = _file_kind(file)
    engine = "sqlite" if _is_sqlite(parsed) else "postgresql"
    if kind != engine:
        made = "a SQLite registry copy" if kind == "sqlite" else "a PostgreSQL dump"
        wanted = "sqlite:///PATH" if kind == "sqlite" else "postgresql+psycopg://USER@HOST/DATABASE"
        raise InputError.one("--db", f"{file} is {made}; restore it to a {wanted} URL")
    stages = stages or Stages()
    try:
        if kind == "sqlite":
            summary = _sqlite_restore(parsed, file, force=force, stages=stages)
        else:
            summary = _pg_restore(parsed, file, force=force, pg_bin=pg_bin, stages=stages)
    except OSError as exc:
        raise RegistryError(f"cannot restore {file}: {exc.strerror or exc}") from None
    forget_texts()  # the audit log's text numbers this process knew were the replaced database's
    replaced = f"; replaced {describe(summary.replaced)}" if summary.replaced else ""
    summary.audited = _audit(
        url,
        action="import",
        detail=f"restore of the whole registry from {file.resolve()} ({summary.rows:,} rows in "
        f"{len(summary.tables)} tables{replaced})",
        revision=summary.revision,
        actor=actor,
    )
    return summary
