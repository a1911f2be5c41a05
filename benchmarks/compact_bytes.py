"""What a registry would take stored more compactly (issue 18, item 3: under 30 KB a patient).

A measurement to choose the next storage design, not part of bontrack: a demo registry is copied,
table by table, with some of these ideas applied, then VACUUMed and measured with SQLite's
dbstat (every table and index, as the README's bytes per patient):

* ``UUIDS``: ids in the version tables and due items as 16-byte blobs, not 36-character text
  (the columns and every index on them), and the clinic as a small number;
  ``CLINICBLOB`` keeps the clinic as a 16-byte blob instead;
* ``DEDUP``: the JSON leaves out the fields that are also id columns (patient_id, episode_id ...);
* ``TIMES``: recorded_at as integer microseconds, recorded_by as a number (text stored once);
* ``AUDIT``: the audit packs' record ids as binary (16 bytes and a version byte each, not JSON
  text), their clinic as a number, an absent ``extra`` as NULL rather than the JSON text 'null'
  (bontrack stores them so from migration 0016, with a first byte and a JSON fallback; what is
  left of this idea on such a registry is ``audit_record_packs`` keyed by 4 bytes, not 8 characters);
* ``KEYS``: the JSON's keys replaced by short codes from one dictionary of all keys;
* ``JSONIDS``: UUIDs inside the JSON as 22-character base64url.

Run: ``python benchmarks/compact_bytes.py [PATIENTS]`` builds a demo (seed 7) and prints one row
per combination, or ``IDEAS="UUIDS DEDUP" python benchmarks/compact_bytes.py REGISTRY.db OUT.db``
for one combination on a registry of your own.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from bontrack.storage import audit_ids
from bontrack.storage.record_json import unpack_text

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
COMBINATIONS = (
    "",
    "UUIDS",
    "DEDUP",
    "TIMES",
    "AUDIT",
    "KEYS",
    "UUIDS DEDUP",
    "UUIDS DEDUP TIMES AUDIT",
    "UUIDS CLINICBLOB DEDUP TIMES AUDIT",
    "UUIDS DEDUP TIMES AUDIT KEYS JSONIDS",
)


class Compactor:
    """Copies one registry into another with the ideas in ``ideas`` applied."""

    def __init__(self, source: sqlite3.Connection, ideas: set[str]) -> None:
        self.src, self.ideas = source, ideas
        self.clinics: dict[str, int] = {}
        self.names: dict[str, int] = {}
        self.tables = [
            r[0]
            for r in source.execute(
                "select name from sqlite_master where type='table' and name like '%_versions'"
            )
        ]
        counts: collections.Counter[str] = collections.Counter()
        for table in self.tables:
            for (data,) in source.execute(f"select data from {table}"):
                _count_keys(json.loads(unpack_text(data) or "null"), counts)
        self.codes = {key: _code(i) for i, (key, _n) in enumerate(counts.most_common())}

    def short(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {(self.codes[k] if "KEYS" in self.ideas else k): self.short(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.short(v) for v in value]
        if "JSONIDS" in self.ideas and isinstance(value, str) and UUID_RE.match(value):
            return base64.urlsafe_b64encode(uuid.UUID(value).bytes).decode().rstrip("=")
        return value

    def clinic(self, value: str) -> int:
        return self.clinics.setdefault(value, len(self.clinics) + 1)

    def id_value(self, value: Any, column: str) -> Any:
        if value is None or "UUIDS" not in self.ideas:
            return value
        if column == "clinic_id" and "CLINICBLOB" not in self.ideas:
            return self.clinic(value)
        if isinstance(value, str) and UUID_RE.match(value):
            return uuid.UUID(value).bytes
        return value

    def copy_records(self, target: sqlite3.Connection) -> None:
        for table in [*self.tables, "due_items"]:
            columns = _schema(self.src, target, table)
            if "UUIDS" in self.ideas and table != "due_items":  # no clinic in the version keys
                target.execute(f"drop table {table}")
                sql = self.src.execute("select sql from sqlite_master where name=?", (table,)).fetchone()[0]
                sql = re.sub(
                    r"PRIMARY KEY \((id, version, clinic_id|clinic_id, id, version)\)",
                    "PRIMARY KEY (id, version)",
                    sql,
                )
                target.execute(sql)
                _indexes(self.src, target, table)
            rows = []
            for values in self.src.execute(f"select * from {table}"):
                row = dict(zip(columns, values, strict=True))
                if table != "due_items":
                    self.compact_version(row, columns)
                for column in columns:
                    if column == "id" or column.endswith("_id"):
                        row[column] = self.id_value(row[column], column)
                rows.append(tuple(row[c] for c in columns))
            marks = ",".join("?" * len(columns))
            target.executemany(f"insert into {table} values ({marks})", rows)

    def compact_version(self, row: dict[str, Any], columns: list[str]) -> None:
        data = json.loads(unpack_text(row["data"]) or "null")  # (packed since 0019: storage.record_json)
        if "DEDUP" in self.ideas:
            for column in columns:
                if column.endswith("_id") and column != "clinic_id" and data.get(column) == row[column]:
                    del data[column]
        row["data"] = json.dumps(self.short(data), separators=(",", ":"), ensure_ascii=False)
        if "TIMES" in self.ideas:
            row["recorded_at"] = int(datetime.fromisoformat(row["recorded_at"]).timestamp() * 1_000_000)
            row["recorded_by"] = self.names.setdefault(row["recorded_by"], len(self.names) + 1)

    def copy_audit(self, target: sqlite3.Connection) -> None:
        for table in ("audit_texts", "audit_packs", "audit_record_packs"):
            _schema(self.src, target, table)
        target.executemany(
            "insert into audit_texts values (?, ?)", self.src.execute("select * from audit_texts")
        )
        columns = [r[1] for r in self.src.execute("pragma table_info(audit_packs)")]
        packs, filed = [], []
        for values in self.src.execute("select * from audit_packs"):
            row = dict(zip(columns, values, strict=True))
            if "AUDIT" in self.ideas:
                if isinstance(row["clinic_id"], str):  # a number already from migration 0016 on
                    row["clinic_id"] = self.clinic(row["clinic_id"]) if row["clinic_id"] else 0
                row["extra"] = None if row["extra"] == "null" else row["extra"]
                if row["ids"] is not None:  # JSON text before migration 0016, bytes from it on
                    ids = (
                        json.loads(row["ids"])
                        if isinstance(row["ids"], str)
                        else audit_ids.decode(row["ids"])
                    )
                    row["ids"] = b"".join(_id_bytes(rid) + bytes([version or 0]) for rid, version in ids)
                    filed += [(_id_bytes(rid)[:4], row["seq"], row["clinic_id"]) for rid, _v in ids]
            packs.append(tuple(row[c] for c in columns))
        target.executemany(f"insert into audit_packs values ({','.join('?' * len(columns))})", packs)
        if "AUDIT" in self.ideas:
            target.executemany("insert or ignore into audit_record_packs values (?, ?, ?)", filed)
        else:
            target.executemany(
                "insert into audit_record_packs values (?, ?, ?)",
                self.src.execute("select * from audit_record_packs"),
            )


def _count_keys(value: Any, counts: collections.Counter[str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            counts[key] += 1
            _count_keys(inner, counts)
    elif isinstance(value, list):
        for inner in value:
            _count_keys(inner, counts)


def _code(number: int) -> str:
    """A short key: 1-2 characters for the first thousand keys."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    code = alphabet[number % len(alphabet)]
    number //= len(alphabet)
    while number:
        code += alphabet[number % len(alphabet)]
        number //= len(alphabet)
    return code


