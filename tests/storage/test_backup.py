"""`bontrack backup` and `bontrack restore` as a user runs them (real processes, real databases).

Under load: 16 threads write through the real services while `bontrack backup` copies the
registry. The copy must be the registry as of one instant: every write acknowledged before the
backup began is in it, no write begun after it ended is, every row in it is the source's row,
each record version comes with its audit entry, and `bontrack restore` of it gives back the same
rows table by table (records, versions, audit log, users, keys) as the backup reported.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, event, inspect, select
from sqlalchemy.exc import OperationalError

from bontrack.auth.schemas import UserCreate
from bontrack.auth.service import create_user
from bontrack.patients import service as patients
from bontrack.patients.schemas import PatientCreate
from bontrack.research.service import pseudonym_key
from bontrack.storage.engine import make_engine, open_engine, transaction
from bontrack.storage.record_ids import id_text
from conftest import Cluster
from factories import clinic_world

WRITERS = 16
RESTORE_DETAIL = "restore of the whole registry"
BACKUP_DETAIL = "backup of the whole registry"
_names = itertools.count(1)


def bontrack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bontrack", *args], capture_output=True, text=True, timeout=600, check=False
    )


def pg_args(url: str, request: pytest.FixtureRequest) -> list[str]:
    if url.startswith("sqlite"):
        return []
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    return ["--pg-bin", str(cluster.bin)]


def new_target(url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for a database that does not exist yet (restore makes it)."""
    n = next(_names)
    if url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'restored{n}.db'}"
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    return cluster.url(f"bontrack_restored_{n}_{int(time.time() * 1000) % 10**8}")


def populate(engine: Engine) -> str:
    """A clinic with a patient, a user and the pseudonym key; returns the clinic id."""
    with transaction(engine) as db:
        world = clinic_world(db)
        data = UserCreate(
            email="admin@clinic.example.org",
            role="admin",
            password="backup-test-Qv7r-lantern-orbit",
            clinic_id=None,
        )
        create_user(db=db, actor="test:setup", data=data, now=dt.datetime(2026, 3, 2, 9, 0))
        pseudonym_key(db)
    return world.clinic_id


def _json(value: Any) -> str:
    return json.dumps(id_text(value), sort_keys=True, default=str)


