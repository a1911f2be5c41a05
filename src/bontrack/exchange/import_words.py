"""A refused import's errors in plain words: the line, its record type in words, the field in
words, what is allowed and what was given ("line 12, therapy visit: Attended must be yes or no
(true or false); 'maybe' was given").

The checks name a field by its path in the line (``data.attended``) with pydantic's or our own
wording; this is said to a person instead, with ``bontrack.plain_words`` (which the web's form
errors use too). A field is named by its path in words (the records have no labels of their own
outside the web's forms); the value given is the one the check quoted, already cut short.
"""

from __future__ import annotations

import re

from bontrack.errors import FieldError
from bontrack.kinds import BY_NAME
from bontrack.plain_words import given, joined, path_words, wording

# the envelope's fields, and content fields whose path in words reads badly
LABELS = {
    "type": "Record type",
    "id": "Id",
    "clinic_id": "Clinic id",
    "recorded_at": "Recorded at",
    "recorded_by": "Recorded by",
}
_LINE = re.compile(r"^line \d+: ")
_ALLOWED = re.compile(r"; allowed: ([\w, ]+)$")
_SHAPE = re.compile(r"^Input should be a valid (string|list|dictionary|array)")
_SHAPES = {"string": "text", "list": "a list", "array": "a list", "dictionary": "a JSON object ({...})"}
SHORT = 40  # characters of a value given quoted back
_FIELD_OF = "is not a field of this form"


def _short(value: str) -> str:
    """A value given, as quoted, cut to SHORT characters (a long text's quote closed again)."""
    if len(value) <= SHORT and not value.endswith("…"):
        return value
    cut = value[:SHORT].removesuffix("…") + "…"
    return cut + value[0] if value[0] in "'\"" else cut


def where(number: int, type_name: str | None) -> str:
    """The line and its record type in words: "line 12, therapy visit"."""
    kind = BY_NAME.get(type_name) if type_name else None
    return f"line {number}" + (f", {kind.label}" if kind is not None else "")


def worded(number: int, type_name: str | None, error: FieldError) -> FieldError:
    """One error of a line as a person reads it, named by its line and record type."""
    field = _LINE.sub("", error.field)
    message = error.message
    if field in ("(line)", "") or field.startswith("line "):  # the whole line's: already in words
        if message.startswith("is "):
            message = f"this line {message}"
        return FieldError(where(number, type_name), message)
    path = field.removeprefix("data.")
    name = path_words(path, LABELS)
    if message.startswith("no ") and message.endswith(" in the file or the registry"):
        return FieldError(where(number, type_name), f"{name} names {message}")  # a reference
    if message.startswith(("version ", f"{type_name} ")):  # a version missing, or other content
        return FieldError(where(number, type_name), message)
    words = wording(message)
    if words == "must be yes or no":
        words += " (true or false)"
    elif words == "was not filled in as expected":  # a JSON value of another kind
        shape = _SHAPE.match(message)
        words = f"must be {_SHAPES[shape[1]]}" if shape else words
    elif words == _FIELD_OF:
        kind = BY_NAME.get(type_name) if type_name and field.startswith("data.") else None
        words = f"is not a field of {kind.words if kind is not None else 'an exported line'}"
        allowed = _ALLOWED.search(message)
        if allowed:
            words += f"; allowed: {allowed[1].replace('_', ' ')}"
    value = given(message)
    if value is not None and value.strip("'\"") not in words:
        words += f"; {_short(value)} was given"
    return FieldError(where(number, type_name), joined(name, words))
