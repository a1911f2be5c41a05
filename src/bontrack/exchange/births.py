"""The import's check of a birth date a file corrects: not after a current record's date.

``bontrack import`` judges each new record against its patient's birth date (``before_birth``,
in ``importing``); this is the other side of the same rule, as the services apply it to a
correction (``patients.service.update_patient``, ``bontrack.dates.born_after``): a new version
of a patient already in the registry whose birth date is later than before may not leave one of
the patient's current records in the registry dated before it. Records the file brings a new
version of are judged on their own lines, so only the others are read here: those of the
corrected patients alone (nothing at all for a file of new patients, or into an empty registry).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.dates import born_after
from bontrack.kinds import BY_NAME
from bontrack.record_kind import AnyKind
from bontrack.storage.versioned import newest_versions

LOOKUP = 500  # patients per registry query
Found = tuple[int, int, str, str]  # (line, rank, field, message), as the import reports them


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:  # a registry written elsewhere may hold a date that is no date: not judged
        return None


def births_after(
    db: Session, stage: sqlite3.Connection, type_no: dict[str, int], was_empty: set[str]
) -> list[Found]:
    """The lines of patients' new versions whose birth date, later than the registry's version
    before them, is after the date of a current record of theirs in the registry (not one with a
    new version in the file), each naming the earliest such record and its date."""
    kinds = [
        k
        for k in BY_NAME.values()
        if k.dated_by is not None and k.patient_field == "patient_id" and k.name not in was_empty
    ]
    if not kinds or "patient" in was_empty:
        return []
    # each patient's newest new version (born) and the first version new in the file: the one
    # before it is the registry's (a patient new to the registry, first = 1, has no records there)
    cursor = stage.execute(
        "select b.id, b.birth_date, b.no, min(s.version) from born b"
        " join seen s on s.type = ? and s.id = b.id and s.fresh = 1"
        " group by b.id, b.birth_date, b.no having min(s.version) > 1",
        (type_no["patient"],),
    )
    found: list[Found] = []
    while part := cursor.fetchmany(LOOKUP):
        before = _births_before(db, {pid: first - 1 for pid, _b, _n, first in part})
        moved: dict[str, tuple[dt.date, int]] = {}
        for pid, text, no, _first in part:
            born, earlier = _date(text), _date(before.get(pid))
            if born is not None and earlier is not None and born > earlier:
                moved[pid] = (born, no)
        if moved:
            found += _records_before(db, stage, type_no, kinds, moved)
    return found


def _births_before(db: Session, versions: dict[str, int]) -> dict[str, Any]:
    """The birth dates of these patients' given versions in the registry."""
    row = BY_NAME["patient"].row
    found: dict[str, Any] = {}
    query = select(row.id, row.version, row.data).where(row.id.in_(sorted(versions)))
    for record_id, version, data in db.execute(query):
        if versions.get(record_id) == version:
            found[record_id] = data.get("birth_date")
    return found


def _records_before(
    db: Session,
    stage: sqlite3.Connection,
    type_no: dict[str, int],
    kinds: list[AnyKind],
    moved: dict[str, tuple[dt.date, int]],
) -> Iterator[Found]:
    """For each moved patient (new birth date, line), the earliest of their current records in
    the registry dated before it (and how many more), unless the file holds a new version of it."""
    before: dict[str, list[tuple[dt.date, AnyKind]]] = defaultdict(list)
    for kind in kinds:
        row = kind.row
        among = row.id.in_(select(row.id).where(row.patient_id.in_(sorted(moved))))
        query = newest_versions(row, among=among).with_only_columns(row.id, row.patient_id, row.data)
        for record_id, patient_id, data in db.execute(query):
            day = _date(data.get(kind.dated_by))
            if day is None or day >= moved[patient_id][0]:
                continue
            in_file = stage.execute(
                "select 1 from seen where type = ? and id = ? and fresh = 1 limit 1",
                (type_no[kind.name], record_id),
            ).fetchone()
            if in_file is None:  # (one in the file is judged on its own line)
                before[patient_id].append((day, kind))
    for patient_id, dated in before.items():
        born, no = moved[patient_id]
        day, kind = min(dated, key=lambda d: d[0])
        message = born_after(born, kind.dated_words(day), day, len(dated) - 1)
        if message is not None:
            yield (no, 3, "data.birth_date", message)
