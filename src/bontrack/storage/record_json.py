"""Each version's content as SQLite stores it: its JSON packed by zstd with a dictionary.

A record's JSON repeats its keys and most of its words in every version (an outcome's scoring, a
session's decision citing the same label sections), and ids are stored as columns as well. Packed
with a dictionary trained on the synthetic clinic's records, the versions' JSON takes about a
fifth of its bytes (a 400-patient demo of another seed than the dictionary's: 18.2 -> 4.1 KB a
patient), the registry 40.1 -> 24.4 KB a patient (migration 0019; issue 18's aim: under 30).

The stored form (SQLite only; PostgreSQL keeps its JSON column, which it compresses itself when
large): a BLOB of one tag byte, then one zstd frame (magicless, content size written, no checksum,
no dictionary id) made with the dictionary the tag names:

* ``0x01``: ``record_json_1.zdict`` (32 KiB; ``benchmarks/record_dictionary.py`` says how it was
  trained). A dictionary once shipped never changes, since every BLOB made with it needs it (its
  SHA-256 is pinned by tests/storage/test_record_json.py); a better one comes as a new tag.

Text is read as the text it is: a registry before migration 0019, a row written by another
program. On SQLite every connection has the SQL function ``bontrack_json(data)``, the JSON text
of either form, so SQL still reads the content (``json_extract(bontrack_json(data), '$.date')``);
``json_of`` and ``text_of`` write that for a column on SQLite and leave it as it is elsewhere.
"""

from __future__ import annotations

import json
import threading
from importlib import resources
from typing import Any

import orjson
import zstandard
from sqlalchemy import JSON, Dialect, Text, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

TAG_1 = 1  # the first byte of a BLOB packed with dictionary 1
DICTIONARY_1 = "record_json_1.zdict"
LEVEL = 3  # zstd's default level: a version packs in ~15 us, unpacks in ~1 us
SQL_FUNCTION = "bontrack_json"


def json_text(value: Any) -> str:
    """A JSON column's stored text: compact (no blank after ',' and ':') and UTF-8 as it is (no
    \\u escapes), the same document in fewer bytes (migration 0012 minified the stored ones)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _dictionary_bytes() -> bytes:
    return (resources.files("bontrack.storage") / DICTIONARY_1).read_bytes()


_DICT = zstandard.ZstdCompressionDict(_dictionary_bytes(), dict_type=zstandard.DICT_TYPE_FULLDICT)
_PARAMS = zstandard.ZstdCompressionParameters.from_level(
    LEVEL,
    format=zstandard.FORMAT_ZSTD1_MAGICLESS,
    write_content_size=True,
    write_checksum=False,
    write_dict_id=False,
)
_local = threading.local()  # a compressor and a decompressor are each for one thread at a time


def _compressor() -> zstandard.ZstdCompressor:
    made = getattr(_local, "compressor", None)
    if made is None:
        made = _local.compressor = zstandard.ZstdCompressor(dict_data=_DICT, compression_params=_PARAMS)
    return made


def _decompressor() -> zstandard.ZstdDecompressor:
    made = getattr(_local, "decompressor", None)
    if made is None:
        made = _local.decompressor = zstandard.ZstdDecompressor(
            dict_data=_DICT, format=zstandard.FORMAT_ZSTD1_MAGICLESS
        )
    return made


def pack(text: str) -> bytes:
    """The stored BLOB of a JSON text (tag 1)."""
    return bytes((TAG_1,)) + _compressor().compress(text.encode("utf-8"))


def unpack(raw: Any) -> Any:
    """The JSON of a stored value: a packed BLOB as its UTF-8 bytes; text (or None, or a value a
    driver decoded itself) as it is. A BLOB bontrack did not write is handed on as its bytes,
    so reading it fails as any stored text that is not JSON does (the record shown as unreadable,
    not lost)."""
    if isinstance(raw, bytes | bytearray | memoryview):
        data = bytes(raw)
        if data[:1] == b"\x01":
            try:
                return _decompressor().decompress(data[1:])
            except zstandard.ZstdError:
                return data
        return data
    return raw


def unpack_text(raw: Any) -> str | None:
    """``unpack`` as text (the SQL function ``bontrack_json``): None for NULL, a number as its text."""
    value = unpack(raw)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def loads(raw: Any) -> Any:
    """A stored value as Python: unpacked, then parsed (orjson, or the json module for what it
    refuses: NaN); a value a driver decoded itself (PostgreSQL's) as it is."""
    value = unpack(raw)
    if not isinstance(value, str | bytes):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return json.loads(value)


def register(dbapi_connection: Any) -> None:
    """``bontrack_json(x)`` on a sqlite3 connection (deterministic: usable in an index)."""
    dbapi_connection.create_function(SQL_FUNCTION, 1, unpack_text, deterministic=True)


class RecordJson(TypeDecorator[Any]):
    """A version's ``data``: JSON; packed on SQLite (see the module), JSON elsewhere."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: Any) -> bytes | None:
            return None if value is None else pack(json_text(value))

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(raw: Any) -> Any:
            return None if raw is None else loads(raw)

        return process


class _StoredJson(FunctionElement[Any]):
    """A version's content column as JSON SQL can read (``json_of``)."""

    type = JSON()
    inherit_cache = True
    name = SQL_FUNCTION


@compiles(_StoredJson)
def _as_is(element: _StoredJson, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_StoredJson, "sqlite")
def _unpacked(element: _StoredJson, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQL_FUNCTION}({compiler.process(element.clauses, **kw)})"


def json_of(column: Any) -> ColumnElement[Any]:
    """The content ``column`` as JSON in SQL (``json_of(Row.data)["lot"].as_string()``): on
    SQLite through ``bontrack_json``, elsewhere the column itself."""
    return _StoredJson(column)


def raw_of(column: Any) -> ColumnElement[Any]:
    """The content ``column`` as the driver hands it over, not decoded (SQLite: text or the
    packed bytes, for ``unpack``/``loads``; PostgreSQL: what psycopg decodes)."""
    return type_coerce(column, Text)
