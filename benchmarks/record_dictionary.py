"""How ``src/bontrack/storage/record_json_1.zdict`` was made, and what a dictionary would pack.

The dictionary bontrack packs each version's JSON with on SQLite (bontrack.storage.record_json,
tag 1) was trained once, on 2026-12-04, with zstandard 0.25.0: a demo registry of 400 patients
of seed 1 (``bontrack demo --patients 400 --seed 1``), every version of every record table (16,465
JSON texts), ``zstandard.train_dictionary(32768, samples, level=3)``. It is synthetic data only.
It is shipped and never made again: every BLOB stored with tag 1 needs exactly its bytes (pinned
by tests/storage/test_record_json.py). A better dictionary would come as a new tag beside it.

Run: ``python benchmarks/record_dictionary.py TRAIN.db MEASURE.db [SIZE]`` trains a dictionary of
SIZE bytes (default 32768) on TRAIN.db's versions (unpacked first) and prints how many bytes
MEASURE.db's versions' JSON would take packed with it, against its text and against the shipped
dictionary; with ``--write FILE`` it writes the dictionary to FILE.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import zstandard

from bontrack.storage import record_json

TABLES = "select name from sqlite_master where type = 'table' and name like '%_versions' order by name"


def documents(path: Path) -> list[bytes]:
    """Every version's JSON text (unpacked), table by table."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out = []
        for (table,) in con.execute(TABLES).fetchall():
            out += [
                (record_json.unpack_text(d) or "").encode()
                for (d,) in con.execute(f"select data from {table}")
            ]
        return out
    finally:
        con.close()


def packed_bytes(texts: list[bytes], dictionary: zstandard.ZstdCompressionDict) -> int:
    params = zstandard.ZstdCompressionParameters.from_level(
        record_json.LEVEL,
        format=zstandard.FORMAT_ZSTD1_MAGICLESS,
        write_content_size=True,
        write_checksum=False,
        write_dict_id=False,
    )
    packer = zstandard.ZstdCompressor(dict_data=dictionary, compression_params=params)
    return sum(1 + len(packer.compress(t)) for t in texts)


def main(argv: list[str]) -> None:
    write = None
    if "--write" in argv:
        at = argv.index("--write")
        write = Path(argv[at + 1])
        argv = argv[:at] + argv[at + 2 :]
    train, measure = Path(argv[0]), Path(argv[1])
    size = int(argv[2]) if len(argv) > 2 else 32_768
    samples = documents(train)
    trained = zstandard.train_dictionary(size, samples, level=record_json.LEVEL)
    if write is not None:
        write.write_bytes(trained.as_bytes())
    texts = documents(measure)
    plain = sum(len(t) for t in texts)
    shipped = zstandard.ZstdCompressionDict(
        (Path(record_json.__file__).parent / record_json.DICTIONARY_1).read_bytes(),
        dict_type=zstandard.DICT_TYPE_FULLDICT,
    )
    print(f"{len(samples):,} versions trained on; {len(texts):,} measured: {plain:,} bytes of JSON text")
    for name, dictionary in (("trained now", trained), ("shipped (tag 1)", shipped)):
        n = packed_bytes(texts, dictionary)
        print(f"  packed with the {name} dictionary: {n:,} bytes ({n / plain:.1%} of the text)")


if __name__ == "__main__":
    main(sys.argv[1:])
