"""Record ids as the report's reads hand them to DuckDB: always their text.

On SQLite a UUID id is stored as its 16 bytes (bontrack.storage.record_ids); any other id as the
text it is. The ADBC driver types a column by its first rows, so the read asks SQLite for every id
as bytes (``cast(... as blob)``: a text's are its UTF-8) and for a flag, whether it was stored as
a BLOB (``id_select``); ``with_id_texts`` then writes the BLOBs of 16 bytes as the UUID's canonical
text, vectorised (a table of the 256 bytes' two hexadecimal digits), and the others as the text
they were. The flag, not the length alone, tells them apart: a text id of 16 characters stays
that text. Through the session's own connection (the sqlite3 module hands over ``bytes`` for a
BLOB and ``str`` for a TEXT) ``id_texts_of`` decodes row values one by one.

A read that only joins and orders the ids (the report's coded read: ``reports.data``) may take
them as DuckDB UUIDs instead (``with_id_uuids``): the 16 bytes as they are, no text made. DuckDB
orders UUIDs as their canonical texts, so every order and join is the text's. Only where every id
is a UUID's 16 bytes: any other id raises ``NotUuid`` (its message ``NOT_UUID``, also the error
DuckDB raises for an id picked from the JSON that is not a canonical UUID's text: ``as_uuid``),
and the read is made again with ids as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bontrack.storage import record_json_many
from bontrack.storage.record_ids import id_text
from bontrack.storage.record_json import unpack_text

FLAG = "__uuid"  # the flag column's suffix: 1 where the id was stored as a BLOB (a UUID's 16 bytes)

# each byte's two lowercase hexadecimal digits, as one 16-bit number (the two ASCII codes in memory order)
_HEX = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), np.uint16)
# where the 32 digits' five groups go in the 36 characters of the canonical text: (from, to, at)
_GROUPS = ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24))


def id_select(column: str, dialect: str, name: str | None = None) -> str:
    """The select list's items for an id ``column`` (an SQL expression) read as ``name``: on SQLite
    its bytes and its flag (see the module); elsewhere the column (text) as it is."""
    name = name or column
    if dialect != "sqlite":
        return f"{column} as {name}" if name != column else column
    # (a BLOB's length is checked in Arrow: asking SQLite cost more)
    return f"cast({column} as blob) as {name}, typeof({column}) = 'blob' as {name}{FLAG}"


def uuid_texts(raw: np.ndarray) -> pa.Array:
    """The canonical texts of UUIDs given as rows of 16 bytes (a uint8 array of shape (n, 16))."""
    n = len(raw)
    digits = _HEX[raw].view(np.uint8)  # (n, 32): each byte's two digits, in order
    out = np.full((n, 36), ord("-"), np.uint8)
    for start, end, at in _GROUPS:
        out[:, at : at + end - start] = digits[:, start:end]
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out))


def _texts(values: pa.Array, flags: pa.Array) -> pa.Array:
    blob = pc.fill_null(pc.cast(flags, pa.bool_()), False)
    uuid = pc.and_(blob, pc.equal(pc.binary_length(values), 16))
    n = pc.sum(uuid).as_py() or 0
    if n == len(values) and not values.null_count:  # every id a UUID's 16 bytes (bontrack's own)
        return uuid_texts(_rows_of_16(values, n))
    if pc.any(pc.xor(blob, uuid)).as_py():  # a BLOB of another length: not written by bontrack
        pairs = zip(values.to_pylist(), blob.to_pylist(), strict=True)
        shown = [
            id_text(v) if is_blob else None if v is None else v.decode("utf-8", "replace")
            for v, is_blob in pairs
        ]
        return pa.array(shown, pa.string())  # (shown, not lost)
    texts = pc.cast(pc.if_else(blob, pa.scalar(None, values.type), values), pa.string())
    if not n:
        return texts  # the ids stored as text (their UTF-8 again)
    return pc.replace_with_mask(texts, uuid, uuid_texts(_rows_of_16(pc.filter(values, uuid), n)))


def _rows_of_16(values: pa.Array, n: int) -> np.ndarray:
    """The bytes of ``n`` binary values of 16 bytes each, as a uint8 array of shape (n, 16)."""
    offsets = np.frombuffer(values.buffers()[1], np.int32, len(values) + 1, values.offset * 4)
    return np.frombuffer(values.buffers()[2], np.uint8)[offsets[0] : offsets[-1]].reshape(n, 16)


# the message of an id read as a UUID that is not one (raised here, or by DuckDB: ``as_uuid``)
NOT_UUID = "bontrack: an id read as a UUID is not one"


class NotUuid(ValueError):
    """An id read as a UUID (``with_id_uuids``) was not a UUID's 16 bytes."""

    def __init__(self) -> None:
        super().__init__(NOT_UUID)


def not_uuid(error: BaseException) -> bool:
    """Whether ``error`` is a read of ids as UUIDs meeting one that is not (here or in DuckDB)."""
    return isinstance(error, NotUuid) or NOT_UUID in str(error)


