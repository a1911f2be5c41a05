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

import ctypes
import ctypes.util
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
LEVEL = 3  # zstd's default level: a version packs in ~2.7 us, unpacks in ~1.6 us (a 400-patient demo)
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
            frame = data[1:]
            if _held is not None:
                unpacked = _held.decompress(frame)
                if unpacked is not None:
                    return unpacked
            try:
                return _decompressor().decompress(frame)
            except zstandard.ZstdError:
                return data
        return data
    return raw


class _HeldDecompressor:
    """The system's libzstd called through ``ctypes.PyDLL``, which keeps Python's lock (the GIL)
    during the call. The zstandard module lets it go around every decompression: with the web
    server's 32 threads asking for it back after each one (a version takes ~1 us), a chart read
    cost 20% more CPU (5.4 -> 6.5 ms, benchmarks/chart_cpu.py at 32 clients; +3% kept held, as
    without packing). Used where the library is found (Linux: libzstd1, which apt itself needs);
    else, and for a document of more than ``BUFFER`` bytes, the zstandard module. Both give the same
    bytes (tests/storage/test_record_json.py)."""

    BUFFER = 1 << 16  # a thread's output buffer (a version's JSON is 0.2-3 KB; a larger one: zstandard)

    def __init__(self, name: str) -> None:
        lib = ctypes.PyDLL(name)
        lib.ZSTD_versionNumber.restype = ctypes.c_uint
        if lib.ZSTD_versionNumber() < 10400:  # the magicless format's parameter: 1.4.0
            raise OSError("libzstd older than 1.4.0")
        lib.ZSTD_isError.argtypes = [ctypes.c_size_t]
        lib.ZSTD_isError.restype = ctypes.c_uint
        lib.ZSTD_createDDict.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        lib.ZSTD_createDDict.restype = ctypes.c_void_p
        lib.ZSTD_createDCtx.restype = ctypes.c_void_p
        lib.ZSTD_freeDCtx.argtypes = [ctypes.c_void_p]
        lib.ZSTD_freeDCtx.restype = ctypes.c_size_t
        lib.ZSTD_DCtx_setParameter.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        lib.ZSTD_DCtx_setParameter.restype = ctypes.c_size_t
        lib.ZSTD_DCtx_refDDict.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.ZSTD_DCtx_refDDict.restype = ctypes.c_size_t
        lib.ZSTD_decompressDCtx.argtypes = [
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_char_p,
            ctypes.c_size_t,
        ]
        lib.ZSTD_decompressDCtx.restype = ctypes.c_size_t
        self._lib = lib
        # the same call bound again without Python's lock: many frames at once (record_json_many)
        bulk = ctypes.CDLL(name).ZSTD_decompressDCtx
        bulk.argtypes = [ctypes.c_void_p] * 2 + [ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
        bulk.restype = ctypes.c_size_t
        self._bulk = bulk
        self._dictionary = _dictionary_bytes()  # (kept: the digested dictionary is made from it)
        self._ddict = lib.ZSTD_createDDict(self._dictionary, len(self._dictionary))
        if not self._ddict:
            raise OSError("libzstd refused the dictionary")
        self._local = threading.local()
        self._context()  # a first one now: a library that refuses the format fails here, not later

    def _context(self) -> _Context:
        made: _Context | None = getattr(self._local, "context", None)
        if made is None:
            made = self._local.context = _Context(self._lib, self._ddict, self.BUFFER)
        return made

    def decompress(self, frame: bytes) -> bytes | None:
        """The frame's content; None when the library cannot give it (too large for the buffer,
        or not a frame): the caller then asks the zstandard module."""
        context = self._context()
        n = self._lib.ZSTD_decompressDCtx(context.dctx, context.buffer, self.BUFFER, frame, len(frame))
        if self._lib.ZSTD_isError(n):
            return None
        return ctypes.string_at(context.buffer, n)

    def decompress_into(self, out: int, capacity: int, frames: int, length: int) -> int | None:
        """Frames laid end to end (``length`` bytes at address ``frames``) decompressed into
        ``out`` (``capacity`` bytes) in one call, without Python's lock; the bytes written, or
        None when the library refuses them."""
        n = self._bulk(self._context().dctx, out, capacity, frames, length)
        return None if self._lib.ZSTD_isError(n) else int(n)


class _Context:
    """One thread's decompression context and output buffer (freed with the thread)."""

    FORMAT = 1000  # ZSTD_d_format (ZSTD_d_experimentalParam1)
    MAGICLESS = 1  # ZSTD_f_zstd1_magicless

    def __init__(self, lib: Any, ddict: int, size: int) -> None:
        self._lib = lib
        self.dctx = lib.ZSTD_createDCtx()
        self.buffer = ctypes.create_string_buffer(size)
        if not self.dctx or lib.ZSTD_isError(
            lib.ZSTD_DCtx_setParameter(self.dctx, self.FORMAT, self.MAGICLESS)
        ):
            raise OSError("libzstd refused the magicless format")
        if lib.ZSTD_isError(lib.ZSTD_DCtx_refDDict(self.dctx, ddict)):
            raise OSError("libzstd refused the dictionary")

    def __del__(self) -> None:
        if getattr(self, "dctx", None):
            self._lib.ZSTD_freeDCtx(self.dctx)


def _held_decompressor() -> _HeldDecompressor | None:
    name = ctypes.util.find_library("zstd")
    if name is None:
        return None
    try:
        return _HeldDecompressor(name)
    except (OSError, AttributeError):
        return None


_held = _held_decompressor()


def unpack_frames_into(out: int, capacity: int, frames: int, length: int) -> int | None:
    """``_HeldDecompressor.decompress_into`` (record_json_many); None without libzstd."""
    return None if _held is None else _held.decompress_into(out, capacity, frames, length)


def unpacks_frames() -> bool:
    """Whether ``unpack_frames_into`` can work here (libzstd was found)."""
    return _held is not None


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
