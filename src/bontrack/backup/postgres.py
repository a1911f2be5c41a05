"""PostgreSQL: pg_dump in custom format inside an exported snapshot, and pg_restore in one transaction."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError, SQLAlchemyError

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
    from bontrack.storage.engine import make_engine

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
                _start_file(partial, file)
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
    publish(partial, file)
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