def as_uuid(text: str) -> str:
    """The DuckDB expression of an id given as text (``text``: an SQL expression) as a UUID: NULL
    when missing; an error (``NOT_UUID``) when it is not a UUID's canonical text (lowercase, with
    its hyphens), which as text would not equal the UUID's: the read is then made with text ids."""
    cast = f"try_cast({text} as uuid)"
    return (
        f"(case when {text} is null then null when cast({cast} as varchar) = {text} then {cast} "
        f"else error('{NOT_UUID}') end)"
    )


def with_id_uuids(table: pa.Table) -> pa.Table:
    """``table`` with each id column that has a flag (``id_select``) as UUIDs (Arrow's ``uuid``
    extension type, which DuckDB reads as its UUID), the flags dropped. An empty text (a derived
    table's missing id) is missing; any id that is not a UUID's 16 bytes raises ``NotUuid``."""
    for name in [n for n in table.column_names if n.endswith(FLAG)]:
        column = name.removesuffix(FLAG)
        uuids = _uuids(table.column(column).combine_chunks(), table.column(name).combine_chunks())
        table = table.set_column(table.column_names.index(column), column, uuids).drop_columns([name])
    return table


def _uuids(values: pa.Array, flags: pa.Array) -> pa.Array:
    n = len(values)
    if not n:
        return pa.array([], pa.uuid())
    if values.null_count:
        raise NotUuid()
    lengths = pc.binary_length(values)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        uuid = pa.array(np.zeros(n, bool))  # (no row was a BLOB: the driver typed the column as text)
    else:
        uuid = pc.and_(pc.fill_null(pc.cast(flags, pa.bool_()), False), pc.equal(lengths, 16))
    k = pc.sum(uuid).as_py() or 0
    if k == n:
        storage = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(16), n, [None, pa.py_buffer(_rows_of_16(values, n))]
        )
        return pa.ExtensionArray.from_storage(pa.uuid(), storage)
    mask = uuid.to_numpy(zero_copy_only=False)
    if not pc.all(pc.equal(pc.filter(lengths, pc.invert(uuid)), 0)).as_py():
        raise NotUuid()  # (an empty text is a missing id; any other, not a UUID)
    rows = np.zeros((n, 16), np.uint8)
    if k:  # (the empty texts add no bytes: the values' bytes are the k UUIDs')
        rows[mask] = _rows_of_16(values, k)
    valid = pa.py_buffer(np.packbits(mask, bitorder="little"))
    storage = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [valid, pa.py_buffer(rows)], n - k)
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


def with_id_texts(table: pa.Table) -> pa.Table:
    """``table`` with each id column that has a flag (``id_select``) as its text, the flags dropped."""
    for name in [n for n in table.column_names if n.endswith(FLAG)]:
        column = name.removesuffix(FLAG)
        values = table.column(column).combine_chunks()
        flags = table.column(name).combine_chunks()
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            texts = values  # (no row was a BLOB: the driver typed the column as text)
        else:
            texts = _texts(values, flags)
        table = table.set_column(table.column_names.index(column), column, texts).drop_columns([name])
    return table


def id_texts_of(rows: Sequence[Sequence[Any]], places: Sequence[int]) -> list[tuple[Any, ...]]:
    """Rows from the sqlite3 module with the ids at ``places`` as their text (``id_text``)."""
    out = []
    for row in rows:
        values = list(row)
        for i in places:
            values[i] = id_text(values[i])
        out.append(tuple(values))
    return out


# A version's content: on SQLite packed as a BLOB (bontrack.storage.record_json), or text written
# before migration 0019 or by another program; read as its bytes and a flag, as the ids are
PACKED = "__packed"


def data_select(dialect: str) -> str:
    """The select list's items for a version's content, read as ``data``: on SQLite its bytes
    and whether it is a BLOB (``with_data_text`` makes its JSON text of them); elsewhere its text."""
    if dialect != "sqlite":
        return "cast(data as text) as data"
    return f"cast(data as blob) as data, typeof(data) = 'blob' as data{PACKED}"


def with_data_text(table: pa.Table) -> pa.Table:
    """``table`` with its ``data`` read by ``data_select`` as JSON text (a packed BLOB unpacked,
    a text as it was), the flag dropped."""
    flag = "data" + PACKED
    if flag not in table.column_names:
        return table
    at = table.column_names.index("data")
    column, flags = table.column("data").combine_chunks(), table.column(flag).combine_chunks()
    unpacked = record_json_many.texts(column, flags)  # (a column of packed versions, at once)
    if unpacked is not None:
        return table.set_column(at, "data", unpacked).drop_columns([flag])
    values = column.to_pylist()
    packed = flags.to_pylist()
    texts = [
        None if v is None else unpack_text(v) if p else v.decode("utf-8", "replace")
        for v, p in zip(values, packed, strict=True)
    ]
    return table.set_column(at, "data", pa.array(texts, pa.string())).drop_columns([flag])
