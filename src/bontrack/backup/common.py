"""What a backup and a restore share: the stages shown, the summary, files, audit entries, refusals."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from bontrack.errors import InputError

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
SCHEMA_TABLE = "alembic_version"  # holds the schema revision; not data
# bookkeeping an empty registry holds too: how far its audit packs are filed (migration 0013)
BOOKKEEPING = (SCHEMA_TABLE, "audit_filed")
FORMATS = "a SQLite registry copy made by `bontrack backup`, or a PostgreSQL dump made by it (pg_dump -Fc)"


class Stages:
    """How a long step tells the person waiting how far it got (the CLI draws it with Rich)."""

    def start(self, description: str, total: float | None = None) -> Any:
        return None

    def update(self, task: Any, *, completed: float | None = None, advance: float | None = None) -> None:
        return None

    def finish(self, task: Any) -> None:
        return None

    def warn(self, message: str) -> None:
        """Said before something is replaced (never silently)."""


@dataclass
class Summary:
    """What a backup holds, or what a restore brought back: rows per table as of the copy."""

    url: str
    file: Path
    engine: str  # "sqlite" or "postgresql"
    revision: str | None
    tables: dict[str, int]
    size: int
    checked: str  # what was verified
    audited: bool = True
    replaced: dict[str, int] = field(default_factory=dict)  # a restore: what the target held

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


# ---- shared ---------------------------------------------------------------------------------------
def _parse_url(url: str) -> URL:
    from bontrack.storage.engine import make_engine

    make_engine(url).dispose()  # the same checks and messages as every command (--db)
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg") if parsed.drivername == "postgresql" else parsed


def _is_sqlite(url: URL) -> bool:
    return url.drivername.startswith("sqlite")


def shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def data_tables(tables: dict[str, int]) -> dict[str, int]:
    """Tables that hold data (not the schema revision, nor other bookkeeping) and have rows."""
    return {name: n for name, n in tables.items() if n and name not in BOOKKEEPING}


def describe(tables: dict[str, int], *, most: int = 4) -> str:
    """'2,000 rows: audit_log 1,500, patient_versions 400, ...' for a message."""
    held = sorted(data_tables(tables).items(), key=lambda item: (-item[1], item[0]))
    parts = [f"{name} {n:,}" for name, n in held[:most]]
    if len(held) > most:
        parts.append(f"{len(held) - most} more tables")
    return f"{sum(n for _, n in held):,} rows: " + ", ".join(parts)


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from bontrack.storage.engine import _alembic_config

    return {s.revision for s in ScriptDirectory.from_config(_alembic_config(None)).walk_revisions()}


def _check_revision(revision: str | None, file: Path) -> None:
    if revision is None:
        raise InputError.one(
            "FILE", f"{file} holds no bontrack registry (no schema version); allowed: {FORMATS}"
        )
    if revision not in _known_revisions():
        raise InputError.one(
            "FILE",
            f"{file} was made by a newer bontrack (schema {revision}, unknown here); "
            "restore it with that version or newer",
        )


# the backup's one audit entry waits for SQLite's write lock behind a clinic's steady writers (a
# request waits 5 s; SQLite does not queue, so a late-comer can wait out several writers in turn)
AUDIT_LOCK_WAIT_MS = 60_000


def _audit(url: str, *, action: str, detail: str, revision: str | None, actor: str) -> bool:
    """One audit entry in the registry at ``url``; only on the schema this program writes."""
    from bontrack.storage.audit_log import log
    from bontrack.storage.engine import head_revision, make_engine, transaction

    if revision != head_revision():
        return False
    engine = make_engine(url, lock_wait_ms=AUDIT_LOCK_WAIT_MS)
    try:
        with transaction(engine) as db:
            log(db, actor=actor, action=action, detail=detail)
    finally:
        engine.dispose()
    return True


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(partial: Path, file: Path) -> None:
    """Give a complete, checked copy its name: flushed to disk, renamed, the rename flushed too."""
    _fsync(partial)
    partial.replace(file)
    _fsync(file.parent)


def _target_file(file: Path, *, force: bool) -> Path:
    if file.is_dir():
        raise InputError.one("FILE", f"{file} is a folder; give a file name such as registry.backup")
    if not file.parent.is_dir():
        raise InputError.one("FILE", f"the folder {file.parent} does not exist")
    if file.exists() and not force:
        raise InputError.one("FILE", f"{file} exists; give another name, or --force to replace it")
    partial = file.with_name(file.name + ".partial")
    for stale in (partial, partial.with_name(partial.name + "-journal")):
        stale.unlink(missing_ok=True)
    return partial


def _start_file(partial: Path, file: Path) -> None:
    """Make the empty partial file the copy is written into, so that a folder that cannot be
    written is said in the system's words, naming FILE (sqlite3 says only "unable to open
    database file"; pg_dump, its own words)."""
    try:
        partial.touch()
    except OSError as exc:
        raise cannot_write(file, exc) from None


def cannot_write(file: Path, exc: OSError) -> InputError:
    return InputError.one("FILE", f"cannot write {file}: {exc.strerror or exc}")


def _file_kind(file: Path) -> str:
    if not file.exists():
        raise InputError.one("FILE", f"{file} does not exist")
    if not file.is_file():
        raise InputError.one("FILE", f"{file} is not a file; allowed: {FORMATS}")
    try:
        with file.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise InputError.one("FILE", f"cannot read {file}: {exc.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise InputError.one("FILE", f"{file} is not a registry backup; allowed: {FORMATS}")


# ---- SQLite -------------------------------------------------------------------------------------
def _refuse(url: str, held: dict[str, int]) -> InputError:
    return InputError.one(
        "--db",
        f"the registry at {url} is not empty ({describe(held)}); restoring would replace all of it. "
        "Give --force to replace it, or restore into a new database",
    )


# ---- PostgreSQL ---------------------------------------------------------------------------------
