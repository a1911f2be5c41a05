"""The calendar bounds of every date bontrack accepts, in one place, with their reasons.

Every face (the API, the pages, ``bontrack import``) validates through the schemas, and the
schemas take their bounds from here. The bounds catch typing errors and hostile input (year
0001 from an empty year field, 9999 from a placeholder, a Unix time read as a date); they make
no clinical judgement. What is already stored is never refused on reading: pages and reports
clamp what they cannot draw (see ``clamp``) instead of failing.

- **Earliest, 1900-01-01:** no patient alive today was born earlier, and no record of this
  treatment (botulinum toxin for neck pain, from the 1990s) is older.
- **Birth date:** not after today.
- **Something that has happened** (a session, an outcome measurement, a therapy visit, an
  adverse event, a screening, an examination, the onset of pain): not after today plus one day,
  because a clinic east of the server's time zone is already on tomorrow's date.
- **Something planned** (a therapy plan's start, a scheduled visit): at most two years ahead;
  nothing in the pathway is planned further out.
- **Any other calendar date** (a vial lot's expiry) and dates in queries (``?date=``): within
  1900-01-01 .. 2100-12-31, so that date arithmetic (a look-ahead, a chart's axis) stays inside
  what the calendar types can hold.
- **A patient's clinical date** (``before_birth``): not before the patient's birth date. The one
  bound that needs the stored patient, so the services and the import apply it, not the schemas;
  and so a correction of the birth date may not move it after a current record's date
  (``born_after``).
"""

from __future__ import annotations

import datetime as dt
from enum import Enum

from bontrack import clock

EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2100, 12, 31)
EVENT_SLACK_DAYS = 1
PLANNING_YEARS = 2


class Bound(Enum):
    """Which rule a date follows."""

    BIRTH = "birth"
    EVENT = "event"
    PLANNED = "planned"
    CALENDAR = "calendar"


def today() -> dt.date:
    """The server's date (bounds are about typing errors, not about a clinic's exact midnight)."""
    return clock.today()


def _years_ahead(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def latest(bound: Bound, on: dt.date | None = None) -> dt.date:
    """The latest date allowed under ``bound`` on the day ``on`` (default: today)."""
    day = on or today()
    if bound is Bound.BIRTH:
        return day
    if bound is Bound.EVENT:
        return day + dt.timedelta(days=EVENT_SLACK_DAYS)
    if bound is Bound.PLANNED:
        return _years_ahead(day, PLANNING_YEARS)
    return LATEST


_ALLOWED = {
    Bound.BIRTH: "not after today",
    Bound.EVENT: "not after tomorrow",
    Bound.PLANNED: f"at most {PLANNING_YEARS} years ahead",
    Bound.CALENDAR: "not after",
}


def problem(value: dt.date, bound: Bound, on: dt.date | None = None) -> str | None:
    """What is wrong with ``value`` under ``bound`` (None when it is allowed), as people read it."""
    last = latest(bound, on)
    if EARLIEST <= value <= last:
        return None
    rule = _ALLOWED[bound]
    upper = f"{rule} {last.isoformat()}" if bound is Bound.CALENDAR else f"{rule} ({last.isoformat()})"
    return f"{value.isoformat()} is out of range; allowed: from {EARLIEST.isoformat()}, {upper}"


def not_a_date(text: str) -> str | None:
    """What is wrong with text written YYYY-MM-DD that is no day of the calendar (2026-02-30),
    in the words every face uses; None when it is one."""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return f"{text} is not a date; use YYYY-MM-DD"
    return None


def not_a_time(text: str) -> str | None:
    """``not_a_date`` for a date and time written YYYY-MM-DDTHH:MM (2026-02-30T08:30, 08:75)."""
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return f"{text} is not a date and time; use YYYY-MM-DDTHH:MM"
    return None


def before_birth(day: dt.date, born: dt.date) -> str | None:
    """What is wrong with a patient's clinical date (an examination, a measurement, an injection,
    the onset of pain or of an adverse event) that falls before the patient's birth (None: it does
    not), as people read it after the field's name. Such a date cannot be true: a year of birth
    typed for the visit's, or the wrong patient. The one rule for every record a patient's date
    is on (their services, ``bontrack check``, ``bontrack import``); it quotes the date given,
    never the stored birth date (an error does not show stored patient data)."""
    if day >= born:
        return None
    return f"{day.isoformat()} is before the patient's birth date"


def born_after(born: dt.date, earliest: str, day: dt.date, others: int = 0) -> str | None:
    """What is wrong with a birth date (a patient's, as corrected) later than the date of the
    patient's earliest current record (``earliest``, in words with its date ``day``; ``others``:
    how many more are dated before the birth date), as people read it after the field's name; None
    when it is not later. ``before_birth`` seen from the patient's side: a correction of the birth
    date may not leave a record dated before it (a year typed wrong, or the wrong patient)."""
    if born <= day:
        return None
    more = f" and {others} later record{'' if others == 1 else 's'}" if others else ""
    first = "those records" if others else "that record"
    return (
        f"{born.isoformat()} is after the date of the patient's {earliest}{more}; allowed: on or "
        f"before {day.isoformat()}, or correct or withdraw {first} first"
    )


def clamp(value: dt.date) -> dt.date:
    """A stored date brought inside 1900-01-01 .. 2100-12-31, for drawing and date arithmetic."""
    return min(max(value, EARLIEST), LATEST)


def in_range(value: dt.date) -> bool:
    """Whether a stored date lies inside 1900-01-01 .. 2100-12-31 (else pages flag it)."""
    return EARLIEST <= value <= LATEST


def clamp_text(value: str) -> str:
    """``clamp`` for a stored ISO date (YYYY-MM-DD compares as text)."""
    return min(max(value, EARLIEST.isoformat()), LATEST.isoformat())


def shift(day: dt.date, days: int) -> dt.date:
    """``day`` moved by ``days``, stopping at the calendar's ends (a stored year 9999 plus 12
    weeks is the last day the calendar holds, not an OverflowError)."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max if days > 0 else dt.date.min
