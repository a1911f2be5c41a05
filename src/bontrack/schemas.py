"""Building blocks shared by the domain schemas."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from bontrack.dates import Bound, not_a_date, not_a_time, problem
from bontrack.errors import FieldError, InputError, field_errors


def stored(info: ValidationInfo) -> bool:
    """Whether a stored record is being read back (``records.to_read``): input rules such as the
    date bounds are not applied again, so whatever is stored can be shown."""
    return isinstance(info.context, dict) and bool(info.context.get("stored"))


# C0 control characters but tab and line feed, and DEL: nothing a person types, and what an
# import or a script can carry (a NUL PostgreSQL refuses to store, a BEL, an escape sequence).
# A carriage return is taken only in a CR LF line break (a browser's textarea sends those), kept
# as a line feed. Bidirectional controls (U+202E) are text in right-to-left scripts: the pages
# isolate what was entered (``<bdi>``) instead.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _no_controls(value: str, info: ValidationInfo) -> str:
    """Refuse a control character (stored text read back is taken as it is: it must show)."""
    found = _CONTROL.search(value)
    if found is None or stored(info):
        return value
    if "\r\n" in value:
        value = value.replace("\r\n", "\n")
        found = _CONTROL.search(value)
        if found is None:
            return value
    raise PydanticCustomError(
        "control_character",
        "must not contain an invisible control character (found {code} at character {at}); allowed: "
        "letters, digits, punctuation, spaces, tabs and line breaks",
        {"code": f"U+{ord(found.group()):04X}", "at": found.start() + 1},
    )


NoControls = AfterValidator(_no_controls)
"""The control-character check of every text field of an input schema, written after the field's
own constraints (``Annotated[str, Field(max_length=64), NoControls]``: pydantic's length check of
text first, with its own words). tests/test_input_text.py finds a text field without it."""
FreeText = Annotated[str, NoControls]
"""Text of any length (a field with no other constraint)."""
Text = Annotated[str, Field(min_length=1, max_length=2000), NoControls]
Id = Annotated[str, Field(min_length=1, max_length=36), NoControls]
# Numbers are strict: JSON gives a number, never text ("25") or true/false. A page's form posts
# text, and is parsed with ``parse(..., strict=False)``, which lets "25" stand for 25 there.
Weeks = Annotated[float, Field(ge=0, le=5200, allow_inf_nan=False, strict=True)]
Flag = Annotated[bool, Field(strict=True)]

# --- dates: text YYYY-MM-DD only, inside the bounds of bontrack.dates -------------------------

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")
LOCAL_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$"


def _date_text(value: object) -> object:
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("date_type", "must be a date written YYYY-MM-DD, without a time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        if (wrong := not_a_date(value)) is not None:  # 2026-02-30: pydantic's words name no field
            raise PydanticCustomError("date_value", wrong)
        return value
    if isinstance(value, str):
        raise PydanticCustomError("date_format", "must be a date written YYYY-MM-DD")
    raise PydanticCustomError("date_type", "must be a date written as text YYYY-MM-DD, not a number")


def _time_text(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_TIME.fullmatch(value):
        if (wrong := not_a_time(value)) is not None:
            raise PydanticCustomError("datetime_value", wrong)
        return value
    if isinstance(value, str):
        raise PydanticCustomError(
            "datetime_format", "must be a date and time written YYYY-MM-DDTHH:MM, optionally with seconds"
        )
    raise PydanticCustomError(
        "datetime_type", "must be a date and time written as text YYYY-MM-DDTHH:MM, not a number"
    )


def _bounded(bound: Bound) -> Callable[[dt.date, ValidationInfo], dt.date]:
    def check(value: dt.date, info: ValidationInfo) -> dt.date:
        if not stored(info):
            wrong = problem(value, bound)
            if wrong is not None:
                raise PydanticCustomError("date_range", wrong)
        return value

    return check


def _local_time(value: dt.datetime, info: ValidationInfo) -> dt.datetime:
    """A clinic's clock time: an offset, if given, is dropped (as ``bontrack check`` does)."""
    local = value.replace(tzinfo=None) if value.tzinfo is not None else value
    if not stored(info):
        wrong = problem(local.date(), Bound.EVENT)
        if wrong is not None:
            raise PydanticCustomError("date_range", wrong)
    return local


