"""Work made ahead of the reader that will ask for it, in a thread of its own, one piece at a time.

The report's sections ask DuckDB for one score's per-cycle rows after another
(``reports.cycle_rows``), then work on each in pandas. DuckDB works without Python's lock, so
while pandas judges one score's rows DuckDB can already join the next: the report says in
advance which calls it will make, in its order (``Ahead.plan``), and each is started once the one
before it has been asked for (at most one answer made and waiting: a score's rows are millions at
1,000,000 patients). A call asked for that was not planned is made when asked; one planned and
never asked for is made for nothing. Every call runs under its owner's lock (``turn``), whichever
thread makes it, so the answers are those made in turn.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    """A call as ``Ahead.plan`` takes it: ``make(owner)`` makes its answer; equal to another call
    of the same ``key`` (the method and its arguments)."""

    key: tuple[Any, ...]
    make: Callable[[Any], T] = field(compare=False)


class Ahead(Generic[T]):
    """The planned calls of one owner, and the thread that makes them ahead."""

    def __init__(self, owner: object, turn: threading.RLock, name: str) -> None:
        # (not the owner itself: it holds this, and a cycle would keep its DuckDB tables until the
        # collector's next full pass instead of letting them go when the report lets go of it)
        self._owner = weakref.ref(owner)
        self._turn = turn  # held while a call is made (the owner's other work holds it too)
        self._name = name
        self._planned: list[Call[T]] = []  # planned, not yet started
        self._started: dict[Call[T], Future[T]] = {}  # started ahead, not yet asked for
        self._worker: ThreadPoolExecutor | None = None

    def plan(self, calls: Sequence[Call[T]]) -> None:
        """The calls the reader will make, in its order (replaces any plan before)."""
        self._planned = list(calls)
        if not self._started:
            self._start_next()

    def answer(self, call: Call[T]) -> T:
        """The call's answer: made ahead (then the next planned call is started), or made now."""
        started = self._started.pop(call, None)
        if started is not None:
            self._start_next()
            return started.result()
        if call in self._planned:  # (those planned before it were not asked for: never started)
            del self._planned[: self._planned.index(call) + 1]
            made = self._made(call)
            self._start_next()
            return made
        return self._made(call)

    def close(self) -> None:
        """Forget the plan; wait for a call being made."""
        self._planned = []
        if self._worker is not None:
            self._worker.shutdown(wait=True, cancel_futures=True)
            self._worker = None
        self._started = {}

    def _start_next(self) -> None:
        if not self._planned:
            return
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        call = self._planned.pop(0)
        self._started[call] = self._worker.submit(self._made, call)

    def _made(self, call: Call[T]) -> T:
        owner = self._owner()
        if owner is None:
            raise RuntimeError("the calls' owner is gone")
        with self._turn:
            return call.make(owner)