def table_rows(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, each value as JSON text, in primary-key order; and the audit
    log as read (the view ``audit_log``: one entry per record, over audit_packs and audit_texts)."""
    meta = MetaData()
    meta.reflect(engine, views=True)
    rows: dict[str, list[tuple[str, ...]]] = {}
    with engine.connect() as conn:
        for name, table in meta.tables.items():
            key = list(table.primary_key.columns) or (
                [table.c.seq] if name == "audit_log" else list(table.columns)
            )
            found = conn.execute(select(table).order_by(*key)).all()
            # (a reflected table's raw values: a record id stored as 16 bytes read as its text)
            rows[name] = [
                tuple(json.dumps(id_text(v), sort_keys=True, default=str) for v in row) for row in found
            ]
    return rows


def column(engine: Engine, rows: dict[str, list[tuple[str, ...]]], table: str, name: str) -> list[Any]:
    at = [c["name"] for c in inspect(engine).get_columns(table)].index(name)
    return [json.loads(r[at]) for r in rows[table]]


def audit_column(engine: Engine, rows: dict[str, list[tuple[str, ...]]], name: str) -> list[Any]:
    return column(engine, rows, "audit_log", name)


def audit_details(rows: dict[str, list[tuple[str, ...]]], engine: Engine) -> list[str]:
    return [d or "" for d in audit_column(engine, rows, "detail")]


def drop_entries(rows: dict[str, list[tuple[str, ...]]], engine: Engine, prefix: str) -> int:
    """Take the audit entries whose detail starts with ``prefix`` out of ``rows``: from the log as
    read, their packs, and the texts only they name (a text is stored with the first pack naming
    it). Returns how many entries."""
    details = audit_details(rows, engine)
    keep = [i for i, d in enumerate(details) if not d.startswith(prefix)]
    taken = len(details) - len(keep)
    rows["audit_log"] = [rows["audit_log"][i] for i in keep]
    texts = dict(
        zip(
            column(engine, rows, "audit_texts", "id"),
            column(engine, rows, "audit_texts", "text"),
            strict=True,
        )
    )
    named = ("actor", "action", "record_type", "detail", "outcome")
    if engine.dialect.name == "sqlite":
        named += ("clinic_id",)  # a pack's clinic by number, 0 for none (migration 0016)
    packs = list(zip(*(column(engine, rows, "audit_packs", n) for n in named), strict=True))
    dropped = {i for i, p in enumerate(packs) if p[3] is not None and texts[p[3]].startswith(prefix)}
    rows["audit_packs"] = [r for i, r in enumerate(rows["audit_packs"]) if i not in dropped]
    still = {n for i, p in enumerate(packs) if i not in dropped for n in p if n is not None}
    ids = column(engine, rows, "audit_texts", "id")
    rows["audit_texts"] = [r for r, n in zip(rows["audit_texts"], ids, strict=True) if n in still]
    return taken


def without_restore_entry(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """The restored registry's rows, less the one audit entry the restore itself wrote."""
    rows = table_rows(engine)
    assert drop_entries(rows, engine, RESTORE_DETAIL) == 1, audit_details(rows, engine)[-3:]
    return rows


def reported_counts(stdout: str) -> dict[str, int]:
    """The per-table row counts `bontrack backup` prints."""
    counts = {}
    for line in stdout.splitlines():
        found = re.match(r"^  ([a-z_.]+)\s+([\d,]+)$", line)
        if found:
            counts[found.group(1)] = int(found.group(2).replace(",", ""))
    return counts


@dataclass
class Writers:
    """16 threads writing patients (new records and new versions) through the real services."""

    engine: Engine
    clinic_id: str
    acked: list[tuple[str, int]] = field(default_factory=list)  # (record id, version) committed
    after: list[tuple[str, int]] = field(default_factory=list)  # begun after the backup ended
    failures: list[BaseException] = field(default_factory=list)
    busy: int = 0  # writes refused with "database is locked" (SQLite)
    stop: threading.Event = field(default_factory=threading.Event)
    backup_done: threading.Event = field(default_factory=threading.Event)

    def run(self, n: int) -> None:
        mine: list[str] = []
        for i in itertools.count():
            if self.stop.is_set():
                return
            begun_after = self.backup_done.is_set()
            try:
                with transaction(self.engine) as db:
                    data = PatientCreate(
                        record_number=f"W{n}-{i}",
                        name=f"Writer {n} {i}",
                        birth_date=dt.date(1970, 1, 1),
                        sex="other",
                    )
                    if i % 3 == 2 and mine:
                        changed = data.model_copy(update={"record_number": f"W{n}-{len(mine) - 1}-b{i}"})
                        read = patients.update_patient(
                            db=db, actor="test:writer", patient_id=mine[-1], data=changed, reason="corrected"
                        )
                    else:
                        read = patients.create_patient(
                            db=db, actor="test:writer", clinic_id=self.clinic_id, data=data
                        )
            except OperationalError as exc:
                # 16 threads share one GIL and SQLite's busy handler is not fair: on a loaded
                # machine a writer can wait out busy_timeout. Not acknowledged, so not counted.
                if "database is locked" not in str(exc):
                    self.failures.append(exc)
                    return
                self.busy += 1
                continue
            except BaseException as exc:  # a failed write fails the test, below
                self.failures.append(exc)
                return
            if read.version == 1:
                mine.append(read.id)
            self.acked.append((read.id, read.version))
            if begun_after:
                self.after.append((read.id, read.version))

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 300  # a guard against hanging, not a timed assertion
        while len(self.acked) < count and not self.failures:
            assert time.monotonic() < deadline, f"writers stalled at {len(self.acked)} writes"
            time.sleep(0.01)
        assert not self.failures, repr(self.failures[0])


def _keep_in_the_log(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


@pytest.fixture
def writers(engine: Engine) -> Iterator[tuple[Writers, list[threading.Thread]]]:
    if engine.dialect.name == "sqlite":
        # The writes stay in the write-ahead log (as the newest always are) rather than being
        # checkpointed into the main file: a copy of that file alone misses them, a backup must not.
        engine.dispose()
        event.listen(engine, "connect", _keep_in_the_log)
    w = Writers(engine=engine, clinic_id=populate(engine))
    threads = [threading.Thread(target=w.run, args=(n,), daemon=True) for n in range(WRITERS)]
    yield w, threads
    w.stop.set()
    for t in threads:
        t.join(timeout=60)


def patient_versions(rows: dict[str, list[tuple[str, ...]]], engine: Engine) -> set[tuple[str, int]]:
    ids = column(engine, rows, "patient_versions", "id")
    return set(zip(ids, column(engine, rows, "patient_versions", "version"), strict=True))


def test_backup_under_load__copy_is_one_instant_and_restores_table_by_table(
    engine: Engine,
    db_url: str,
    writers: tuple[Writers, list[threading.Thread]],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    w, threads = writers
    extra = pg_args(db_url, request)
    copy = tmp_path / "registry.backup"
    for t in threads:
        t.start()
    w.wait_for(64)
    before = list(w.acked)  # acknowledged before the backup began: must be in the copy
    done = bontrack("backup", str(copy), "--db", db_url, *extra)
    w.backup_done.set()
    w.wait_for(len(w.acked) + 64)  # the writers went on after the backup
    w.stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not w.failures, repr(w.failures[0])
    assert done.returncode == 0, done.stderr
    counts = reported_counts(done.stdout)

    if db_url.startswith("sqlite"):
        with sqlite3.connect(copy) as con:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file

    target = new_target(db_url, request, tmp_path)
    restored = bontrack("restore", str(copy), "--db", target, *extra)
    assert restored.returncode == 0, restored.stderr
    restored_engine = make_engine(target)
    try:
        got = without_restore_entry(restored_engine)
        if db_url.startswith("sqlite"):
            assert got == table_rows(make_engine(f"sqlite:///{copy}"))  # the copy, table by table
    finally:
        restored_engine.dispose()
    source = table_rows(engine)

    # as of the copy: the counts the backup reported, the writes before it, none begun after it
    assert {name: len(rows) for name, rows in got.items() if name != "audit_log"} == counts
    versions = patient_versions(got, engine)
    assert set(before) <= versions
    assert not set(w.after) & versions
    assert versions < patient_versions(source, engine)
    # every row restored is the source's row, in every table: records, versions, audit, users, keys
    assert set(got) == set(source)
    for name, rows in got.items():
        assert set(rows) <= set(source[name]), name
    for name in ("users", "server_keys", "clinic_versions", "clinician_versions"):
        assert got[name] == source[name] and got[name], name
    # each version came with its audit entry, and each audit entry of a write with its version
    assert _audit_writes(got, engine) == versions
    # the backup is in the source's audit log (after the copy: not in it), the restore in the target's
    assert sum(d.startswith(BACKUP_DETAIL) for d in audit_details(source, engine)) == 1
    assert not any(d.startswith(BACKUP_DETAIL) for d in audit_details(got, engine))


def _audit_writes(rows: dict[str, list[tuple[str, ...]]], engine: Engine) -> set[tuple[str, int]]:
    """(record id, version) of every patient written, by the audit log."""
    columns = [audit_column(engine, rows, name) for name in ("action", "record_type", "record_id", "version")]
    return {
        (record_id, version)
        for action, kind, record_id, version in zip(*columns, strict=True)
        if kind == "patient" and action in ("create", "update")
    }


def test_restore__refuses_a_registry_with_data_unless_forced(
    engine: Engine, db_url: str, second_engine: Engine, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    extra = pg_args(db_url, request)
    populate(engine)
    copy = tmp_path / "registry.backup"
    assert bontrack("backup", str(copy), "--db", db_url, *extra).returncode == 0
    target = second_engine.url.render_as_string(hide_password=False)
    with transaction(second_engine) as db:
        clinic_world(db, record_number="OTHER-1")
    held = table_rows(second_engine)

    refused = bontrack("restore", str(copy), "--db", target, *extra)
    assert refused.returncode == 2
    assert "is not empty" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert table_rows(second_engine) == held  # nothing written

    second_engine.dispose()
    forced = bontrack("restore", str(copy), "--db", target, "--force", *extra)
    assert forced.returncode == 0, forced.stderr
    assert "replacing the registry" in forced.stderr  # never silently
    got = without_restore_entry(second_engine)
    source = table_rows(engine)
    drop_entries(source, engine, BACKUP_DETAIL)
    assert got == source


def test_restore__into_an_empty_schema_needs_no_force(
    engine: Engine, db_url: str, second_engine: Engine, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    extra = pg_args(db_url, request)
    populate(engine)
    copy = tmp_path / "registry.backup"
    assert bontrack("backup", str(copy), "--db", db_url, *extra).returncode == 0
    target = second_engine.url.render_as_string(hide_password=False)
    done = bontrack("restore", str(copy), "--db", target, *extra)
    assert done.returncode == 0, done.stderr
    second_engine.dispose()
    assert len(without_restore_entry(second_engine)["users"]) == 1
    # the restored registry is one bontrack opens and writes to
    reopened = open_engine(target)
    with transaction(reopened) as db:
        assert len(patients.list_patients(db=db, actor="test", clinic_id=_one_clinic(reopened))) == 1
    reopened.dispose()


def _one_clinic(engine: Engine) -> str:
    from bontrack.patients.models import ClinicRow

    with transaction(engine) as db:
        return str(db.scalar(select(ClinicRow.id)))


@pytest.mark.parametrize(
    ("make_file", "message"),
    [
        (None, "does not exist"),
        (b"not a backup\n", "is not a registry backup"),
        (b"PGDMP\x01\x0e\x00garbage", "not a readable PostgreSQL dump"),
    ],
)
def test_restore__bad_file_exits_2_naming_it(tmp_path: Path, make_file: bytes | None, message: str) -> None:
    file = tmp_path / "registry.backup"
    if make_file is not None:
        file.write_bytes(make_file)
    if make_file is not None and make_file.startswith(b"PGDMP"):
        url = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"
    else:
        url = f"sqlite:///{tmp_path / 'target.db'}"
    done = bontrack("restore", str(file), "--db", url)
    assert done.returncode == 2, done.stderr
    assert f"error FILE: {file}" in done.stderr and message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "target.db").exists()


def test_restore__sqlite_copy_into_postgres_url_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    engine = open_engine(url)
    populate(engine)
    copy = tmp_path / "registry.backup"
    engine.dispose()
    assert bontrack("backup", str(copy), "--db", url).returncode == 0
    done = bontrack("restore", str(copy), "--db", "postgresql+psycopg://postgres@127.0.0.1:1/x")
    assert done.returncode == 2
    assert "is a SQLite registry copy; restore it to a sqlite:///PATH URL" in done.stderr


def test_backup__unreachable_or_missing_registry_exits_2(tmp_path: Path) -> None:
    missing = bontrack("backup", str(tmp_path / "b"), "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert missing.returncode == 2 and "no registry at" in missing.stderr
    assert not (tmp_path / "none.db").exists()  # not created by looking
    down = bontrack("backup", str(tmp_path / "b"), "--db", "postgresql+psycopg://postgres@127.0.0.1:1/x")
    assert down.returncode == 2 and "cannot reach the database" in down.stderr, down.stderr
    assert "Traceback" not in missing.stderr + down.stderr
    assert not list(tmp_path.glob("b*"))


def test_backup__existing_file_is_kept_unless_forced(
    engine: Engine, db_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    extra = pg_args(db_url, request)
    populate(engine)
    copy = tmp_path / "registry.backup"
    copy.write_text("an older backup")
    done = bontrack("backup", str(copy), "--db", db_url, *extra)
    assert done.returncode == 2 and "exists" in done.stderr
    assert copy.read_text() == "an older backup"
    assert bontrack("backup", str(copy), "--db", db_url, "--force", *extra).returncode == 0
    assert not copy.with_name(copy.name + ".partial").exists()


def test_backup__onto_the_registry_itself_is_refused_even_forced(tmp_path: Path) -> None:
    """QA pass 5: `backup registry.db --force` replaced the live registry file with its copy (a
    running server kept writing into the replaced file, and lost it)."""
    registry = tmp_path / "registry.db"
    engine = open_engine(f"sqlite:///{registry}")
    populate(engine)
    engine.dispose()
    before = (registry.stat().st_ino, registry.read_bytes())
    for target in (registry, tmp_path / "registry.db-wal", tmp_path / "." / "registry.db"):
        done = bontrack("backup", str(target), "--db", f"sqlite:///{registry}", "--force")
        assert done.returncode == 2, done.stdout
        assert (
            done.stderr.strip()
            == f"error FILE: {target} is the registry itself (or its journal); give another name"
        )
    assert (registry.stat().st_ino, registry.read_bytes()) == before
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_backup__a_file_that_cannot_be_written_exits_2_naming_it(
    engine: Engine, db_url: str, request: pytest.FixtureRequest
) -> None:
    extra = pg_args(db_url, request)
    populate(engine)
    target = "/proc/bontrack.backup"  # not writable even by root (file permissions do not stop root)
    done = bontrack("backup", target, "--db", db_url, *extra)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"error FILE: cannot write {target}: "), (
        done.stderr
    )


def test_restore__unreachable_target_exits_2(
    engine: Engine, db_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    extra = pg_args(db_url, request)
    populate(engine)
    copy = tmp_path / "registry.backup"
    assert bontrack("backup", str(copy), "--db", db_url, *extra).returncode == 0
    if db_url.startswith("sqlite"):
        target, message = f"sqlite:///{tmp_path / 'no-such-folder' / 'r.db'}", "does not exist"
    else:
        target, message = "postgresql+psycopg://postgres@127.0.0.1:1/restored", "cannot reach the database"
    done = bontrack("restore", str(copy), "--db", target, *extra)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_backup_before_an_upgrade__older_schema_is_copied_restored_and_upgraded(
    db_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """`bontrack backup` before `bontrack db upgrade`, as the upgrade message asks: an older schema
    is copied and restored as it is (nothing written to its audit log by this newer program)."""
    from alembic import command

    from bontrack.storage.engine import _alembic_config, current_revision, head_revision

    extra = pg_args(db_url, request)
    old = make_engine(db_url)
    with old.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
    old.dispose()
    copy = tmp_path / "before-upgrade.backup"
    done = bontrack("backup", str(copy), "--db", db_url, *extra)
    assert done.returncode == 0, done.stderr
    assert "schema 0001" in done.stdout and "bontrack db upgrade" in done.stderr
    target = new_target(db_url, request, tmp_path)
    restored = bontrack("restore", str(copy), "--db", target, *extra)
    assert restored.returncode == 0, restored.stderr
    assert "bontrack db upgrade" in restored.stderr
    assert bontrack("--db", target, "db", "upgrade").returncode == 0
    eng = make_engine(target)
    assert current_revision(eng) == head_revision()
    eng.dispose()
