"""One exported record version as a JSON line: its envelope, its column values, its snapshot.

Shared by the export (which writes ``dumps(snapshot)``) and the import (which parses a line back
into the same column values, naming the line and field of anything wrong).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from bontrack.errors import FieldError, InputError
from bontrack.kinds import BY_NAME
from bontrack.record_kind import AnyKind as Kind
from bontrack.schemas import NoControls, parse

_ALLOWED = ", ".join(repr(name) for name in BY_NAME)
_ALLOWED = " or ".join(_ALLOWED.rsplit(", ", 1))


def _known_type(name: str) -> str:
    """A record type of the registry (bontrack.kinds), else the error a Literal would give."""
    if name not in BY_NAME:
        raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": _ALLOWED})
    return name


TypeName = Annotated[str, AfterValidator(_known_type)]


class Line(BaseModel):
    """The envelope of one exported record version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: TypeName
    id: Annotated[str, Field(min_length=1, max_length=36), NoControls]
    version: int = Field(ge=1, strict=True)  # a JSON integer: "1" is refused
    clinic_id: Annotated[str, Field(min_length=1, max_length=36), NoControls]
    withdrawn: bool = Field(strict=True)
    recorded_at: dt.datetime
    recorded_by: Annotated[str, Field(min_length=1, max_length=200), NoControls]
    reason: Annotated[str, NoControls] | None
    data: dict[str, Any]


def dumps(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def column_values(kind: Kind, line: Line, data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": line.id,
        "version": line.version,
        "clinic_id": line.clinic_id,
        "withdrawn": line.withdrawn,
        "recorded_at": line.recorded_at.replace(tzinfo=None),
        "recorded_by": line.recorded_by,
        "reason": line.reason,
        "data": data,
    }
    for name in kind.row.index_fields:
        values[name] = data.get(name)
    return values


def _valid_line(text: str) -> Line | None:
    """The envelope of a well-formed line, parsed and checked in one step; None when anything is
    wrong (the caller then parses it again step by step, to name the problem)."""
    try:
        return Line.model_validate_json(text)
    except ValidationError:
        return None


def _json_kind(value: object) -> str:
    """What a JSON value is, in words: "a list", "a number"."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "null"
    return "a number"


def parse_line(number: int, text: str) -> tuple[Kind, dict[str, Any]]:
    """A line's record type and column values; InputError naming ``line N: field`` otherwise."""
    try:
        line = _valid_line(text)
        if line is None:  # find out what is wrong, and say it as people read it
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                message = f"is not JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})"
                raise InputError([FieldError("(line)", message)]) from None
            if not isinstance(raw, dict):
                message = f"each line must be one JSON object (a record); this line is {_json_kind(raw)}"
                raise InputError([FieldError("(line)", message)])
            line = parse(Line, raw, strict=True)
        kind = BY_NAME[line.type]
        data = parse(kind.schema, line.data, prefix="data", strict=True).model_dump(mode="json")
    except InputError as exc:
        raise InputError([FieldError(f"line {number}: {e.field}", e.message) for e in exc.errors]) from None
    return kind, column_values(kind, line, data)
