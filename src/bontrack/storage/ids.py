"""Record ids: random UUIDs, or pre-drawn ones inside ``ids_from`` (the synthetic clinic)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_id_source: ContextVar[Callable[[], str] | None] = ContextVar("bontrack_id_source", default=None)


def new_id() -> str:
    """A new record id: a random UUID, or the next one from ``ids_from`` inside that block."""
    source = _id_source.get()
    return source() if source is not None else str(uuid.uuid4())


@contextmanager
def ids_from(source: Callable[[], str]) -> Iterator[None]:
    """Within the block, new records take their ids from ``source`` (the synthetic clinic's
    pre-drawn ids, so a demo is identical for a seed)."""
    token = _id_source.set(source)
    try:
        yield
    finally:
        _id_source.reset(token)