TOO_MANY = "too_many_items"  # an error of at_most: errors.field_errors does not quote the list back


def at_most(limit: int, what: str) -> AfterValidator:
    """A list of at most ``limit`` items ("can have at most 100 medicines; 10,000 were given").
    A stored record is read back as it is, however long its list (every stored value renders)."""

    def check(value: list[object], info: ValidationInfo) -> list[object]:
        if not stored(info) and len(value) > limit:
            raise PydanticCustomError(
                TOO_MANY,
                "can have at most {limit} {what}; {given} were given",
                {"limit": limit, "what": what, "given": f"{len(value):,}"},
            )
        return value

    return AfterValidator(check)


BirthDate = Annotated[dt.date, BeforeValidator(_date_text), AfterValidator(_bounded(Bound.BIRTH))]
"""A birth date: from 1900-01-01, not after today."""
EventDate = Annotated[dt.date, BeforeValidator(_date_text), AfterValidator(_bounded(Bound.EVENT))]
"""The date of something that has happened: from 1900-01-01, not after tomorrow."""
PlannedDate = Annotated[dt.date, BeforeValidator(_date_text), AfterValidator(_bounded(Bound.PLANNED))]
"""The date of something planned: from 1900-01-01, at most two years ahead."""
CalendarDate = Annotated[dt.date, BeforeValidator(_date_text), AfterValidator(_bounded(Bound.CALENDAR))]
"""Any other date (a lot's expiry): 1900-01-01 .. 2100-12-31."""
LocalTime = Annotated[
    dt.datetime,
    BeforeValidator(_time_text),
    AfterValidator(_local_time),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": LOCAL_TIME_PATTERN,
            "description": "the clinic's local clock time, YYYY-MM-DDTHH:MM[:SS]; an offset sent "
            "with it is accepted and dropped, and it is sent back without one",
        }
    ),
]
"""A clinic's clock time of something that has happened (reconstitution, administration)."""


def _utc_text(value: dt.datetime) -> str:
    if value.tzinfo is None:  # naive UTC, as every stored time: its text with Z (no copy made)
        return value.isoformat() + "Z"
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


UtcTime = Annotated[
    dt.datetime,
    PlainSerializer(_utc_text, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A moment the server recorded (naive UTC inside), sent as RFC 3339 with its offset (Z)."""


class Input(BaseModel):
    """Base of every Create schema: unknown fields are errors, text is trimmed."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


M = TypeVar("M", bound=BaseModel)


def parse(schema: type[M], data: object, *, prefix: str = "", strict: bool = False) -> M:
    """Validate raw input into a schema; InputError names every bad field.

    ``strict=True`` for parsed JSON (an import file): numbers must be numbers, as in the API.
    Otherwise the input is text from a form or a command line, where "25" stands for 25. Dates
    are text YYYY-MM-DD and inside their bounds either way.
    """
    try:
        # strict=None: each field's own setting (numbers strict, dates as text)
        return schema.model_validate(data, strict=None if strict else False)
    except ValidationError as exc:
        raise InputError(field_errors(exc, prefix=prefix, known=list(schema.model_fields))) from None


def muscle_side_errors(field: str, muscle: str, side: str) -> list[FieldError]:
    """Errors for a muscle or side the knowledge base does not know (knowledge.sites)."""
    from bontrack.knowledge import load_knowledge
    from bontrack.knowledge.sites import muscle_side_errors as site_errors

    return site_errors(load_knowledge(), field, muscle, side)