def _id_bytes(record_id: str | None) -> bytes:
    if record_id and UUID_RE.match(record_id):
        return uuid.UUID(record_id).bytes
    return (record_id or "").encode()


def _schema(source: sqlite3.Connection, target: sqlite3.Connection, table: str) -> list[str]:
    target.execute(source.execute("select sql from sqlite_master where name=?", (table,)).fetchone()[0])
    _indexes(source, target, table)
    return [r[1] for r in source.execute(f"pragma table_info({table})")]


def _indexes(source: sqlite3.Connection, target: sqlite3.Connection, table: str) -> None:
    found = source.execute(
        "select sql from sqlite_master where type='index' and tbl_name=? and sql is not null", (table,)
    )
    for (sql,) in found:
        target.execute(sql)


def measure(registry: Path, out: Path, ideas: set[str]) -> tuple[float, dict[str, float]]:
    """KB a patient of ``registry`` rewritten into ``out`` with ``ideas``; KB a patient by table."""
    out.unlink(missing_ok=True)
    with sqlite3.connect(registry) as source, sqlite3.connect(out) as target:
        target.execute("pragma page_size=8192")
        compactor = Compactor(source, ideas)
        compactor.copy_records(target)
        compactor.copy_audit(target)
        target.commit()
        target.execute("vacuum")
        patients = target.execute("select count(distinct id) from patient_versions").fetchone()[0]
        tables: collections.Counter[str] = collections.Counter()
        sizes = target.execute(
            "select d.name, m.tbl_name, sum(d.pgsize) from dbstat d "
            "left join sqlite_master m on m.name = d.name group by d.name"
        )
        for name, table, size in sizes:
            tables[table or name] += size / patients / 1024
    return sum(tables.values()), dict(tables.most_common(6))


def main() -> None:
    ideas = set(os.environ.get("IDEAS", "").split())
    if len(sys.argv) == 3:
        total, tables = measure(Path(sys.argv[1]), Path(sys.argv[2]), ideas)
        print(f"{' '.join(sorted(ideas)) or 'as stored'}: {total:.1f} KB a patient")
        for table, kb in tables.items():
            print(f"  {kb:5.1f} KB {table}")
        return
    patients = sys.argv[1] if len(sys.argv) > 1 else "400"
    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "demo.db"
        demo = [
            sys.executable,
            "-m",
            "bontrack",
            "--db",
            f"sqlite:///{registry}",
            "demo",
            "--patients",
            patients,
        ]
        subprocess.run([*demo, "--seed", "7"], check=True, capture_output=True)
        print(
            f"demo clinic of {patients} patients (seed 7), each copy VACUUMed; "
            "KB a patient, tables and indexes"
        )
        for combination in COMBINATIONS:
            total, _tables = measure(registry, Path(tmp) / "compact.db", set(combination.split()))
            print(f"  {combination or 'as stored (after VACUUM)':40s} {total:5.1f}")


if __name__ == "__main__":
    main()
