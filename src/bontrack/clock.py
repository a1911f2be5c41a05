"""The one clock: every 'now' and 'today' bontrack reads comes from here."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Naive UTC, microseconds kept, as every stored time."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def today() -> dt.date:
    """The server's date."""
    return dt.date.today()
