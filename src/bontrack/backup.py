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

import contextlib
import glob
import os
import re
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bontrack.errors import InputError, RegistryError

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
SCHEMA_TABLE = "alembic_version"  # holds the schema revision; not data
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
    from bontrack.db import make_engine

    make_engine(url).dispose()  # the same checks and messages as every command (--db)
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg") if parsed.drivername == "postgresql" else parsed


def _is_sqlite(url: URL) -> bool:
    return url.drivername.startswith("sqlite")


def shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def data_tables(tables: dict[str, int]) -> dict[str, int]:
    """Tables that hold data (not the schema revision) and have rows."""
    return {name: n for name, n in tables.items() if n and name != SCHEMA_TABLE}


def describe(tables: dict[str, int], *, most: int = 4) -> str:
    """'2,000 rows: audit_log 1,500, patient_versions 400, ...' for a message."""
    held = sorted(data_tables(tables).items(), key=lambda item: (-item[1], item[0]))
    parts = [f"{name} {n:,}" for name, n in held[:most]]
    if len(held) > most:
        parts.append(f"{len(held) - most} more tables")
    return f"{sum(n for _, n in held):,} rows: " + ", ".join(parts)


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from bontrack.db import _alembic_config

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


def _audit(url: str, *, action: str, detail: str, revision: str | None, actor: str) -> bool:
    """One audit entry in the registry at ``url``; only on the schema this program writes."""
    from bontrack.audit.service import log
    from bontrack.db import head_revision, make_engine, transaction

    if revision != head_revision():
        return False
    engine = make_engine(url)
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
def _sqlite_file(url: URL) -> Path:
    return Path(str(url.database))


def _sqlite_tables(con: sqlite3.Connection) -> dict[str, int]:
    names = [
        r[0]
        for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {name: int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]) for name in names}


def _sqlite_revision(con: sqlite3.Connection, tables: dict[str, int]) -> str | None:
    if SCHEMA_TABLE not in tables:
        return None
    row = con.execute(f"SELECT version_num FROM {SCHEMA_TABLE}").fetchone()
    return str(row[0]) if row else None


