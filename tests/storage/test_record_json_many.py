"""A column of packed versions unpacked at once (bontrack.storage.record_json_many, the report's
read): the same texts as unpacking each version (``record_json.unpack_text``), and None, for the
version-by-version way, wherever it cannot be sure."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest
import zstandard

from bontrack.reports.stored_ids import PACKED, with_data_text
from bontrack.storage import record_json, record_json_many
from bontrack.storage.record_json import json_text, pack, unpack_text
from demo_exports import bontrack

pytestmark = pytest.mark.skipif(not record_json_many.AVAILABLE, reason="libzstd is not on this machine")

# contents whose sizes take each width of the frame header's size field: 1 byte (single
# segment, under 256), 2 bytes (256 to 65,791, stored less 256) and 4 bytes
TEXTS = ["", "{}", "a" * 255, "b" * 256, "c" * 257, "é漢🙂" * 300, "d" * 65_791, "e" * 65_792, "f" * 300_000]


def _column(blobs: list[bytes | None]) -> tuple[pa.Array, pa.Array]:
    return pa.array(blobs, pa.binary()), pa.array([1] * len(blobs), pa.int64())


def test_texts_of_every_size_come_back_as_unpacked_one_by_one() -> None:
    blobs = [pack(t) for t in TEXTS]
    values, flags = _column(blobs)
    got = record_json_many.texts(values, flags)
    assert got is not None and got.type == pa.string()
    assert got.to_pylist() == TEXTS == [unpack_text(b) for b in blobs]
    # a slice of the column (its offsets do not start at 0)
    assert record_json_many.texts(values.slice(2, 5), flags.slice(2, 5)).to_pylist() == TEXTS[2:7]  # type: ignore[union-attr]
    assert record_json_many.texts(*_column([])).to_pylist() == []  # type: ignore[union-attr]


def _packed_without_size(text: str) -> bytes:
    params = zstandard.ZstdCompressionParameters.from_level(
        3, format=zstandard.FORMAT_ZSTD1_MAGICLESS, write_content_size=False, write_dict_id=False
    )
    frame = zstandard.ZstdCompressor(dict_data=record_json._DICT, compression_params=params).compress(
        text.encode()
    )
    return bytes((record_json.TAG_1,)) + frame


@pytest.mark.parametrize(
    "odd",
    [
        None,  # NULL
        b"\x02abc",  # another tag
        b"\x01",  # a tag and nothing
        b"\x01not a frame",  # tag 1, not a frame
        pack("x")[:-2],  # a frame cut short
        bytes((record_json.TAG_1,)) + record_json._compressor().compress(b"\xff\xfe"),  # not UTF-8
    ],
)
def test_a_column_with_anything_else_is_left_to_the_one_by_one_way(odd: bytes | None) -> None:
    values, flags = _column([pack("{}"), odd, pack('{"a":1}')])
    assert record_json_many.texts(values, flags) is None


def test_a_frame_without_its_size_or_a_text_row_is_left_to_the_one_by_one_way() -> None:
    assert unpack_text(_packed_without_size('{"a":1}')) == '{"a":1}'
    assert record_json_many.texts(*_column([pack("{}"), _packed_without_size('{"a":1}')])) is None
    values = pa.array([pack("{}"), b'{"a":1}'], pa.binary())
    assert record_json_many.texts(values, pa.array([1, 0], pa.int64())) is None


def test_with_data_text_reads_every_stored_version_of_a_demo_the_same_both_ways(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    assert bontrack("--db", f"sqlite:///{path}", "demo", "--patients", "20", "--seed", "4").exit_code == 0
    with sqlite3.connect(path) as con:
        tables = [r[0] for r in con.execute("select name from sqlite_master where name like '%_versions'")]
        blobs = [r[0] for t in tables for r in con.execute(f"select data from {t}")]
    assert len(blobs) > 500 and all(isinstance(b, bytes) for b in blobs)
    one_by_one = [unpack_text(b) for b in blobs]
    table = pa.table({"data": pa.array(blobs, pa.binary()), "data" + PACKED: pa.array([1] * len(blobs))})
    assert with_data_text(table).column("data").to_pylist() == one_by_one
    # with a text row and a NULL among them: the one-by-one way, the same answer for the rest
    mixed = pa.table(
        {
            "data": pa.array([*blobs[:5], json_text({"a": 1}).encode(), None], pa.binary()),
            "data" + PACKED: pa.array([1] * 5 + [0, 0]),
        }
    )
    assert with_data_text(mixed).column("data").to_pylist() == [*one_by_one[:5], '{"a":1}', None]
