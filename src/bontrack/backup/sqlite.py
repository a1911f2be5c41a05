"""SQLite: a backup by the backup API in one step, and its restore."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import URL

from bontrack.backup.common import (
    SCHEMA_TABLE,
    Stages,
    Summary,
    _check_revision,
    _refuse,
    _start_file,
    _target_file,
    data_tables,
    describe,
    publish,
    shown,
)
from bontrack.errors import InputError, RegistryError


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
    if file.resolve() in {
        path.resolve().with_name(path.name + end) for end in ("", "-wal", "-shm", "-journal")
    }:
        # replacing the registry (or its journal) with its copy would lose what a running server
        # writes meanwhile, into the file replaced
        raise InputError.one("FILE", f"{file} is the registry itself (or its journal); give another name")
    partial = _target_file(file, force=force)
    source = _open_sqlite(path, read_only=False, what="--db")
    try:
        page_size = int(source.execute("PRAGMA page_size").fetchone()[0])
        pages = int(source.execute("PRAGMA page_count").fetchone()[0])
        _start_file(partial, file)
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
    publish(partial, file)
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
