"""Work handed to a pool of threads of our own, awaited from the event loop.

As Starlette's ``run_in_threadpool`` does it (the caller's context variables copied to the thread;
a request cancelled while its work runs waits for that work to end before it gives up its turn at
the database), but without anyio's per-call machinery (its capacity limiter, cancel scopes and
run-time variables cost more on the event loop than the hop itself): the chart route's pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def busy_threads(limit: int) -> int:
    """Threads for work that keeps Python busy (a chart read from pages SQLite has cached): two
    per CPU this process may use, at most ``limit``. More only take turns at Python's lock:
    measured in process (benchmarks/chart_cpu.py, 32 clients, 2 CPUs), a chart cost 5.1 ms of
    CPU with 15 threads, 4.6 ms with 4 or 2."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(limit, 2 * (cpus or 1)))


async def in_pool(pool: ThreadPoolExecutor, work: Callable[..., T], *args: object) -> T:
    """``work(*args)`` in one of ``pool``'s threads, in a copy of the caller's context.

    Cancelled before a thread took it up, the work never runs. Cancelled while it runs, the caller
    waits for it to finish (its outcome is not the answer) and is then cancelled: whatever the
    caller holds (a turn at the database) outlives the work that uses it."""
    context = contextvars.copy_context()
    future = pool.submit(context.run, work, *args)
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        if not future.cancelled():  # it had started: wait for it
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(future)
        raise
