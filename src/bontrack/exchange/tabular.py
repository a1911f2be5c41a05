"""CSV export for analysis: one file per record type (every version) plus a data dictionary.

Top-level content fields become columns; lists and nested objects are written as JSON text.
Text that a spreadsheet would run as a formula is written with a leading apostrophe
(bontrack.csv_cells; the data dictionary says so).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bontrack.csv_cells import DICTIONARY_NOTE, safe_cell, safe_row
from bontrack.exchange.files import staged_files
from bontrack.exchange.jsonl import log_export
from bontrack.exchange.stream import every_version
from bontrack.kinds import KINDS
from bontrack.record_kind import AnyKind as Kind
from bontrack.storage.versioned import snapshot_of

ENVELOPE: dict[str, tuple[str, str]] = {
    "id": ("text", "stable record id (UUID); the same for every version"),
    "version": ("integer", "1 for the first version, +1 for each correction or withdrawal"),
    "clinic_id": ("text", "id of the clinic the record belongs to"),
    "withdrawn": ("boolean", "true: the record was withdrawn in this version"),
    "recorded_at": ("timestamp (UTC)", "when this version was saved"),
    "recorded_by": ("text", "who saved this version"),
    "reason": ("text", "why this version was written (corrections and withdrawals)"),
}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return str(safe_cell(json.dumps(value, sort_keys=True, ensure_ascii=False)))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)  # a number, negative or not, stays a number
    return str(safe_cell(str(value)))


def _describe(prop: dict[str, Any], defs: dict[str, Any]) -> tuple[str, str]:
    """A column's type and allowed values, read from the pydantic JSON schema."""
    options = prop.get("anyOf") or [prop]
    kinds: list[str] = []
    allowed: list[str] = []
    for option in options:
        if "$ref" in option:
            kinds.append(f"JSON object ({option['$ref'].split('/')[-1]})")
        elif "enum" in option:
            kinds.append("text")
            allowed.extend(map(str, option["enum"]))
        elif "const" in option:
            kinds.append("text")
            allowed.append(str(option["const"]))
        elif option.get("type") == "array":
            kinds.append("JSON list")
        elif option.get("type") == "null":
            allowed.append("empty")
        else:
            kinds.append(option.get("format") or option.get("type", "any"))
        for bound, sign in (
            ("minimum", ">="),
            ("exclusiveMinimum", ">"),
            ("maximum", "<="),
            ("pattern", "pattern"),
        ):
            if bound in option:
                allowed.append(f"{sign} {option[bound]}")
    return " or ".join(dict.fromkeys(kinds)) or "any", "; ".join(allowed)


def columns_of(kind: Kind) -> list[tuple[str, str, str, str]]:
    """The content columns of a record type: (name, type, description, allowed values), read from
    its schema (the data dictionary of the CSV and Parquet exports)."""
    schema = kind.schema.model_json_schema()
    required = set(schema.get("required", []))
    found = []
    for name, prop in schema.get("properties", {}).items():
        typ, allowed = _describe(prop, schema.get("$defs", {}))
        text = prop.get("description", "") + ("" if name in required else " (optional)")
        found.append((name, typ, text.strip(), allowed))
    return found


def dictionary_rows(file: str, kind: Kind) -> list[list[str]]:
    """The data dictionary's rows for one file: the envelope, then the content columns."""
    rows = [[file, name, typ, text, ""] for name, (typ, text) in ENVELOPE.items()]
    return rows + [[file, name, typ, text, allowed] for name, typ, text, allowed in columns_of(kind)]


def write_dictionary(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["file", "column", "type", "description", "allowed"])
        out.writerow(["(every file)", "(every text column)", "text", DICTIONARY_NOTE, ""])
        out.writerows(safe_row(r) for r in rows)


def export_csv(*, db: Session, actor: str, folder: Path) -> list[Path]:
    """Write <type>.csv for every record type and data_dictionary.csv, all or none of them
    (``staged_files``: a file that cannot be written leaves no export); returns the files."""
    written = []
    counts: dict[str, int] = {}
    dictionary: list[list[str]] = []
    with staged_files(folder) as stage:
        for kind in KINDS:
            props = [name for name, *_ in columns_of(kind)]
            columns = [*ENVELOPE, *props]
            dictionary.extend(dictionary_rows(f"{kind.name}.csv", kind))
            with stage(f"{kind.name}.csv").open("w", newline="", encoding="utf-8") as f:
                out = csv.writer(f)
                out.writerow(safe_row(columns))
                counts[kind.name] = 0
                for values in every_version(db, kind.row):
                    snap = snapshot_of(kind.name, values)
                    out.writerow(
                        [_cell(snap[c]) for c in ENVELOPE] + [_cell(values["data"].get(c)) for c in props]
                    )
                    counts[kind.name] += 1
            written.append(folder / f"{kind.name}.csv")
        write_dictionary(stage("data_dictionary.csv"), dictionary)
        written.append(folder / "data_dictionary.csv")
    log_export(db=db, actor=actor, form="csv", destination=str(folder), counts=counts)
    return written
