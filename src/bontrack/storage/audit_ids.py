"""The record ids and versions an audit pack names, as the bytes ``audit_packs.ids`` stores
(migration 0016). Pure: no database here; the view ``audit_log`` and the filing by record
decode the same bytes in SQL (bontrack.migrations.versions.0016_audit_ids_binary).

Two forms, told apart by the first byte:

* binary, when every id is UUID-shaped (lowercase ``8-4-4-4-12`` hex, as bontrack makes them)
  and every version is None or 0..254: the byte ``0x00``, then for each entry its UUID's 16
  bytes and one version byte (``0xFF``: no version). 17 bytes an entry, not ~45 of JSON text.
* otherwise (an imported id of another shape, a denied attempt's id from a URL, a version above
  254, an entry of a version without an id): the JSON text ``[[id, version], ...]`` in UTF-8, as
  the packs stored before 0016; it begins with ``[``, never ``0x00``.

An entry that names no record is a pack whose ids are NULL (never encoded here).
"""

from __future__ import annotations

import json
import re
from typing import Any

BINARY = 0  # the first byte of the binary form
ENTRY = 17  # bytes an entry takes in the binary form: 16 of the UUID, one of the version
NO_VERSION = 255  # the version byte of an entry of no version
MAX_VERSION = 254  # the largest version the binary form holds
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _binary_fits(entries: list[tuple[Any, Any]]) -> bool:
    for record_id, version in entries:
        if not isinstance(record_id, str) or _UUID.fullmatch(record_id) is None:
            return False
        if version is not None and (
            type(version) is not int or not 0 <= version <= MAX_VERSION  # bool is not a version
        ):
            return False
    return True


def encode(entries: list[tuple[Any, Any]]) -> bytes:
    """The stored bytes of a pack's (record id, version) pairs, in order."""
    if not _binary_fits(entries):
        return json.dumps([list(e) for e in entries], separators=(",", ":")).encode()
    out = bytearray([BINARY])
    for record_id, version in entries:
        out += bytes.fromhex(record_id.replace("-", ""))
        out.append(NO_VERSION if version is None else version)
    return bytes(out)


def _uuid_text(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def decode(stored: bytes) -> list[tuple[Any, Any]]:
    """The (record id, version) pairs of a pack's stored bytes, in order."""
    stored = bytes(stored)  # PostgreSQL gives a memoryview
    if not stored:
        raise ValueError("audit pack ids: empty bytes (a pack of no record stores NULL)")
    if stored[0] != BINARY:
        return [(e[0], e[1]) for e in json.loads(stored.decode())]
    if (len(stored) - 1) % ENTRY:
        raise ValueError(f"audit pack ids: {len(stored)} bytes is not 1 + {ENTRY} an entry")
    out: list[tuple[Any, Any]] = []
    for start in range(1, len(stored), ENTRY):
        version = stored[start + 16]
        out.append((_uuid_text(stored[start : start + 16]), None if version == NO_VERSION else version))
    return out


def count(stored: bytes) -> int:
    """How many entries a pack's stored bytes name."""
    stored = bytes(stored)
    if stored[:1] == bytes([BINARY]):
        return (len(stored) - 1) // ENTRY
    return len(json.loads(stored.decode()))


# ---- the same bytes read in SQL (migration 0016 makes the view ``audit_log`` with these) -------
# SQLite: a binary pack's entries are the keys of a JSON array of as many zeros (json_each over
# '[0,0,...]' made from a zeroblob), a JSON pack's its elements; an entry's id is its 16 bytes in
# hex with the dashes put back, its version the place of its byte among the bytes 0..255.
SQLITE_BINARY = "substr({ids}, 1, 1) = X'00'"
SQLITE_EACH = (
    f"json_each(CASE WHEN {SQLITE_BINARY} THEN '[' || rtrim(replace(hex(zeroblob((length({{ids}}) - 1) / "
    f"{ENTRY})), '00', '0,'), ',') || ']' ELSE CAST({{ids}} AS TEXT) END)"
)
SQLITE_KEY = (  # the first 8 characters of an entry's id (audit_record_packs.record_key)
    f"CASE WHEN {SQLITE_BINARY} THEN lower(hex(substr({{ids}}, 2 + {{e}}.key * {ENTRY}, 4))) "
    "ELSE substr(json_extract({e}.value, '$[0]'), 1, 8) END"
)
SQLITE_COUNT = (
    f"CASE WHEN {SQLITE_BINARY} THEN (length({{ids}}) - 1) / {ENTRY} "
    "ELSE json_array_length(CAST({ids} AS TEXT)) END"
)
POSTGRES_COUNT = (
    f"CASE WHEN get_byte({{ids}}, 0) = {BINARY} THEN (length({{ids}}) - 1) / {ENTRY} "
    "ELSE json_array_length(convert_from({ids}, 'UTF8')::json) END"
)


def sql(fragment: str, ids: str = "p.ids", e: str = "e") -> str:
    """A fragment above for the column ``ids`` and the json_each alias ``e``."""
    return fragment.replace("{ids}", ids).replace("{e}", e)


# the writers' filing of packs by record, sorted by key (bontrack.storage.audit_packs)
SQLITE_FILE = (
    "INSERT OR IGNORE INTO audit_record_packs (record_key, pack) "
    f"SELECT {sql(SQLITE_KEY)} AS record_key, p.seq "
    f"FROM audit_packs p, {sql(SQLITE_EACH)} e WHERE p.seq > ? AND p.seq <= ? AND p.ids IS NOT NULL "
    "ORDER BY 1, 2"
)
