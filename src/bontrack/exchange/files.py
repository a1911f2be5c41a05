"""Export files, plain or gzip-compressed, read and written as text one line at a time.

A file named ``*.gz`` is written compressed (gzip, level 3: about a sixth of the bytes at a cost
the export's own work hides); a file is read compressed when it starts with gzip's signature,
whatever its name. Both stream: nothing holds more than the compressor's window and one line.
"""

from __future__ import annotations

import gzip
import io
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
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


@contextmanager
def staged_files(folder: Path) -> Iterator[Callable[[str], Path]]:
    """Files written into ``folder`` all or nothing: ``stage(name)`` gives the path to write as
    ``name.partial``; when the block ends, every file takes its name. If anything fails, the
    partial files and the folders made for them are removed again, and files that were there
    before are left as they were: an export is never half there, whatever stopped it (a full
    disk, a file that cannot be written), and an older export is not half replaced.
    """
    made = list(itertools.takewhile(lambda p: not p.exists(), [folder, *folder.parents]))
    partials: dict[Path, Path] = {}

    def stage(name: str) -> Path:
        partials[folder / name] = folder / f"{name}.partial"
        return partials[folder / name]

    try:
        folder.mkdir(parents=True, exist_ok=True)
        yield stage
        for final, partial in partials.items():
            partial.replace(final)
    except BaseException:
        for partial in partials.values():
            with suppress(OSError):  # not written yet, or something else of that name (not ours)
                partial.unlink(missing_ok=True)
        for made_folder in made:  # the innermost first
            with suppress(OSError):
                made_folder.rmdir()
        raise
