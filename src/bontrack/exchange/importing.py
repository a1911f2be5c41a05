"""Importing JSON Lines, all or nothing, in bounded memory and disk whatever the file's size.

One pass over the file. Each line is read once and checked (envelope and content); its key (type,
id, version), clinic and a digest of its content are kept in a scratch SQLite file (the stage:
about 100 bytes a line, not the line itself), with the records it refers to that are not yet
known. A version not in the registry is written at once, in batches, with one audit entry each,
in the caller's transaction; a version already present with the same content is skipped (so
importing a file twice adds nothing), and one with other content is an error. What must hold
across lines is then asked of the stage and the registry with a few queries: a missing earlier
version, a clinic or a referenced record found neither in the file nor in the registry, a
patient's record dated before the patient's birth (the services' rule, bontrack.dates.before_birth,
against the birth date of the patient's newest version in the file, else in the registry), a
birth date corrected to after a current record's date in the registry (``exchange.births``), and
a record number another patient of the clinic has, whatever its case (exchange.record_numbers).

All or nothing: once anything is wrong nothing more is written, and the error is raised at the
end, naming every bad line (the first 20) and field; the caller's transaction then rolls back
every version and audit entry written. So the file is read once, the registry is its own stage
(the stage holds keys, never rows), and a good file costs its lines' checks and the inserts.
Lookups in the registry are skipped for a record type whose table was empty when the import began.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from bontrack.dates import before_birth
from bontrack.errors import InputError
from bontrack.exchange import record_numbers
from bontrack.exchange.births import births_after
from bontrack.exchange.envelope import dumps, parse_line
from bontrack.exchange.import_problems import Problems, follows, more_lines, unknown_shape
from bontrack.kinds import BY_NAME
from bontrack.record_kind import AnyKind as Kind
from bontrack.storage import derived
from bontrack.storage.audit_log import log, write_held
from bontrack.storage.bulk import bulk_writer_of
from bontrack.storage.inserts import insert_many
from bontrack.storage.versioned import snapshot_of

BATCH = 2_000
DERIVED_PART = 2_000  # patients whose derived rows are recomputed together
LOOKUP = 500  # ids per registry query

STAGE = """
create table seen(no integer primary key, type integer not null, id text not null, version integer not null,
                  clinic_id text not null, digest blob not null, fresh integer not null);
create unique index seen_key on seen(type, id, version);
create table refs(no integer not null, field text not null, type integer not null, id text not null);
create table touched(clinic_id text not null, patient_id text not null, primary key (clinic_id, patient_id))
    without rowid;
create table born(id text primary key, version integer not null, birth_date text not null,
                  no integer not null) without rowid;
