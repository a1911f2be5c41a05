"""Parquet for analysts: one file per record type holding each record's current version (the
newest, not withdrawn), with typed columns and the data dictionary inside the file.

Columns are typed from the record's schema: whole numbers int64, other numbers float64, yes/no
boolean, dates date32, times timestamp (UTC), text string; lists and nested objects are JSON
text. A stored value that does not fit its column's type (a registry imported from elsewhere can
hold anything) is never dropped and never stops the export: the cell is left empty and the value
is kept, as text, in the row's ``unparsed`` column (a JSON object by column name). Every column
carries its description and allowed values as field metadata; the whole dictionary is also in the
file's metadata (``bontrack.dictionary``) and in data_dictionary.csv beside the files. Rows are
read and written in batches, so memory stays bounded whatever the registry's size.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from bontrack.exchange.files import staged_files
from bontrack.exchange.jsonl import log_export
from bontrack.exchange.stream import BATCH, current_versions
from bontrack.exchange.tabular import ENVELOPE, dictionary_rows, write_dictionary
from bontrack.kinds import KINDS
from bontrack.record_kind import AnyKind as Kind

UNPARSED = "unparsed"
ENVELOPE_TYPES: dict[str, pa.DataType] = {
    "id": pa.string(),
    "version": pa.int64(),
    "clinic_id": pa.string(),
    "withdrawn": pa.bool_(),
    "recorded_at": pa.timestamp("us", tz="UTC"),
    "recorded_by": pa.string(),
    "reason": pa.string(),
}


def _arrow_type(prop: dict[str, Any]) -> pa.DataType:
    """The Parquet type of a schema property (JSON text when it is a list, an object or mixed)."""
    options = [o for o in prop.get("anyOf") or [prop] if o.get("type") != "null"]
    found = set()
    for option in options:
        kind, form = option.get("type"), option.get("format")
        if "$ref" in option or kind in ("array", "object"):
            return pa.string()  # JSON text
        found.add(form if form in ("date", "date-time") else kind or "string")
    if found == {"integer"}:
        return pa.int64()
    if found <= {"integer", "number"} and found:
        return pa.float64()
    if found == {"boolean"}:
        return pa.bool_()
    if found == {"date"}:
        return pa.date32()
    if found == {"date-time"}:
        return pa.timestamp("us", tz="UTC")
    return pa.string()


def _time(value: Any) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _converter(typ: pa.DataType) -> Callable[[Any], Any]:
    """Turns a stored value into the column's Python value; raises ValueError when it does not fit."""

    def integer(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(v)
        return v

    def number(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(v)
        return float(v)

    def boolean(v: Any) -> bool:
        if not isinstance(v, bool):
            raise ValueError(v)
        return v

    def text(v: Any) -> str:
        return v if isinstance(v, str) else json.dumps(v, sort_keys=True, ensure_ascii=False)

    if typ == pa.int64():
        return integer
    if typ == pa.float64():
        return number
    if typ == pa.bool_():
        return boolean
    if typ == pa.date32():
        return lambda v: dt.date.fromisoformat(str(v))
    if pa.types.is_timestamp(typ):
        return _time
    return text


class _Table:
    """The Parquet schema of one record type and the conversion of its rows into batches."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        schema = kind.schema.model_json_schema()
        self.props: dict[str, dict[str, Any]] = schema.get("properties", {})
        unparsed = "stored values that did not fit their column"
        self.dictionary = [
            *dictionary_rows(f"{kind.name}.parquet", kind),
            [f"{kind.name}.parquet", UNPARSED, "JSON text", unparsed, ""],
        ]
        described = {r[1]: r for r in self.dictionary}
        types = {**ENVELOPE_TYPES, **{name: _arrow_type(p) for name, p in self.props.items()}}
        types[UNPARSED] = pa.string()
        self.convert = {name: _converter(typ) for name, typ in types.items()}
        fields = [
            pa.field(
                name,
                typ,
                metadata={
                    "type": described[name][2],
                    "description": described[name][3],
                    "allowed": described[name][4],
                },
            )
            for name, typ in types.items()
        ]
        self.schema = pa.schema(
            fields,
            metadata={
                "bontrack.record_type": kind.name,
                "bontrack.rows": "current versions (newest, not withdrawn)",
                "bontrack.dictionary": json.dumps(
                    [
                        dict(zip(("file", "column", "type", "description", "allowed"), r, strict=True))
                        for r in self.dictionary
                    ]
                ),
            },
        )

    def batch(self, rows: list[dict[str, Any]]) -> pa.RecordBatch:
        columns: dict[str, list[Any]] = {name: [] for name in self.schema.names}
        for values in rows:
            unparsed: dict[str, str] = {}
            cells = {name: values[name] for name in ENVELOPE}
            cells.update({name: values["data"].get(name) for name in self.props})
            for name, value in cells.items():
                if value is None:
                    columns[name].append(None)
                    continue
                try:
                    columns[name].append(self.convert[name](value))
                except (ValueError, TypeError, OverflowError):
                    columns[name].append(None)
                    unparsed[name] = (
                        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    )
            columns[UNPARSED].append(
                json.dumps(unparsed, sort_keys=True, ensure_ascii=False) if unparsed else None
            )
        return pa.RecordBatch.from_pydict(columns, schema=self.schema)


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for values in rows:
        batch.append(values)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def export_parquet(*, db: Session, actor: str, folder: Path) -> list[Path]:
    """Write <type>.parquet for every record type and data_dictionary.csv, all or none of them
    (``staged_files``: a file that cannot be written leaves no export); returns the files."""
    written: list[Path] = []
    counts: dict[str, int] = {}
    dictionary: list[list[str]] = []
    with staged_files(folder) as stage:
        for kind in KINDS:
            table = _Table(kind)
            dictionary.extend(table.dictionary)
            counts[kind.name] = 0
            with pq.ParquetWriter(stage(f"{kind.name}.parquet"), table.schema, compression="zstd") as out:
                for rows in _batches(current_versions(db, kind.row)):
                    out.write_batch(table.batch(rows))
                    counts[kind.name] += len(rows)
            written.append(folder / f"{kind.name}.parquet")
        write_dictionary(stage("data_dictionary.csv"), dictionary)
        written.append(folder / "data_dictionary.csv")
    log_export(db=db, actor=actor, form="parquet", destination=str(folder), counts=counts)
    return written
