"""JSON Lines: one record version per line, with its type; import is all-or-nothing.

Export, import into an empty registry and export again gives the same lines: every column of
every version is written (sorted keys, no spaces), and import keeps ids, versions, times and
authors. Importing a file twice adds nothing: versions already present with the same content
are skipped, and one present with different content is an error.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TextIO

import orjson
from sqlalchemy.orm import Session

from bontrack.exchange.envelope import Line, TypeName, dumps
from bontrack.exchange.importing import import_lines
from bontrack.exchange.stream import every_version
from bontrack.kinds import KINDS
from bontrack.storage.audit_log import log
from bontrack.storage.bulk import BulkWriter, bulk, bulk_writer_of
from bontrack.storage.record_json import unpack
from bontrack.storage.versioned import snapshot_of

__all__ = ["Line", "TypeName", "dumps", "export_lines", "import_lines", "log_export", "write_export"]


def stream_lines(db: Session, counts: dict[str, int]) -> Iterator[str]:
    """Every version of every record as its line, parents before children, read in batches:
    the caller writes each line out and holds none. ``counts`` is filled per record type.

    The content is read as its stored text and decoded, and the line encoded, by orjson: the same
    line as ``dumps`` gives (sorted keys, no blanks, UTF-8 as it is) in a third of the time. What
    orjson would write differently goes through ``dumps``: content holding NaN or Infinity (orjson
    writes null), and whatever orjson refuses (an integer beyond 64 bits)."""
    for kind in KINDS:
        counts[kind.name] = 0
        for values in every_version(db, kind.row, raw_data=True):
            counts[kind.name] += 1
            yield _line(kind.name, values)


def _line(type_name: str, values: dict[str, Any]) -> str:
    raw = unpack(values["data"])  # (SQLite: packed, storage.record_json)
    if isinstance(raw, bytes) and (b"NaN" in raw or b"Infinity" in raw):
        raw = raw.decode("utf-8", "replace")
    if isinstance(raw, str) and ("NaN" in raw or "Infinity" in raw):
        values["data"] = json.loads(raw)
        return dumps(snapshot_of(type_name, values))
    if isinstance(raw, str | bytes):
        values["data"] = orjson.loads(raw)
    snapshot = snapshot_of(type_name, values)
    try:
        return orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS).decode()
    except (orjson.JSONEncodeError, TypeError):
        return dumps(snapshot)


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
