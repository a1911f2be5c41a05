"""The decision engine judges a cycle by the same rule as the report and the worklist
(analytics.response_rules.cycle_judgements): of two baseline scores on one day, the last by
record id is the baseline (the engine once took the higher value, so a cycle could count as a
response on the chart and as none in the report)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any, cast

from bontrack.analytics.response_rules import cycle_judgements
from bontrack.injections.service import cycle_responses
from bontrack.knowledge import load_knowledge
from bontrack.records import Stored

RULE = load_knowledge().files.pathway.cycle_response


def _score(
    record_id: str, day: str, value: float, *, session: str | None = None, week: int | None = None
) -> Any:
    data = {
        "patient_id": "p",
        "instrument": RULE.instrument,
        "date": day,
        "session_id": session,
        "weeks_after_session": week,
        "scoring": {"scores": {RULE.score: value}},
    }
    return Stored[Any](
        id=record_id,
        version=1,
        clinic_id="c",
        withdrawn=False,
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
        recorded_by="test",
        reason=None,
        data=data,
    )


def test_one_days_two_baselines__the_last_by_record_id_as_the_report_reads_them() -> None:
    session = cast(Any, SimpleNamespace(id="s1", data=SimpleNamespace(date=date(2026, 3, 1))))
    # the same day: 4 (record "b", read last) and 8 ("a"); week 6: 3, a 25% fall from 4, 62.5% from 8
    outcomes = [
        _score("b", "2026-02-20", 4),
        _score("a", "2026-02-20", 8),
        _score("c", "2026-04-12", 3, session="s1", week=6),
    ]
    judged = cycle_responses(
        db=cast(Any, None), actor="test", patient_id="p", sessions=[session], outcomes=outcomes
    )
    scores = [("2026-02-20", None, None, 8.0), ("2026-02-20", None, None, 4.0), ("2026-04-12", "s1", 6, 3.0)]
    report_rule = cycle_judgements(
        [("s1", "2026-03-01")],
        scores,
        min_improvement_percent=RULE.min_improvement_percent,
        judged_at_weeks=RULE.judged_at_weeks,
    )
    assert RULE.min_improvement_percent > 25  # (the case is built on a 25% fall not being a response)
    assert judged == {"s1": False} and report_rule == [False]


def test_no_baseline_or_no_follow_up__not_judged() -> None:
    session = cast(Any, SimpleNamespace(id="s1", data=SimpleNamespace(date=date(2026, 3, 1))))
    only_follow_up = [_score("c", "2026-04-12", 3, session="s1", week=6)]
    only_baseline = [_score("b", "2026-02-20", 4)]
    for outcomes in (only_follow_up, only_baseline, []):
        judged = cycle_responses(
            db=cast(Any, None), actor="test", patient_id="p", sessions=[session], outcomes=outcomes
        )
        assert judged == {"s1": None}