create table dated(no integer not null, field text not null, patient_id text not null, day text not null);
"""
STAGE_CACHE_KB = 24_000  # the stage's page cache: its key index is inserted at random
TYPE_NO = {name: no for no, name in enumerate(BY_NAME)}  # a record type as a number in the stage
TYPE_NAME = dict(enumerate(BY_NAME))


def _digest(kind: Kind, values: dict[str, Any]) -> bytes:
    """A version's content as 16 bytes: the line it exports as (keys sorted), hashed. orjson
    writes it (a line's content was validated: no NaN, which orjson would write as null);
    what orjson refuses (an integer beyond 64 bits) is written by ``dumps``."""
    snapshot = snapshot_of(kind.name, values)
    try:
        text = orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        text = dumps(snapshot).encode()
    return hashlib.blake2b(text, digest_size=16).digest()


def _table(kind: Kind) -> Table:
    return kind.row.__table__  # type: ignore[no-any-return]


def _chunks(items: list[Any], size: int = LOOKUP) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Stage:
    def __init__(self, db: Session, stage: sqlite3.Connection, *, actor: str, source: str) -> None:
        self.db = db
        self.stage = stage
        self.actor = actor
        self.source = source
        self.pending: list[tuple[int, Kind, dict[str, Any]]] = []
        self.written = 0
        self.nested = bulk_writer_of(db)
        # record types with no version in the registry before the import: nothing to look up
        self.was_empty = {
            kind.name
            for kind in BY_NAME.values()
            if db.execute(select(_table(kind).c.id).limit(1)).first() is None
        }

    def existing(self, kind: Kind, ids: list[str]) -> dict[tuple[str, int], bytes]:
        """Digests of the registry's versions of these records (as they were before the import:
        a version this import wrote is found in the stage first)."""
        if kind.name in self.was_empty:
            return {}
        table = _table(kind)
        found: dict[tuple[str, int], bytes] = {}
        for chunk in _chunks(ids):
            for row in self.db.execute(select(table).where(table.c.id.in_(chunk))):
                values = dict(row._mapping)
                found[(values["id"], values["version"])] = _digest(kind, values)
        return found

    def flush(self, problems: Problems) -> None:
        """Stage the pending lines and write the new versions (none once anything is wrong): skip
        those present with the same content, refuse other content."""
        by_kind: dict[str, list[str]] = defaultdict(list)
        for _number, kind, values in self.pending:
            by_kind[kind.name].append(values["id"])
        in_registry = {name: self.existing(BY_NAME[name], sorted(set(ids))) for name, ids in by_kind.items()}
        fresh_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        execute = self.stage.execute
        for number, kind, values in self.pending:
            key = (values["id"], values["version"])
            type_no = TYPE_NO[kind.name]
            digest = _digest(kind, values)
            staged = execute(
                "select digest from seen where type = ? and id = ? and version = ?", (type_no, *key)
            ).fetchone()
            earlier = staged[0] if staged is not None else in_registry[kind.name].get(key)
            if staged is not None and earlier == digest:
                continue  # the same version twice in the file
            if earlier is not None and earlier != digest:
                message = f"{kind.name} {key[0]} version {key[1]} exists with other content"
                problems.add(number, "version", message, type_name=kind.name)
                continue
            fresh = earlier is None
            execute(
                "insert into seen values (?, ?, ?, ?, ?, ?, ?)",
                (number, type_no, *key, values["clinic_id"], digest, int(fresh)),
            )
            if not fresh:
                continue
            fresh_rows[kind.name].append(values)
            self.note_dates(number, kind, values)
            for field, target in kind.references:
                target_id = values["data"].get(field)
                if target_id is None:
                    continue
                target_no = TYPE_NO[target]
                known = execute(
                    "select 1 from seen where type = ? and id = ? limit 1", (target_no, target_id)
                ).fetchone()
                if known is None:  # later in the file, in the registry, or nowhere: asked at the end
                    execute(
                        "insert into refs values (?, ?, ?, ?)",
                        (number, f"data.{field}", target_no, target_id),
                    )
        self.pending.clear()
        if not problems.total:
            self.write(fresh_rows)

    def note_dates(self, number: int, kind: Kind, values: dict[str, Any]) -> None:
        """Stage what the birth-date rule needs of a new version: a patient's birth date (its
        newest version in the file), a current record's clinical date and patient."""
        data = values["data"]
        if kind.name == "patient":
            record_numbers.note(self.stage, number, values)
            self.stage.execute(
                "insert into born values (?, ?, ?, ?) on conflict(id) do update set"
                " version = excluded.version, birth_date = excluded.birth_date, no = excluded.no"
                " where excluded.version > born.version",
                (values["id"], values["version"], data["birth_date"], number),
            )
        elif kind.dated_by and kind.patient_field and not values["withdrawn"]:
            day, patient_id = data.get(kind.dated_by), data.get(kind.patient_field)
            if day is not None and patient_id is not None:
                self.stage.execute(
                    "insert into dated values (?, ?, ?, ?)",
                    (number, f"data.{kind.dated_by}", patient_id, day),
                )

    def before_births(self) -> list[tuple[int, int, str, str]]:
        """The new records dated before their patient's birth (a part at a time: the patients
        not in the file looked up in the registry, their newest version's birth date)."""
        found: list[tuple[int, int, str, str]] = []
        cursor = self.stage.execute(
            "select d.no, d.field, d.patient_id, d.day, b.birth_date from dated d"
            " left join born b on b.id = d.patient_id"  # (the problems are sorted by line at the end)
        )
        while part := cursor.fetchmany(LOOKUP):
            registry = self.births_in_registry({pid for _n, _f, pid, _d, born in part if born is None})
            for no, field, patient_id, day, in_file in part:
                born = in_file or registry.get(patient_id)
                if born is None:  # no such patient: the reference check names it
                    continue
                try:  # a registry written elsewhere may hold a birth date that is no date
                    dates = dt.date.fromisoformat(day), dt.date.fromisoformat(born)
                except ValueError:
                    continue  # (not judged: the rule needs two dates)
                message = before_birth(*dates)
                if message is not None:
                    found.append((no, 3, field, message))
        return found

    def births_in_registry(self, ids: set[str]) -> dict[str, str]:
        """The birth dates of these patients' newest versions in the registry."""
        if "patient" in self.was_empty:
            return {}
        table = _table(BY_NAME["patient"])
        newest: dict[str, tuple[int, str]] = {}
        for chunk in _chunks(sorted(ids)):
            for record_id, version, data in self.db.execute(
                select(table.c.id, table.c.version, table.c.data).where(table.c.id.in_(chunk))
            ):
                if record_id not in newest or version > newest[record_id][0]:
                    newest[record_id] = (version, str(data["birth_date"]))
        return {record_id: born for record_id, (_v, born) in newest.items()}

    def write(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        """Insert a batch's new versions, each audited, and write them out (memory stays bounded)."""
        for type_name, values_list in rows.items():
            kind = BY_NAME[type_name]
            if self.nested is None:
                insert_many(self.db, _table(kind), values_list)
            for values in values_list:
                if self.nested is not None:  # inside a caller's bulk block: into that one, for its reads
                    self.nested.add_row(kind.row, values)
                log(
                    self.db,
                    actor=self.actor,
                    action="import",
                    record_type=kind.name,
                    record_id=values["id"],
                    version=values["version"],
                    clinic_id=values["clinic_id"],
                    detail=self.source or None,  # the version is named, not copied
                )
            self.written += len(values_list)
        if self.nested is None:
            write_held(self.db)
            # the patients whose derived rows (due items) to recompute, kept here, not in memory
            for clinic_id, patients in derived.taken(self.db).items():
                self.stage.executemany(
                    "insert or ignore into touched values (?, ?)", ((clinic_id, p) for p in patients)
                )

    def refresh_derived(self) -> None:
        """Recompute the derived rows of the patients the import touched, a part at a time."""
        cursor = self.stage.execute(
            "select clinic_id, patient_id from touched order by clinic_id, patient_id"
        )
        while part := cursor.fetchmany(DERIVED_PART):
            touched: dict[str, set[str]] = defaultdict(set)
            for clinic_id, patient_id in part:
                touched[clinic_id].add(patient_id)
            derived.refresh_for(self.db, touched)

    def type_of(self, number: int) -> str | None:
        """The record type of a line taken in (to name a line's error by it)."""
        found = self.stage.execute("select type from seen where no = ?", (number,)).fetchone()
        return None if found is None else TYPE_NAME[found[0]]

    def in_registry(self, type_name: str, ids: set[str]) -> set[str]:
        table = _table(BY_NAME[type_name])
        found: set[str] = set()
        for chunk in _chunks(sorted(ids)):
            found.update(self.db.scalars(select(table.c.id).where(table.c.id.in_(chunk)).distinct()))
        return found

    def consistency(self, problems: Problems) -> None:
        """Earlier versions, clinics and references, found in the file or the registry."""
        missing_earlier = self.stage.execute(
            "select s.no, s.type, s.id, s.version from seen s where s.fresh = 1 and s.version > 1"
            " and not exists (select 1 from seen p"
            " where p.type = s.type and p.id = s.id and p.version = s.version - 1)"
            " order by s.no"
        ).fetchall()
        versions: dict[str, set[tuple[str, int]]] = defaultdict(set)
        for _no, type_no, record_id, version in missing_earlier:
            versions[TYPE_NAME[type_no]].add((record_id, version - 1))
        present: set[tuple[str, str, int]] = set()
        for type_name, keys in versions.items():
            table = _table(BY_NAME[type_name])
            for chunk in _chunks(sorted({i for i, _v in keys})):
                query = select(table.c.id, table.c.version).where(table.c.id.in_(chunk))
                present.update((type_name, rid, v) for rid, v in self.db.execute(query))
        refused = problems.refused
        following: dict[int, int] = defaultdict(int)  # a refused line -> lines that refer to its record
        found: list[tuple[int, int, str, str]] = [
            (no, 0, "version", f"version {version - 1} of {TYPE_NAME[type_no]} {record_id} is missing")
            for no, type_no, record_id, version in missing_earlier
            if (TYPE_NAME[type_no], record_id, version - 1) not in present
            and not follows(refused, following, record_id)
        ]
        clinic = TYPE_NO["clinic"]
        no_clinic = self.stage.execute(
            f"select no, clinic_id from seen s where fresh = 1 and not (type = {clinic} and clinic_id = id)"
            f" and clinic_id not in (select id from seen where type = {clinic}) order by no"
        ).fetchall()
        clinics = self.in_registry("clinic", {c for _no, c in no_clinic})
        found += [
            (no, 1, "clinic_id", f"no clinic {clinic!r} in the file or the registry")
            for no, clinic in no_clinic
            if clinic not in clinics and not follows(refused, following, clinic)
        ]
        dangling = self.stage.execute(
            "select r.no, r.field, r.type, r.id from refs r where not exists"
            " (select 1 from seen s where s.type = r.type and s.id = r.id) order by r.no"
        ).fetchall()
        targets: dict[str, set[str]] = defaultdict(set)
        for _no, _field, type_no, record_id in dangling:
            targets[TYPE_NAME[type_no]].add(record_id)
        known = {t: self.in_registry(t, ids) for t, ids in targets.items()}
        found += [
            (no, 2, field, f"no {TYPE_NAME[type_no]} {record_id!r} in the file or the registry")
            for no, field, type_no, record_id in dangling
            if record_id not in known[TYPE_NAME[type_no]] and not follows(refused, following, record_id)
        ]
        found += [
            (
                no,
                3,
                f"line {no}",
                f"{more_lines(n)} refer to this line's record and are not listed; fix this line first",
            )
            for no, n in following.items()
        ]
        found += self.before_births()
        found += births_after(self.db, self.stage, TYPE_NO, self.was_empty)  # a birth date corrected
        found += record_numbers.twins(
            self.stage, self.db, registry_has_patients="patient" not in self.was_empty
        )
        for no, rank, field, message in sorted(found, key=lambda f: (f[0], f[1])):
            problems.add(no, field, message, rank)


def import_lines(
    *, db: Session, actor: str, lines: Iterable[str], source: str = "", batch: int = BATCH
) -> int:
    """Load exported lines (a list, or a file read line by line); raise InputError naming each bad
    line and field (the caller's transaction must then roll back: versions may have been written
    before a bad line was found); returns the record versions added. ``batch``: lines checked and
    written together."""
    problems = Problems(source)
    with (
        tempfile.TemporaryDirectory(prefix="bontrack-import-") as folder,
        closing(sqlite3.connect(Path(folder) / "stage.db")) as connection,
    ):
        connection.execute("pragma journal_mode = off")
        connection.execute("pragma synchronous = off")
        connection.execute(f"pragma cache_size = -{STAGE_CACHE_KB}")
        connection.executescript(STAGE + record_numbers.STAGE)
        stage = _Stage(db, connection, actor=actor, source=source)
        records_given = 0
        unknown = 0  # lines refused for a field or record type this version does not know
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            records_given += 1
            try:
                kind, values = parse_line(number, text)
            except InputError as exc:
                for e in exc.errors:
                    problems.add(number, e.field, e.message)
                problems.refuse(number, text)
                unknown += unknown_shape(exc.errors)
                continue
            stage.pending.append((number, kind, values))
            if len(stage.pending) >= batch:
                stage.flush(problems)
        stage.flush(problems)
        if not records_given:
            raise InputError.one(
                problems.file,
                "holds no records (it is empty or blank); allowed: one exported record version per line",
            )
        stage.consistency(problems)
        problems.note_another_version(unknown, records_given)
        error = problems.error(stage.type_of)
        if error is not None:
            raise error  # the caller's transaction rolls back what was written
        stage.refresh_derived()
        return stage.written
