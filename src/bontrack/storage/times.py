"""The clock of stored records: ``recorded_at`` of each version and ``at`` of each audit entry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from bontrack.clock import utcnow as system_utcnow

_clock: ContextVar[Callable[[], datetime] | None] = ContextVar("bontrack_clock", default=None)


def utcnow() -> datetime:
    """The clock used for recorded_at and audit times: naive UTC, microseconds kept."""
    clock = _clock.get()
    return clock() if clock is not None else system_utcnow()


@contextmanager
def recorded_by_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Within the block, records and audit entries take their time from ``clock``.

    Only the synthetic clinic uses it: its records are dated when the story says they happened,
    so a demo is identical for a seed. Real records always carry the machine's time.
    """
    token = _clock.set(clock)
    try:
        yield
    finally:
        _clock.reset(token)
