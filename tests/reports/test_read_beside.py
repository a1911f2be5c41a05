"""The report's read from a SQLite file loads the outcomes in a thread of their own while it loads
the other record types (``reports.data._beside``): the same frames, the same audit entries in
the same order, and an error on either side raised once both sides have ended."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from bontrack.audit.service import entries
from bontrack.reports import columnar, columnar_scores, data
from bontrack.reports.data import cohort_frames
from bontrack.storage.engine import make_engine, transaction
from demo_exports import demo_with_parquet

NAMES = ("patients", "sessions", "measurements", "adverse_events", "stock")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return demo_with_parquet(tmp_path_factory.mktemp("beside"), patients=30, seed=21)


def _read(url: str, actor: str, **kwargs: Any) -> data.CohortFrames:
    with transaction(make_engine(url)) as db:
        return cohort_frames(db=db, actor=actor, committed=True, coded_ids=True, **kwargs)


def _reads_audited(url: str, actor: str) -> list[tuple[str, str]]:
    with transaction(make_engine(url)) as db:
        return [(e.record_type or "", e.detail or "") for e in entries(db, actor=actor, action="read")]


@pytest.fixture
def threads_of_loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The thread each load ran in, by the table it made."""
    seen: dict[str, str] = {}
    for module, name in ((data, "load_scores"), (data, "load_current"), (data, "load_sessions")):
        real = getattr(module, name)

        def recorded(*args: Any, __real: Any = real, **kwargs: Any) -> int:
            seen[kwargs["into"]] = threading.current_thread().name
            return int(__real(*args, **kwargs))

        monkeypatch.setattr(module, name, recorded)
    yield seen


def test_the_outcomes_loaded_beside__the_same_frames_and_audit(
    url: str, threads_of_loads: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    beside = _read(url, "beside@example.org", every_score=True)
    assert threads_of_loads["outcomes"].startswith("bontrack-read-outcomes")
    assert threads_of_loads["patients"] == threading.current_thread().name
    threads_of_loads.clear()
    monkeypatch.setattr(data, "_sqlite_file", lambda db: None)  # (the loads one after another)
    in_turn = _read(url, "inturn@example.org", every_score=True)
    assert "bontrack-read-outcomes" not in "".join(threads_of_loads.values())
    for name in NAMES:
        pd.testing.assert_frame_equal(getattr(beside, name), getattr(in_turn, name), obj=name)
    audited = _reads_audited(url, "beside@example.org")
    assert [t for t, _ in audited] == [
        "patient",
        "injection_session",
        "outcome",
        "adverse_event",
        "stock_receipt",
        "vial_discard",
    ]
    assert audited == _reads_audited(url, "inturn@example.org")


def test_an_error_loading_the_outcomes__raised_after_the_other_loads(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ended: list[str] = []
    real = columnar.load_current

    def load_current(*args: Any, **kwargs: Any) -> int:
        n = real(*args, **kwargs)
        ended.append(kwargs["into"])
        return n

    def failing(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("the outcomes could not be read")

    monkeypatch.setattr(data, "load_current", load_current)
    monkeypatch.setattr(data, "load_scores", failing)
    with pytest.raises(RuntimeError, match="the outcomes could not be read"):
        _read(url, "failing@example.org", every_score=False)
    assert ended == ["patients", "events", "receipts", "discards"]
    assert not [t for t in threading.enumerate() if t.name.startswith("bontrack-read-outcomes")]


def test_an_error_in_the_other_loads__raised_once_the_outcomes_are_loaded(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = threading.Event()
    real = columnar_scores.load_scores

    def slow_scores(*args: Any, **kwargs: Any) -> int:
        threading.Event().wait(0.3)
        n = real(*args, **kwargs)
        loaded.set()
        return n

    def failing(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("the patients could not be read")

    monkeypatch.setattr(data, "load_scores", slow_scores)
    monkeypatch.setattr(data, "load_current", failing)
    with pytest.raises(RuntimeError, match="the patients could not be read"):
        _read(url, "failing2@example.org", every_score=False)
    assert loaded.is_set()  # waited for: its cursor was closed after it, not under it
    assert not [t for t in threading.enumerate() if t.name.startswith("bontrack-read-outcomes")]


def test_derived_tables_read_in_batches_of_any_size__the_same_frames(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The derived tables (outcomes' scores, sessions' fields) are read by the driver in batches
    of ``DERIVED_BATCH`` rows: split into batches of 7 rows, or read in one, the same frames."""
    whole = _read(url, "batches@example.org", every_score=True)
    monkeypatch.setattr(columnar, "DERIVED_BATCH", 7)
    monkeypatch.setattr(columnar_scores, "DERIVED_BATCH", 7)
    split = _read(url, "batches@example.org", every_score=True)
    for name in NAMES:
        pd.testing.assert_frame_equal(getattr(split, name), getattr(whole, name))
    assert len(whole.measurements) > 7
