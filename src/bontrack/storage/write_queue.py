"""The writers' queue (SQLite).

SQLite has one write lock and does not queue for it: a writer that finds it taken sleeps in
its busy handler (1, 2, 5 ... then 100 ms at a time) and looks again, while the writer that
just committed, or any other that happens to look in between, takes it at once. Under steady
writes from two processes (``bontrack serve``'s workers, each one transaction at a time) the
sleeper kept missing it: measured, one process waited up to 2.4 s (p99 1.6 s) while the other
waited under 1 ms, and a saturated outcome load had a write give up after busy_timeout's 5 s
("database is locked"). So every unit of work on a SQLite file takes a turn first: an exclusive
flock(2) on a file beside the database, which the kernel hands to a waiting writer as soon as
the holder's transaction has ended (the transaction commits before the turn is given up), so
writers of all processes take turns and a waiting one waits for the writers ahead of it, not
for luck. Within a process, threads queue alike (each turn is its own open file).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

try:
    import fcntl
except ImportError:  # not on Windows: SQLite's own busy handler alone
    fcntl = None  # type: ignore[assignment]

WRITE_QUEUE = "bontrack_write_queue"  # (the queue's file, seconds a writer waits in it)
QUEUE_SUFFIX = "-queue"  # beside the database file, as SQLite's own -wal and -shm


class _Handoff:
    """A turn waited for by a helper thread, given up by the caller if it takes too long."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.state = "waiting"  # -> "taken" (the caller's) or "abandoned" (let go when taken)
        self.done = threading.Event()


_turns = threading.local()  # the queues this thread holds a turn in (a nested unit does not queue)


@contextmanager
def write_turn(engine: Engine) -> Iterator[None]:
    """This thread's turn among the writers of a SQLite file, for the block (see above); waits at
    most the engine's ``lock_wait_ms``, then goes on without it (SQLite's busy handler decides).
    Nothing for PostgreSQL (row locks), a read-only engine, or a unit nested in one holding it."""
    queue = engine.get_execution_options().get(WRITE_QUEUE)
    held: set[str] = _turns.__dict__.setdefault("held", set())
    if queue is None or fcntl is None or queue[0] in held:
        yield
        return
    path, seconds = queue
    fd = _open_queue(path)
    if fd is None:  # (a read-only folder: no queue, as before)
        yield
        return
    try:
        if not _take_turn(fd, seconds):
            os.close(fd)
            fd = -1
            yield
            return
        held.add(path)
        try:
            yield
        finally:
            held.discard(path)
    finally:
        if fd >= 0:
            os.close(fd)  # gives the turn up (the block's transaction has ended)


def _open_queue(path: str) -> int | None:
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):
        try:
            return os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError:
            continue
    return None


def _take_turn(fd: int, seconds: float) -> bool:
    """Wait for the turn (an exclusive flock on ``fd``) at most ``seconds``; True when taken."""
    assert fcntl is not None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    # flock(2) cannot time out: a helper thread waits in the kernel's queue on a duplicate of
    # the file (the same lock), and hands the turn over, or lets it go if the caller gave up
    handoff = _Handoff()
    waiter_fd = os.dup(fd)

    def wait() -> None:
        try:
            fcntl.flock(waiter_fd, fcntl.LOCK_EX)
            with handoff.guard:
                if handoff.state == "abandoned":
                    fcntl.flock(waiter_fd, fcntl.LOCK_UN)
                else:
                    handoff.state = "taken"
        except OSError:
            pass
        finally:
            os.close(waiter_fd)
            handoff.done.set()

    threading.Thread(target=wait, name="bontrack-write-turn", daemon=True).start()
    handoff.done.wait(seconds)
    with handoff.guard:
        if handoff.state == "taken":
            return True
        handoff.state = "abandoned"
        return False
