"""The chart's worker threads (``web.worker_threads.in_pool``): the answer, the caller's context,
and what a cancelled request does with work that has or has not started."""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bontrack.storage.engine import POOL_SIZE
from bontrack.web.api import patients as patients_api
from bontrack.web.worker_threads import busy_threads, in_pool

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")
WAIT = 10.0  # seconds a test waits for a thread before it fails (never reached when all is well)


def test_the_answer_and_the_callers_context_in_a_thread_of_the_pool() -> None:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-pool") as pool:

        async def ask() -> tuple[str, str, int]:
            WHO.set("clinician")
            return await in_pool(pool, lambda n: (WHO.get(), threading.current_thread().name, n * 2), 21)

        who, thread, answer = asyncio.run(ask())
    assert (who, answer) == ("clinician", 42)
    assert thread.startswith("test-pool")


def test_an_error_in_the_work_reaches_the_caller() -> None:
    def fails() -> None:
        raise LookupError("no such patient")

    with ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(LookupError, match="no such patient"):
        asyncio.run(in_pool(pool, fails))


def test_cancelled_while_it_runs_the_caller_waits_for_the_work_to_end() -> None:
    started, release = threading.Event(), threading.Event()
    ended: list[str] = []

    def work() -> str:
        started.set()
        release.wait(WAIT)
        ended.append("work")
        return "answer"

    async def scenario() -> tuple[bool, list[str]]:
        task = asyncio.create_task(in_pool(pool, work))
        while not started.is_set():
            await asyncio.sleep(0.001)
        task.cancel()
        await asyncio.sleep(0.05)
        still_waiting = not task.done()  # the work runs: the caller must not have let go yet
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        return still_waiting, list(ended)

    with ThreadPoolExecutor(max_workers=1) as pool:
        still_waiting, ended_when_cancelled = asyncio.run(scenario())
    assert still_waiting
    assert ended_when_cancelled == ["work"]  # cancelled only after the work had ended


def test_cancelled_before_a_thread_took_it_the_work_never_runs() -> None:
    busy, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def occupy() -> None:
        busy.set()
        release.wait(WAIT)

    async def scenario() -> bool:
        first = asyncio.create_task(in_pool(pool, occupy))  # the pool's only thread
        while not busy.is_set():
            await asyncio.sleep(0.001)
        queued = asyncio.create_task(in_pool(pool, ran.append, "queued"))
        await asyncio.sleep(0.01)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        done_at_once = not first.done()  # the queued one did not wait for the busy thread
        release.set()
        await first
        return done_at_once

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert asyncio.run(scenario())
    assert ran == []


def test_busy_threads__two_per_usable_cpu_within_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert busy_threads(15) == 4
    assert busy_threads(3) == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert busy_threads(15) == 15
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert busy_threads(15) == 2
    assert busy_threads(0) == 1


def test_the_chart_pool__as_many_threads_as_busy_threads_gives() -> None:
    assert patients_api._CHART_THREADS._max_workers == busy_threads(POOL_SIZE)
