"""The benchmarks' registries copied in SQL (benchmarks/report_scale.py, benchmarks/million.py) are
real registries: each copy's records refer to each other as the original's do, so the report
finds every copy's cycles (with ids stored as 16 bytes, a copy's id made one way in a column and
another in the JSON would leave the copies' sessions without their patients: the report would
judge the original's cycles only)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest

from bontrack.knowledge.loader import load_knowledge
from bontrack.reports.content import build_report
from bontrack.reports.data import cohort_frames
from bontrack.storage.engine import make_engine, transaction
from demo_exports import bontrack, copy_of_registry

# the summary's counts of patients, sessions, visits and cycles (not its settings: weeks, windows)
COUNTS = (
    "patients",
    "patients_treated",
    "sessions",
    "overrides",
    "with_physical_therapy",
    "outcome_visits_due",
    "outcome_visits_not_yet_due",
    "outcome_visits_with_pain_score",
    "sessions_with_followup",
    "sessions_rated_for_adverse_events",
    "sessions_too_recent_for_adverse_events",
    "cycles_judged_for_response",
    "cycles_responded",
)
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _summary(path: Path) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{path}")
    with transaction(engine) as db:
        frames = cohort_frames(db=db, actor="test", committed=True, coded_ids=True, every_score=False)
    engine.dispose()
    report = build_report(frames, load_knowledge(), today=dt.date(2026, 11, 23)).to_dict()
    return {
        "summary": report["summary"],
        "stop_and_review": len(report["stop_and_review"]),
        "lasting": report["lasting_relief"],
    }


@pytest.mark.parametrize("script", ["report_scale", "million"])
def test_copies__the_report_counts_every_copy(
    script: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    assert bontrack("--db", url, "demo", "--patients", "30", "--seed", "4").exit_code == 0
    path = copy_of_registry(tmp_path, tmp_path / "copied.db")  # (a file no engine holds open)
    one = _summary(path)
    assert one["summary"]["cycles_judged_for_response"] > 0 and one["stop_and_review"] > 0
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    module = __import__(script)
    if script == "million":
        module.replicate(path, 2, log=False)
    else:
        module.replicate(path, 2)
    sys.modules.pop(script, None)
    three = _summary(path)
    for key in COUNTS:
        assert three["summary"][key] == 3 * one["summary"][key], key
    assert three["stop_and_review"] == 3 * one["stop_and_review"]
    assert {k: 3 * v for k, v in one["lasting"].items()} == three["lasting"]
