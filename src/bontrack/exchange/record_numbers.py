"""``bontrack import``'s record-number rule, the services' own: a record number is one patient's in
a clinic, whatever the case of its letters ("syn-000002" is "SYN-000002").

The newest new version of each patient in the file is staged (its clinic, number and the
number's case key, bontrack.storage.caseless); then two patients of one clinic in the file with
the same key are asked of the stage (one indexed join), and the file's numbers of the registry
(when it held patients) a part at a time, each number looked up by its spellings through the
column's index. A problem is named at the later line.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bontrack.patients.models import PatientRow
from bontrack.storage.caseless import Caseless, case_key
from bontrack.storage.versioned import newest_versions

STAGE = """
create table numbered(id text primary key, version integer not null, no integer not null,
                      clinic_id text not null, number text not null, number_key text not null,
                      withdrawn integer not null) without rowid;
create index numbered_key on numbered(clinic_id, number_key);
"""
RANK = 4  # after the earlier checks of a line (bontrack.exchange.importing)
PART = 200  # numbers looked up in the registry together
FIELD = "data.record_number"
RULE = "record numbers are the same whatever the case of their letters"


def note(stage: sqlite3.Connection, number: int, values: dict[str, Any]) -> None:
    """Stage a new patient version (the newest of the patient in the file is kept)."""
    given = str(values["data"].get("record_number", ""))
    stage.execute(
        "insert into numbered values (?, ?, ?, ?, ?, ?, ?) on conflict(id) do update set"
        " version = excluded.version, no = excluded.no, clinic_id = excluded.clinic_id,"
        " number = excluded.number, number_key = excluded.number_key, withdrawn = excluded.withdrawn"
        " where excluded.version > numbered.version",
        (
            values["id"],
            values["version"],
            number,
            values["clinic_id"],
            given,
            case_key(given),
            values["withdrawn"],
        ),
    )


def _message(given: str, other: str, where: str) -> str:
    written = "" if other == given else f" (written {other!r})"
    return f"{given!r} is already used by another patient of this clinic{where}{written}; {RULE}"


def twins(
    stage: sqlite3.Connection, db: Session, *, registry_has_patients: bool
) -> list[tuple[int, int, str, str]]:
    """(line, rank, field, message) of each patient whose number another current patient of its
    clinic has, in the file or in the registry."""
    found = [
        (no, RANK, FIELD, _message(given, other, f" (line {earlier})"))
        for no, given, other, earlier in stage.execute(
            "select a.no, a.number, b.number, min(b.no) from numbered a join numbered b"
            " on b.clinic_id = a.clinic_id and b.number_key = a.number_key and b.id <> a.id and b.no < a.no"
            " where a.withdrawn = 0 and b.withdrawn = 0 group by a.no"
        )
    ]
    if registry_has_patients:
        found += _in_registry(stage, db)
    return found


def _parts(stage: sqlite3.Connection) -> Iterator[list[tuple[str, int, str, str]]]:
    cursor = stage.execute("select id, no, clinic_id, number from numbered where withdrawn = 0 order by no")
    while part := cursor.fetchmany(PART):
        yield part


def _in_registry(stage: sqlite3.Connection, db: Session) -> list[tuple[int, int, str, str]]:
    found: list[tuple[int, int, str, str]] = []
    for part in _parts(stage):
        conditions = [Caseless(number).condition(PatientRow.record_number) for _i, _n, _c, number in part]
        among = select(PatientRow.id).where(or_(*conditions))
        query = newest_versions(PatientRow, among=PatientRow.id.in_(among)).with_only_columns(
            PatientRow.id, PatientRow.clinic_id, PatientRow.record_number
        )
        held: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for record_id, clinic_id, number in db.execute(query):
            if number is not None:
                held.setdefault((clinic_id, case_key(number)), []).append((record_id, number))
        for record_id, no, clinic_id, number in part:
            for other_id, other in held.get((clinic_id, case_key(number)), []):
                superseded = stage.execute("select 1 from numbered where id = ?", (other_id,)).fetchone()
                if other_id != record_id and superseded is None:
                    found.append((no, RANK, FIELD, _message(number, other, " in the registry")))
                    break
    return found
