"""Calls made ahead in a thread of their own (``reports.ahead``), and the report's per-cycle rows
made so (``CycleRows.plan``): the same answers as made when asked, in the reader's order."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from bontrack.knowledge.loader import load_knowledge
from bontrack.reports.ahead import Ahead, Call
from bontrack.reports.content import build_report
from bontrack.reports.cycle_rows import CycleRows
from bontrack.reports.data import cohort_frames
from bontrack.storage.engine import make_engine, transaction
from demo_exports import demo_with_parquet


class Owner:
    """Records which thread made each call, and checks no two run at once under its lock."""

    def __init__(self) -> None:
        self.turn = threading.RLock()
        self.made: list[tuple[str, str]] = []
        self.busy = False
        self.release = threading.Event()
        self.release.set()

    def call(self, name: str, *, fail: bool = False) -> Call[str]:
        def make(owner: Owner) -> str:
            assert not owner.busy, "two calls at once"
            owner.busy = True
            try:
                owner.release.wait(10)
                owner.made.append((name, threading.current_thread().name))
                if fail:
                    raise ValueError(f"{name} failed")
                return f"answer {name}"
            finally:
                owner.busy = False

        return Call(("call", name), make)


def test_planned_calls__made_ahead_one_at_a_time_in_order() -> None:
    owner = Owner()
    ahead: Ahead[str] = Ahead(owner, owner.turn, "test-ahead")
    a, b, c = owner.call("a"), owner.call("b"), owner.call("c")
    ahead.plan([a, b, c])
    assert ahead.answer(owner.call("a")) == "answer a"  # an equal call: the planned one's answer
    assert ahead.answer(b) == "answer b"
    assert ahead.answer(c) == "answer c"
    ahead.close()
    assert [name for name, _ in owner.made] == ["a", "b", "c"]
    assert all(thread.startswith("test-ahead") for _, thread in owner.made)


def test_the_next_call_starts_only_once_the_one_before_is_asked_for() -> None:
    owner = Owner()
    ahead: Ahead[str] = Ahead(owner, owner.turn, "test-ahead")
    ahead.plan([owner.call("a"), owner.call("b")])
    deadline = threading.Event()
    deadline.wait(0.3)  # time enough for the worker to make more than one
    assert [name for name, _ in owner.made] == ["a"]
    assert ahead.answer(owner.call("a")) == "answer a"
    assert ahead.answer(owner.call("b")) == "answer b"
    ahead.close()


def test_unplanned_and_skipped_calls__made_when_asked() -> None:
    owner = Owner()
    ahead: Ahead[str] = Ahead(owner, owner.turn, "test-ahead")
    ahead.plan([owner.call("a"), owner.call("b"), owner.call("c"), owner.call("d")])
    assert ahead.answer(owner.call("x")) == "answer x"  # not planned: made here, now
    assert ahead.answer(owner.call("c")) == "answer c"  # b was never asked for: c made here
    assert ahead.answer(owner.call("d")) == "answer d"  # and d started after it
    ahead.close()
    here = threading.current_thread().name
    made = dict(owner.made)
    assert made["x"] == here and made["c"] == here and made["d"].startswith("test-ahead")
    assert "b" not in made


def test_a_failure_ahead_is_raised_to_the_reader() -> None:
    owner = Owner()
    ahead: Ahead[str] = Ahead(owner, owner.turn, "test-ahead")
    failing = owner.call("a", fail=True)
    ahead.plan([failing, owner.call("b")])
    with pytest.raises(ValueError, match="a failed"):
        ahead.answer(failing)
    assert ahead.answer(owner.call("b")) == "answer b"
    ahead.close()


def test_the_owners_own_work_waits_for_a_call_being_made() -> None:
    owner = Owner()
    owner.release.clear()
    ahead: Ahead[str] = Ahead(owner, owner.turn, "test-ahead")
    ahead.plan([owner.call("a")])
    threading.Event().wait(0.1)
    assert owner.busy
    threading.Timer(0.2, owner.release.set).start()
    with owner.turn:  # what the owner does under its lock
        assert not owner.busy and owner.made == [("a", owner.made[0][1])]
    ahead.close()


def test_the_report_made_ahead_equals_the_report_made_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = demo_with_parquet(tmp_path, patients=60, seed=11)
    kb = load_knowledge()
    today = dt.date(2026, 11, 23)

    def report() -> dict[str, object]:
        with transaction(make_engine(url)) as db:
            frames = cohort_frames(db=db, actor="test", committed=True, coded_ids=True, every_score=False)
        assert frames.cycle_rows is not None
        try:
            return build_report(frames, kb, today=today).to_dict()
        finally:
            frames.cycle_rows.close()

    planned: list[int] = []
    real_plan = CycleRows.plan

    def counted_plan(self: CycleRows, calls: list[Call[object]]) -> None:
        planned.append(len(calls))
        real_plan(self, calls)  # type: ignore[arg-type]

    threads: list[str] = []
    real_rows = CycleRows._rows

    def rows_in(self: CycleRows, *args: object, **kwargs: object) -> object:
        threads.append(threading.current_thread().name)
        return real_rows(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(CycleRows, "plan", counted_plan)
    monkeypatch.setattr(CycleRows, "_rows", rows_in)
    ahead = report()
    assert planned and planned[0] >= 4
    assert sum(t.startswith("bontrack-cycle-rows") for t in threads) >= 3  # made ahead
    # every score's rows the report reads are planned (none made when asked, keeping the reader waiting)
    assert all(t.startswith("bontrack-cycle-rows") for t in threads)
    threads.clear()
    monkeypatch.setattr(CycleRows, "plan", lambda self, calls: None)
    assert report() == ahead
    assert threads and not any(t.startswith("bontrack-cycle-rows") for t in threads)
    assert ahead["trajectories"] and ahead["responders"]


def test_the_owner_is_let_go_when_its_reader_lets_go_of_it() -> None:
    """No cycle through the plan: the owner (the report's DuckDB tables) goes with its last reference."""
    import gc
    import weakref

    owner = Owner()
    ahead: Ahead[str] = Ahead(owner, owner.turn, "test-ahead")
    owner.ahead = ahead  # type: ignore[attr-defined]  # as CycleRows holds its Ahead
    ahead.plan([owner.call("a")])
    assert ahead.answer(owner.call("a")) == "answer a"
    gone = weakref.ref(owner)
    gc.disable()
    try:
        del owner, ahead
        assert gone() is None
    finally:
        gc.enable()