def _integrity(con: sqlite3.Connection, what: str) -> None:
    problems = [str(r[0]) for r in con.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise RegistryError(f"{what} fails SQLite's integrity check: {'; '.join(problems[:5])}")


def _open_sqlite(path: Path, *, read_only: bool, what: str) -> sqlite3.Connection:
    target = f"file:{quote(str(path.resolve()))}{'?mode=ro' if read_only else ''}"
    try:
        con = sqlite3.connect(target, uri=True, timeout=30, check_same_thread=False, isolation_level=None)
        con.execute("PRAGMA busy_timeout=30000")
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise InputError.one(what, f"cannot open {path} as a SQLite database: {exc}") from None
    return con


def _copy_in_one_step(
    source: sqlite3.Connection,
    target: sqlite3.Connection,
    stages: Stages,
    task: Any,
    grows: Path | None,
) -> None:
    """The whole database in one backup step, in a thread, while the caller shows progress."""
    failure: list[BaseException] = []

    def work() -> None:
        try:
            # pages=-1: one step, one read transaction. Copied step by step, the copy starts
            # again whenever another connection writes, and under steady writes never ends.
            source.backup(target, pages=-1)
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=work, name="bontrack-backup", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
        if grows is not None:
            with contextlib.suppress(OSError):
                stages.update(task, completed=grows.stat().st_size)
    if failure:
        exc = failure[0]
        if isinstance(exc, sqlite3.Error):
            raise RegistryError(f"the copy failed: {exc}") from None
        raise exc


def _sqlite_backup(url: URL, file: Path, *, force: bool, stages: Stages) -> Summary:
    path = _sqlite_file(url)
    if not path.is_file():
        raise InputError.one("--db", f"no registry at {path} (the file does not exist)")
    partial = _target_file(file, force=force)
    source = _open_sqlite(path, read_only=False, what="--db")
    try:
        page_size = int(source.execute("PRAGMA page_size").fetchone()[0])
        pages = int(source.execute("PRAGMA page_count").fetchone()[0])
        copy = sqlite3.connect(partial, check_same_thread=False, isolation_level=None)
        try:
            task = stages.start(f"copying {path.name}", total=page_size * pages)
            _copy_in_one_step(source, copy, stages, task, partial)
            stages.finish(task)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            task = stages.start("checking the copy (integrity check, row counts)")
            _integrity(copy, "the copy")
            tables = _sqlite_tables(copy)
            revision = _sqlite_revision(copy, tables)
            stages.finish(task)
        finally:
            copy.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    if revision is None:
        partial.unlink(missing_ok=True)
        raise InputError.one("--db", f"{path} holds no bontrack registry (no schema version)")
    _fsync(partial)
    partial.replace(file)
    _fsync(file.parent)
    return Summary(
        url=shown(url),
        file=file,
        engine="sqlite",
        revision=revision,
        tables=tables,
        size=file.stat().st_size,
        checked="PRAGMA integrity_check: ok",
    )


def _sqlite_restore(url: URL, file: Path, *, force: bool, stages: Stages) -> Summary:
    path = _sqlite_file(url)
    if path.exists() and path.resolve() == file.resolve():
        raise InputError.one("--db", f"{path} is the backup itself; restore it to another file")
    if not path.parent.is_dir():
        raise InputError.one("--db", f"the folder {path.parent} does not exist")
    source = _open_sqlite(file, read_only=True, what="FILE")
    try:
        task = stages.start("checking the backup (integrity check)")
        try:
            _integrity(source, str(file))
        except RegistryError as exc:
            raise InputError.one("FILE", str(exc)) from None
        tables = _sqlite_tables(source)
        revision = _sqlite_revision(source, tables)
        stages.finish(task)
        _check_revision(revision, file)
        replaced: dict[str, int] = {}
        if path.exists() and path.stat().st_size > 0:
            target = _open_sqlite(path, read_only=False, what="--db")
            replaced = data_tables(_sqlite_tables(target))
            target.close()
            if replaced and not force:
                raise _refuse(shown(url), replaced)
            if replaced:
                stages.warn(f"replacing the registry at {shown(url)}, which holds {describe(replaced)}")
        target = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        try:
            target.execute("PRAGMA busy_timeout=30000")
            task = stages.start(f"restoring into {path.name}")
            _copy_in_one_step(source, target, stages, task, None)  # one transaction on the target
            target.execute("PRAGMA journal_mode=WAL")  # as bontrack opens every registry
            stages.finish(task)
            task = stages.start("checking the restored registry")
            _integrity(target, f"the restored registry {path}")
            restored = _sqlite_tables(target)
            stages.finish(task)
        finally:
            target.close()
    finally:
        source.close()
    if restored != tables:
        raise RegistryError(f"the restored registry differs from the backup: {restored} != {tables}")
    return Summary(
        url=shown(url),
        file=file,
        engine="sqlite",
        revision=revision,
        tables=restored,
        size=path.stat().st_size,
        checked="PRAGMA integrity_check: ok; every table's rows counted equal to the backup's",
        replaced=replaced,
    )


def _refuse(url: str, held: dict[str, int]) -> InputError:
    return InputError.one(
        "--db",
        f"the registry at {url} is not empty ({describe(held)}); restoring would replace all of it. "
        "Give --force to replace it, or restore into a new database",
    )


# ---- PostgreSQL ---------------------------------------------------------------------------------
def pg_tool(name: str, pg_bin: str | None) -> Path:
    """A PostgreSQL client program: from --pg-bin, else the newest /usr/lib/postgresql/*/bin, else PATH."""
    if pg_bin is not None:
        chosen = Path(pg_bin) / name
        if not chosen.is_file():
            raise InputError.one(
                "--pg-bin", f"no {name} in {pg_bin}; give the folder holding pg_dump and pg_restore"
            )
        return chosen
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if found:
        return Path(found[-1])
    on_path = shutil.which(name)
    if on_path is None:
        raise RegistryError(
            f"{name} not found (PostgreSQL's client programs); install them, or give --pg-bin DIR"
        )
    return Path(on_path)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment that carries it (not the command line)."""
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return plain, env


def _unreachable(url: URL, exc: OperationalError) -> RegistryError:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return RegistryError(f"cannot reach the database {shown(url)}: {reason}")


@contextlib.contextmanager
def _pg_engine(url: URL) -> Iterator[Engine]:
    from bontrack.db import make_engine

    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()


def _pg_tables(conn: Any) -> dict[str, int]:
    from sqlalchemy import text

    names = conn.execute(
        text(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY schemaname, tablename"
        )
    ).all()
    tables: dict[str, int] = {}
    for schema, name in names:
        label = name if schema == "public" else f"{schema}.{name}"
        tables[label] = int(conn.execute(text(f'SELECT count(*) FROM "{schema}"."{name}"')).scalar_one())
    return tables


def _pg_revision(conn: Any, tables: dict[str, int]) -> str | None:
    from sqlalchemy import text

    if SCHEMA_TABLE not in tables:
        return None
    value = conn.execute(text(f"SELECT version_num FROM {SCHEMA_TABLE}")).scalar()
    return None if value is None else str(value)


def _run_tool(
    args: list[str],
    *,
    env: dict[str, str],
    stages: Stages,
    task: Any,
    marker: re.Pattern[str],
    what: str,
) -> None:
    """Run pg_dump or pg_restore verbosely, advancing ``task`` on each table it reports."""
    try:
        proc = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
    except OSError as exc:
        raise RegistryError(f"cannot run {args[0]}: {exc.strerror}") from None
    problems: list[str] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        if marker.search(line):
            stages.update(task, advance=1)
        elif "error" in line.lower() or "fatal" in line.lower() or "warning" in line.lower():
            problems.append(line.strip())
    if proc.wait() != 0:
        detail = "; ".join(problems[:5]) or f"exit code {proc.returncode}"
        hint = " (give --pg-bin with a newer PostgreSQL's bin folder)" if "version mismatch" in detail else ""
        raise RegistryError(f"{what} failed: {detail}{hint}")


def _pg_backup(url: URL, file: Path, *, force: bool, pg_bin: str | None, stages: Stages) -> Summary:
    pg_dump = pg_tool("pg_dump", pg_bin)
    pg_restore = pg_tool("pg_restore", pg_bin)
    partial = _target_file(file, force=force)
    uri, env = _libpq(url)
    with _pg_engine(url) as engine:
        try:
            conn = engine.connect()
        except OperationalError as exc:
            raise _unreachable(url, exc) from None
        with conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            from sqlalchemy import text

            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
            task = stages.start("counting rows")
            tables = _pg_tables(conn)  # in the snapshot the dump reads
            revision = _pg_revision(conn, tables)
            stages.finish(task)
            if revision is None:
                raise InputError.one("--db", f"{shown(url)} holds no bontrack registry (no schema version)")
            task = stages.start("pg_dump", total=len(tables))
            try:
                _run_tool(
                    [
                        str(pg_dump),
                        "--format=custom",
                        "--verbose",
                        f"--snapshot={snapshot}",
                        f"--file={partial}",
                        f"--dbname={uri}",
                    ],
                    env=env,
                    stages=stages,
                    task=task,
                    marker=re.compile(r"dumping contents of table"),
                    what="pg_dump",
                )
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            stages.finish(task)
            conn.rollback()
    task = stages.start("checking the dump (pg_restore --list)")
    try:
        toc = _pg_toc(pg_restore, partial)
        missing = sorted(set(tables) - toc.data)
        if missing:
            raise RegistryError(f"the dump lacks the data of {', '.join(missing)}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    stages.finish(task)
    _fsync(partial)
    partial.replace(file)
    _fsync(file.parent)
    return Summary(
        url=shown(url),
        file=file,
        engine="postgresql",
        revision=revision,
        tables=tables,
        size=file.stat().st_size,
        checked="pg_restore --list: every table's data present",
    )


@dataclass
class _Toc:
    tables: set[str]
    data: set[str]


def _pg_toc(pg_restore: Path, file: Path) -> _Toc:
    """The tables a custom-format dump creates and fills (`pg_restore --list`)."""
    done = subprocess.run([str(pg_restore), "--list", str(file)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        raise InputError.one("FILE", f"{file} is not a readable PostgreSQL dump: {reason}")
    toc = _Toc(set(), set())
    for line in done.stdout.splitlines():
        found = re.match(r"^\d+; \d+ \d+ (TABLE DATA|TABLE) (\S+) (\S+) ", line)
        if found:
            kind, schema, name = found.groups()
            label = name if schema == "public" else f"{schema}.{name}"
            (toc.data if kind == "TABLE DATA" else toc.tables).add(label)
    return toc


def _dump_revision(pg_restore: Path, file: Path) -> str | None:
    """The schema revision inside a dump, read without restoring it."""
    done = subprocess.run(
        [str(pg_restore), "--data-only", f"--table={SCHEMA_TABLE}", "--file=-", str(file)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = done.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and SCHEMA_TABLE in line and i + 1 < len(lines):
            value = lines[i + 1].strip()
            return None if value in ("", "\\.") else value
    return None


def _create_database(url: URL) -> None:
    """Make the target database when the cluster has none by that name."""
    from sqlalchemy import text

    admin = url.set(database="postgres")
    with _pg_engine(admin) as engine:
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                quoted = '"' + str(url.database).replace('"', '""') + '"'
                conn.execute(text(f"CREATE DATABASE {quoted}"))
        except OperationalError as exc:
            raise _unreachable(url, exc) from None
        except SQLAlchemyError as exc:
            raise RegistryError(f"cannot create the database {url.database}: {exc}") from None


def _pg_restore(url: URL, file: Path, *, force: bool, pg_bin: str | None, stages: Stages) -> Summary:
    pg_restore = pg_tool("pg_restore", pg_bin)
    task = stages.start("reading the dump")
    toc = _pg_toc(pg_restore, file)
    revision = _dump_revision(pg_restore, file)
    stages.finish(task)
    _check_revision(revision, file)
    replaced: dict[str, int] = {}
    existing: dict[str, int] = {}
    with _pg_engine(url) as engine:
        try:
            conn = engine.connect()
        except OperationalError as exc:
            if f'"{url.database}" does not exist' not in str(exc.orig):
                raise _unreachable(url, exc) from None
            _create_database(url)
        else:
            with conn:
                existing = _pg_tables(conn)
    replaced = data_tables(existing)
    if replaced and not force:
        raise _refuse(shown(url), replaced)
    if replaced:
        stages.warn(f"replacing the registry at {shown(url)}, which holds {describe(replaced)}")
    foreign = sorted(set(existing) - toc.tables)
    if foreign:
        raise InputError.one(
            "--db",
            f"{shown(url)} holds tables the backup does not have ({', '.join(foreign)}); "
            "restore into a new, empty database",
        )
    uri, env = _libpq(url)
    clean = ["--clean", "--if-exists"] if existing else []
    task = stages.start("pg_restore", total=len(toc.data))
    _run_tool(
        [
            str(pg_restore),
            "--verbose",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            *clean,
            f"--dbname={uri}",
            str(file),
        ],
        env=env,
        stages=stages,
        task=task,
        marker=re.compile(r"processing data for table"),
        what="pg_restore",
    )
    stages.finish(task)
    with _pg_engine(url) as engine, engine.connect() as conn:
        tables = _pg_tables(conn)
    return Summary(
        url=shown(url),
        file=file,
        engine="postgresql",
        revision=revision,
        tables=tables,
        size=file.stat().st_size,
        checked="pg_restore in one transaction: ok",
        replaced=replaced,
    )


# ---- the two commands ---------------------------------------------------------------------------
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
        raise RegistryError(f"cannot write {file}: {exc.strerror or exc}") from None
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
