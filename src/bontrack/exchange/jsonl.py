"""JSON Lines: one record version per line, with its type; import is all-or-nothing.

Export, import into an empty registry and export again gives the same lines: every column of
every version is written (sorted keys, no spaces), and import keeps ids, versions, times and
authors. Importing a file twice adds nothing: versions already present with the same content
are skipped, and one present with different content is an error.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.errors import FieldError, InputError
from bontrack.exchange.stream import every_version
from bontrack.kinds import BY_NAME, KINDS, Kind
from bontrack.records import VersionedRow, snapshot_of
from bontrack.schemas import parse
from bontrack.storage.audit_log import log
from bontrack.storage.bulk import BulkWriter, bulk, bulk_writer_of, kept_out_of_gc

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
    version: int = Field(ge=1, strict=True)  # a JSON integer: "1" is refused
    clinic_id: str = Field(min_length=1, max_length=36)
    withdrawn: bool = Field(strict=True)
    recorded_at: dt.datetime
    recorded_by: str = Field(min_length=1, max_length=200)
    reason: str | None
    data: dict[str, Any]


assert set(TypeName.__args__) == set(BY_NAME)  # type: ignore[attr-defined]


def dumps(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stream_lines(db: Session, counts: dict[str, int]) -> Iterator[str]:
    """Every version of every record as its line, parents before children, read in batches:
    the caller writes each line out and holds none. ``counts`` is filled per record type."""
    for kind in KINDS:
        counts[kind.name] = 0
        for values in every_version(db, kind.row):
            counts[kind.name] += 1
            yield dumps(snapshot_of(kind.name, values))


def write_export(*, db: Session, actor: str, out: TextIO, destination: str = "") -> int:
    """Write the whole registry to ``out``, one line per version, in bounded memory; audited as
    one entry (who, when, where to, how many versions of each type). Returns the versions written."""
    counts: dict[str, int] = {}
    with _bulk_block(db):
        for line in stream_lines(db, counts):
            out.write(line)
            out.write("\n")
    log_export(db=db, actor=actor, form="jsonl", destination=destination, counts=counts)
    return sum(counts.values())


def export_lines(*, db: Session, actor: str, destination: str = "") -> list[str]:
    """Every version of every record as a list of lines (for small registries and tests; the
    command writes with ``write_export``), audited the same way."""
    buffer = io.StringIO()
    write_export(db=db, actor=actor, out=buffer, destination=destination)
    return buffer.getvalue().splitlines()


def log_export(*, db: Session, actor: str, form: str, destination: str, counts: dict[str, int]) -> None:
    """The one audit entry of an export: its form, where it went, and how many versions of each
    record type it holds (in ``detail`` in words, and in ``after`` as data)."""
    total = sum(counts.values())
    each = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
    log(
        db,
        actor=actor,
        action="export",
        record_type="registry",
        detail=f"{form} export of {total} record versions to {destination or '(standard output)'}"
        + (f": {each}" if each else ""),
        after={"form": form, "destination": destination or None, "versions": total, "by_type": counts},
    )


def _bulk_block(db: Session) -> AbstractContextManager[BulkWriter]:
    """A bulk block for the caller's session, or the one the caller already has open."""
    writer = bulk_writer_of(db)
    return nullcontext(writer) if writer is not None else bulk(db)


def _column_values(kind: Kind, line: Line, data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": line.id,
        "version": line.version,
        "clinic_id": line.clinic_id,
        "withdrawn": line.withdrawn,
        "recorded_at": line.recorded_at.replace(tzinfo=None),
        "recorded_by": line.recorded_by,
        "reason": line.reason,
        "data": data,
    }
    for name in kind.row.index_fields:
        values[name] = data.get(name)
    return values


def _existing(db: Session) -> dict[tuple[str, str, int], VersionedRow]:
    found: dict[tuple[str, str, int], VersionedRow] = {}
    for kind in KINDS:
        for row in db.scalars(select(kind.row)):
            found[(kind.name, row.id, row.version)] = row
    return found


def _valid_line(text: str) -> Line | None:
    """The envelope of a well-formed line, parsed and checked in one step; None when anything is
    wrong (the caller then parses it again step by step, to name the problem)."""
    try:
        return Line.model_validate_json(text)
    except ValidationError:
        return None


