"""The import's problems: the errors found in line order (the first MAX_REPORTED kept, the rest
counted), the lines that only refer to a refused line's record summed up once against that line,
and a note when the file looks like another version's export."""

from __future__ import annotations

from collections.abc import Callable

import orjson

from bontrack.errors import FieldError, InputError
from bontrack.exchange.import_words import worded

MAX_REPORTED = 20
WHOLE_FILE = "the file"  # an error of the whole file, when the import was not told the file's name
MAX_REFUSED_IDS = 100_000  # ids of refused lines remembered, to leave out errors that follow from them


class Problems:
    """The errors found, in line order per phase; the first MAX_REPORTED are kept, the rest counted."""

    def __init__(self, file: str = "") -> None:
        self.file = file or WHOLE_FILE  # what an error of the whole file names: the file as given
        self.kept: list[tuple[int, int, FieldError]] = []
        self.total = 0
        self.refused: dict[str, int] = {}  # the id of a line that was refused -> its line number
        self.notes: list[FieldError] = []  # said after the errors, whatever their number
        self.types: dict[int, str] = {}  # a reported line's record type, as the line gives it

    def refuse(self, number: int, text: str) -> None:
        """Remember the id of a line refused (if it names one), so that lines referring to that
        record are summed up once instead of each reported as referring to nothing."""
        if len(self.refused) >= MAX_REFUSED_IDS:
            return
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError:
            return
        if not isinstance(raw, dict):
            return
        if self.kept and self.kept[-1][0] == number and isinstance(raw.get("type"), str):
            self.types.setdefault(number, raw["type"])  # (a reported line's type, to name it)
        record_id = raw.get("id")
        if isinstance(record_id, str):
            self.refused.setdefault(record_id, number)

    def add(self, number: int, field: str, message: str, rank: int = 0, type_name: str = "") -> None:
        self.total += 1
        if len(self.kept) < MAX_REPORTED:
            if type_name:
                self.types.setdefault(number, type_name)
            named = field if field.startswith("line ") else f"line {number}: {field}"
            self.kept.append((number, rank, FieldError(named, message)))

    def error(self, type_of: Callable[[int], str | None] = lambda _number: None) -> InputError | None:
        """The errors kept, each in plain words naming its line and record type (``type_of``:
        the type of a line the import took in, as staged), then the notes."""
        if not self.total:
            return None
        shown = [worded(n, self.types.get(n) or type_of(n), e) for n, _r, e in self.kept[:MAX_REPORTED]]
        if self.total > len(shown):
            shown.append(FieldError(self.file, f"... and {self.total - len(shown)} more errors"))
        return InputError(shown + self.notes)

    def note_another_version(self, unknown: int, given: int) -> None:
        """When most lines have fields or record types this bontrack does not know, say once that
        the file may come from another version (each line's own error says what it is)."""
        if unknown * 2 <= given:
            return
        from bontrack.storage.engine import SCHEMA_HEAD

        self.notes.append(
            FieldError(
                self.file,
                f"{unknown:,} of {given:,} lines have fields or record types this "
                "bontrack does not know: the file may come from another version of bontrack "
                f"(this one writes and reads the export of schema {SCHEMA_HEAD})",
            )
        )


def follows(refused: dict[str, int], following: dict[int, int], record_id: str) -> bool:
    """Whether ``record_id`` is the record of a refused line (then counted against that line)."""
    number = refused.get(record_id)
    if number is None:
        return False
    following[number] += 1
    return True


def more_lines(n: int) -> str:
    return f"{n:,} more line{'' if n == 1 else 's'}"


def unknown_shape(errors: list[FieldError]) -> bool:
    """Whether a refused line's errors are of a field or record type this bontrack does not know."""
    return any(e.message.startswith("is not a known field") or e.field.endswith(": type") for e in errors)
