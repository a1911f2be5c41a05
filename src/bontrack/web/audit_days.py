"""The days the audit log is read for (``from`` and ``to`` on /audit and /api/audit), checked.

Days, not a count of days back: a privacy officer asks who read a record between two days (a
complaint, a month's review) and writes the days down. The days are UTC days, as the log's times
are shown, both included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from bontrack.dates import Bound, not_a_date, problem
from bontrack.errors import FieldError, InputError

FIELD_NAMES = {"from": "from", "to": "to"}


def audit_days(
    from_text: str, to_text: str, names: Mapping[str, str] = FIELD_NAMES
) -> tuple[dt.date | None, dt.date | None]:
    """``from`` and ``to`` as days (None: not given), or an InputError naming each wrong one;
    ``names``: how a message names the other field (the API's field, a page's label)."""
    days: dict[str, dt.date | None] = {}
    errors: list[FieldError] = []
    for field, text in (("from", from_text), ("to", to_text)):
        days[field] = None
        if not text:
            continue
        wrong = not_a_date(text) or problem(dt.date.fromisoformat(text), Bound.CALENDAR)
        if wrong is None:
            days[field] = dt.date.fromisoformat(text)
        else:
            errors.append(FieldError(field, wrong))
    first, last = days["from"], days["to"]
    if first is not None and last is not None and first > last:
        errors.append(
            FieldError(
                "from",
                f"{first.isoformat()} is after {names['to']} ({last.isoformat()}); "
                f"allowed: a day on or before {names['to']}",
            )
        )
    if errors:
        raise InputError(errors)
    return first, last


def audit_filters(actor: str, record_id: str) -> tuple[str, str]:
    """The actor and record id asked for, as the log writes them: an e-mail alone, or in another
    case, is the user's (``user:ann@example.org``), and spaces around either are dropped (a
    record id copied from a page: its lowercase form)."""
    who = actor.strip()
    if who.lower().startswith("user:"):
        who = "user:" + who[5:].strip().lower()
    elif "@" in who and ":" not in who:
        who = "user:" + who.lower()
    return who, record_id.strip().lower()
