"""Export files, plain or gzip-compressed, read and written as text one line at a time.

A file named ``*.gz`` is written compressed (gzip, level 3: about a sixth of the bytes at a cost
the export's own work hides); a file is read compressed when it starts with gzip's signature,
whatever its name. Both stream: nothing holds more than the compressor's window and one line.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import TextIO

GZIP_MAGIC = b"\x1f\x8b"
LEVEL = 3


def is_gzip(path: Path) -> bool:
    with path.open("rb") as raw:
        return raw.read(2) == GZIP_MAGIC


def open_for_writing(path: Path, *, compressed: bool) -> TextIO:
    """``path`` opened to write text (UTF-8), through gzip when ``compressed``."""
    if compressed:
        return io.TextIOWrapper(gzip.open(path, "wb", compresslevel=LEVEL), encoding="utf-8", newline="\n")
    return path.open("w", encoding="utf-8", newline="\n")


def open_for_reading(path: Path) -> TextIO:
    """``path`` opened to read text (UTF-8) line by line, decompressed if it is gzip; it can be
    rewound (``seek(0)``) to be read again."""
    if is_gzip(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return path.open(encoding="utf-8")