def import_lines(*, db: Session, actor: str, lines: Iterable[str], source: str = "") -> int:
    """Load exported lines; raise InputError naming each bad line and field; returns rows added."""
    with kept_out_of_gc() as kept:  # every line is held until the end (all or nothing)
        return _import(db=db, actor=actor, lines=lines, source=source, kept=kept)


def _import(*, db: Session, actor: str, lines: Iterable[str], source: str, kept: Callable[[], None]) -> int:
    errors: list[FieldError] = []
    existing = _existing(db)
    known = {(t, i) for (t, i, _v) in existing}
    new: dict[tuple[str, str, int], dict[str, Any]] = {}  # snapshots of the file's versions

    def problem(number: int, field: str, message: str) -> None:
        errors.append(FieldError(f"line {number}: {field}", message))

    # each version as its column values and its snapshot (plain dicts: cheaper than row objects)
    parsed: list[tuple[int, Kind, dict[str, Any], dict[str, Any]]] = []
    records_given = 0
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        records_given += 1
        try:
            line = _valid_line(text)
            if line is None:  # find out what is wrong, and say it as people read it
                try:
                    raw = json.loads(text)
                except json.JSONDecodeError as exc:
                    problem(number, "(line)", f"is not JSON ({exc.msg} at column {exc.colno})")
                    continue
                line = parse(Line, raw, strict=True)
            kind = BY_NAME[line.type]
            data = parse(kind.schema, line.data, prefix="data", strict=True).model_dump(mode="json")
        except InputError as exc:
            errors.extend(FieldError(f"line {number}: {e.field}", e.message) for e in exc.errors)
            continue
        values = _column_values(kind, line, data)
        snapshot = snapshot_of(kind.name, values)
        key = (kind.name, line.id, line.version)
        earlier = existing[key].snapshot() if key in existing else new.get(key)
        if earlier is not None:
            if earlier != snapshot:
                problem(
                    number,
                    "version",
                    f"{kind.name} {line.id} version {line.version} exists with other content",
                )
            continue
        new[key] = snapshot
        known.add((kind.name, line.id))
        parsed.append((number, kind, values, snapshot))
        kept()

    if not records_given:
        raise InputError.one(
            "(file)", "holds no records (it is empty or blank); allowed: one exported record version per line"
        )
    versions = set(existing) | set(new)
    for number, kind, values, _snapshot in parsed:
        record_id, version, clinic_id = values["id"], values["version"], values["clinic_id"]
        if version > 1 and (kind.name, record_id, version - 1) not in versions:
            problem(number, "version", f"version {version - 1} of {kind.name} {record_id} is missing")
        clinic_ok = (kind.name == "clinic" and clinic_id == record_id) or ("clinic", clinic_id) in known
        if not clinic_ok:
            problem(number, "clinic_id", f"no clinic {clinic_id!r} in the file or the registry")
        for field, target in kind.references:
            value = values["data"].get(field)
            if value is not None and (target, value) not in known:
                problem(number, f"data.{field}", f"no {target} {value!r} in the file or the registry")
    if errors:
        shown = errors[:MAX_REPORTED]
        if len(errors) > MAX_REPORTED:
            shown.append(FieldError("(file)", f"... and {len(errors) - MAX_REPORTED} more errors"))
        raise InputError(shown)

    # Written as a bulk block (batched inserts of the same rows and audit entries, in order);
    # inside a caller's block, into that one, where the rows are also kept for its reads. In a
    # block of its own nothing reads them: they are only merged for the insert.
    nested = bulk_writer_of(db) is not None
    with _bulk_block(db) as writer:
        if not nested:
            rows: dict[type[Any], list[dict[str, Any]]] = defaultdict(list)
            for _number, kind, values, _snapshot in parsed:
                rows[kind.row].append(values)
            writer.merge(rows, [])
        for _number, kind, values, snapshot in parsed:
            if nested:
                writer.add_row(kind.row, values)
            log(
                db,
                actor=actor,
                action="import",
                record_type=kind.name,
                record_id=values["id"],
                version=values["version"],
                clinic_id=values["clinic_id"],
                after=snapshot,
                detail=source or None,
            )
    return len(parsed)
