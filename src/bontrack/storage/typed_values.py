"""A value of a record's JSON typed as the report's columnar read types it (bontrack.reports.columnar):
what the derived tables the report reads (``outcome_scores``, ``session_fields``) store, so that
their columns equal what the report would have typed out of the record itself."""

from __future__ import annotations

import datetime as dt
from typing import Any


def as_number(value: Any) -> float | None:
    """A JSON value as the report's "number" typing reads it (DuckDB's try_cast of its text to a
    double): a number as itself, a text of a number as that number, anything else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_text(value: Any) -> str | None:
    """A JSON scalar's text as the report reads it (json_extract_string): None for null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


def as_date(value: Any) -> dt.date | None:
    """The date (ISO text, as the schemas write it); None when missing or not a date (a derived
    row never stops a write: the record itself was checked by its schema)."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None
