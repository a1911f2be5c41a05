"""JSON Lines: one record version per line, with its type; import is all-or-nothing.

Export, import into an empty registry and export again gives the same lines: every column of
every version is written (sorted keys, no spaces), and import keeps ids, versions, times and
authors. Importing a file twice adds nothing: versions already present with the same content
are skipped, and one present with different content is an error.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.audit.service import log
from bontrack.errors import FieldError, InputError
from bontrack.kinds import BY_NAME, KINDS, Kind
from bontrack.records import VersionedRow, all_versions, fill_index_columns
from bontrack.schemas import parse

MAX_REPORTED = 20
TypeName = Literal[
    "clinic",
    "clinician",
    "patient",
    "episode",
    "screening",
    "assessment",
    "therapy_plan",
    "injection_session",
    "adverse_event",
    "therapy_visit",
    "outcome",
]


class Line(BaseModel):
    """The envelope of one exported record version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: TypeName
    id: str = Field(min_length=1, max_length=36)
    version: int = Field(ge=1)
    clinic_id: str = Field(min_length=1, max_length=36)
    withdrawn: bool
    recorded_at: dt.datetime
    recorded_by: str = Field(min_length=1, max_length=200)
    reason: str | None
    data: dict[str, Any]


assert set(TypeName.__args__) == set(BY_NAME)  # type: ignore[attr-defined]


def dumps(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def export_lines(*, db: Session, actor: str, destination: str = "") -> list[str]:
    """Every version of every record, parents before children; each export is audited."""
    lines = []
    for kind in KINDS:
        for row in all_versions(db, kind.row):
            lines.append(dumps(row.snapshot()))
            log(
                db,
                actor=actor,
                action="export",
                record_type=kind.name,
                record_id=row.id,
                version=row.version,
                clinic_id=row.clinic_id,
                detail=destination or None,
            )
    return lines


def _to_row(kind: Kind, line: Line, data: dict[str, Any]) -> VersionedRow:
    row = kind.row()
    row.id = line.id
    row.version = line.version
    row.clinic_id = line.clinic_id
    row.withdrawn = line.withdrawn
    row.recorded_at = line.recorded_at.replace(tzinfo=None)
    row.recorded_by = line.recorded_by
    row.reason = line.reason
    row.data = data
    fill_index_columns(row)
    return row


def _existing(db: Session) -> dict[tuple[str, str, int], VersionedRow]:
    found: dict[tuple[str, str, int], VersionedRow] = {}
    for kind in KINDS:
        for row in db.scalars(select(kind.row)):
            found[(kind.name, row.id, row.version)] = row
    return found


def import_lines(*, db: Session, actor: str, lines: Iterable[str], source: str = "") -> int:
    """Load exported lines; raise InputError naming each bad line and field; returns rows added."""
    errors: list[FieldError] = []
    existing = _existing(db)
    known = {(t, i) for (t, i, _v) in existing}
    new: dict[tuple[str, str, int], tuple[int, VersionedRow]] = {}

    def problem(number: int, field: str, message: str) -> None:
        errors.append(FieldError(f"line {number}: {field}", message))

    parsed: list[tuple[int, Kind, VersionedRow]] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            problem(number, "(line)", f"is not JSON ({exc.msg} at column {exc.colno})")
            continue
        try:
            line = parse(Line, raw)
            kind = BY_NAME[line.type]
            data = parse(kind.schema, line.data, prefix="data").model_dump(mode="json")
        except InputError as exc:
            errors.extend(FieldError(f"line {number}: {e.field}", e.message) for e in exc.errors)
            continue
        row = _to_row(kind, line, data)
        key = (kind.name, row.id, row.version)
        earlier = existing.get(key) or (new[key][1] if key in new else None)
        if earlier is not None:
            if earlier.snapshot() != row.snapshot():
                problem(
                    number, "version", f"{kind.name} {row.id} version {row.version} exists with other content"
                )
            continue
        new[key] = (number, row)
        known.add((kind.name, row.id))
        parsed.append((number, kind, row))

    versions = set(existing) | set(new)
    for number, kind, row in parsed:
        if row.version > 1 and (kind.name, row.id, row.version - 1) not in versions:
            problem(number, "version", f"version {row.version - 1} of {kind.name} {row.id} is missing")
        clinic_ok = (kind.name == "clinic" and row.clinic_id == row.id) or ("clinic", row.clinic_id) in known
        if not clinic_ok:
            problem(number, "clinic_id", f"no clinic {row.clinic_id!r} in the file or the registry")
        for field, target in kind.references:
            value = row.data.get(field)
            if value is not None and (target, value) not in known:
                problem(number, f"data.{field}", f"no {target} {value!r} in the file or the registry")
    if errors:
        shown = errors[:MAX_REPORTED]
        if len(errors) > MAX_REPORTED:
            shown.append(FieldError("(file)", f"... and {len(errors) - MAX_REPORTED} more errors"))
        raise InputError(shown)

    for _number, kind, row in parsed:
        db.add(row)
        log(
            db,
            actor=actor,
            action="import",
            record_type=kind.name,
            record_id=row.id,
            version=row.version,
            clinic_id=row.clinic_id,
            after=row.snapshot(),
            detail=source or None,
        )
    db.flush()
    return len(parsed)
