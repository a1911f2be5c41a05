"""A patient's current records of several kinds in one query (the chart: eight kinds).

``current_of_patient`` gives, for each repository, what ``Repository.of_patient`` gives (the same
versions, in the same order, audited the same way, one entry per version read), but asks the
database once, with the kinds' look-ups joined by UNION ALL, instead of once per kind: each query
cost more in the driver and SQLAlchemy than in the database. Which versions are current is asked
every time (a correction shows at once); versions read before are handed out again
(bontrack.current_reads).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CompoundSelect, literal_column, union_all
from sqlalchemy.orm import Session

from bontrack import record_reads, records
from bontrack.current_reads import read_rows, read_statement, read_version
from bontrack.repository import Repository
from bontrack.storage.buffered import BufferedWriter
from bontrack.storage.unit import writer_of
from bontrack.storage.versioned import Stored


def current_of_patient(
    db: Session, actor: str, patient_id: str, repositories: Sequence[Repository[Any, Any]]
) -> list[list[Stored[Any]]]:
    """Each repository's ``of_patient(db, actor, patient_id)``, read in one query."""
    looked_up: list[dict[str, Any]] = []
    for repository in repositories:
        field = str(repository.patient_field)
        if field not in repository.row.index_fields:
            raise ValueError(f"{repository.row.record_type} has no indexed field {field!r}")
        equal: dict[str, Any] = {field: patient_id}
        if not records.scope(actor, equal):  # another clinic's look-up: nothing (as of_patient)
            return [[] for _ in repositories]
        looked_up.append(equal)
    names = tuple(tuple(equal) for equal in looked_up)
    if type(writer_of(db)) is not BufferedWriter or len(set(names)) != 1:  # inside a bulk block
        return [repository.of_patient(db, actor, patient_id) for repository in repositories]
    statement = _statement(tuple(r.row for r in repositories), names[0])
    found = read_rows(db, statement, {f"eq_{name}": value for name, value in looked_up[0].items()})
    by_kind: list[list[Any]] = [[] for _ in repositories]
    for row in found:
        by_kind[row[7]].append(row[:7])
    answer: list[list[Stored[Any]]] = []
    for repository, rows in zip(repositories, by_kind, strict=True):
        record_type = repository.row.record_type
        reads = [read_version(repository.schema, record_type, row) for row in rows]
        record_reads.log_reads(db, actor, record_type, reads, None)
        if repository.dated_by is not None:
            dated_by = repository.dated_by
            reads.sort(key=lambda s: (getattr(s.data, dated_by), s.recorded_at))
        answer.append(reads)
    return answer


# Built once per set of kinds and fields (see record_lookups._find_statements).
_statements: dict[tuple[tuple[type[Any], ...], tuple[str, ...]], CompoundSelect[Any]] = {}


def _statement(row_classes: tuple[type[Any], ...], names: tuple[str, ...]) -> CompoundSelect[Any]:
    statement = _statements.get((row_classes, names))
    if statement is None:
        members = [
            read_statement(row_cls, names, records.find_statement)
            .order_by(None)
            .add_columns(literal_column(str(kind)).label("kind"))
            for kind, row_cls in enumerate(row_classes)
        ]
        order: list[Any] = [literal_column("kind"), literal_column("recorded_at"), literal_column("id")]
        statement = _statements[(row_classes, names)] = union_all(*members).order_by(*order)
    return statement
