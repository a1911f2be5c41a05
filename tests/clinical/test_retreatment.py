from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import pytest

from bontrack.clinical.decision import check
from bontrack.knowledge import KnowledgeBase
from tests.clinical.conftest import codes, make


def past(
    date: str, product: str = "onabotulinumtoxinA", units: float = 100, **kw: object
) -> dict[str, object]:
    return {"date": date, "product": product, "total_units": units, **kw}


def test_same_product__day_83_blocks(run) -> None:
    decision = run(make(history=[past("2026-09-01")]))  # 83 days before 2026-11-23
    assert decision.decision == "block"
    finding = next(f for f in decision.findings if f.code == "retreatment.too_soon")
    assert "83 days ago" in finding.message
    assert "2026-11-24" in finding.message  # earliest date
    assert finding.source


def test_same_product__the_same_day_says_a_session_was_already_recorded_and_to_correct_it(run) -> None:
    decision = run(make(history=[past("2026-11-23", units=25)]))  # the plan's own date
    finding = next(f for f in decision.findings if f.code == "retreatment.too_soon")
    assert finding.severity == "block" and finding.source
    assert finding.message.startswith(
        "A session of onabotulinumtoxinA was already recorded on the same day (2026-11-23, 25 U)"
    )
    assert "correcting that session, not saved as a new session" in finding.message
    assert "Correct the session of 2026-11-23" in finding.advice
    assert "0 days" not in finding.message and "Reschedule" not in finding.advice


def test_same_product__several_sessions_that_day_are_each_named(run) -> None:
    history = [past("2026-11-23", units=25), past("2026-11-23", units=50), past("2026-08-01")]
    finding = next(f for f in run(make(history=history)).findings if f.code == "retreatment.too_soon")
    assert finding.message.startswith(
        "2 sessions of onabotulinumtoxinA were already recorded on the same day (2026-11-23: 25 U, 50 U)"
    )
    assert "correcting one of those sessions" in finding.message


def test_same_product__day_84_does_not_block(run) -> None:
    decision = run(make(history=[past("2026-08-31")]))
    assert "retreatment.too_soon" not in codes(decision)
    assert decision.decision == "allow"


def test_same_product_by_brand_alias__counts_as_same(run) -> None:
    assert "retreatment.too_soon" in codes(run(make(history=[past("2026-10-01", product="BOTOX")])))


def test_other_product_inside_interval__warns_and_never_blocks(run) -> None:
    decision = run(make(history=[past("2026-10-01", product="dysport", units=500)]))
    assert decision.decision == "warn"
    finding = next(f for f in decision.findings if f.code == "retreatment.other_product")
    assert "not converted" in finding.message


def test_other_product_after_interval__no_warning(run) -> None:
    assert "retreatment.other_product" not in codes(run(make(history=[past("2026-08-31", "dysport", 500)])))


def test_units_are_never_converted__dysport_history_does_not_count_against_botox(run) -> None:
    doc = make(history=[past("2026-10-01", "abobotulinumtoxinA", 1000)])
    doc["plan"]["vial_units"] = 200
    doc["plan"]["diluent_ml"] = 4.0
    doc["plan"]["sites"] = [
        {"muscle": "upper_trapezius", "side": "left", "units": 100},
        {"muscle": "upper_trapezius", "side": "right", "units": 100},
    ]
    decision = run(doc)
    assert "dose.cumulative_window" not in codes(decision)
    assert "dose.session_max" not in codes(decision)


@pytest.mark.parametrize(
    ("prior", "planned", "blocked"),
    [(300, 100, False), (300, 100.5, True), (350, 50, False), (350, 51, True)],
)
def test_cumulative_window__limit_reached_allowed_exceeded_blocks(run, prior, planned, blocked) -> None:
    # Botox: 400 U in any rolling 84 days. A prior dose 90 days ago is outside; one 60 days ago inside.
    # The prior in-window dose is also too soon, so that block is excluded from the assertion.
    doc = make(history=[past("2026-09-24", units=prior)])
    doc["plan"]["vial_units"] = 200
    doc["plan"]["diluent_ml"] = 4.0
    doc["plan"]["sites"] = [{"muscle": "upper_trapezius", "side": "left", "units": planned}]
    assert ("dose.cumulative_window" in codes(run(doc))) is blocked


def test_cumulative_window__dose_84_days_ago_is_outside_the_window(run) -> None:
    doc = make(history=[past("2026-08-31", units=400)])
    assert "dose.cumulative_window" not in codes(run(doc))


def test_stop_and_review__two_non_responses_warn(run) -> None:
    history = [
        past("2026-03-01", units=50, responded=False),
        past("2026-06-01", units=50, responded=False),
    ]
    assert "pathway.stop_and_review" in codes(run(make(history=history)), "warn")


@pytest.mark.parametrize("last", [True, None])
def test_stop_and_review__not_when_the_latest_responded_or_is_unjudged(run, last) -> None:
    history = [
        past("2026-03-01", units=50, responded=False),
        past("2026-06-01", units=50, responded=last),
    ]
    assert "pathway.stop_and_review" not in codes(run(make(history=history)))


# BOTOX label section 2.1: 400 U in a 3-month interval, longer than the pathway's 84 days.
def _botox_after(days: int, prior: float, planned: float) -> dict[str, Any]:
    day = date(2026, 11, 23) - timedelta(days=days)
    doc = make(history=[{"date": day.isoformat(), "product": "botox", "total_units": prior}])
    doc["plan"]["vial_units"] = 200
    doc["plan"]["diluent_ml"] = 4.0
    doc["plan"]["sites"] = [{"muscle": "upper_trapezius", "side": "left", "units": planned}]
    return doc


@pytest.mark.parametrize(
    ("days", "code"),
    [
        (83, "dose.cumulative_window"),  # inside 84 days: blocks
        (84, "dose.cumulative_label_interval"),  # 2026-08-31: inside 3 months, warns
        (91, "dose.cumulative_label_interval"),  # 2026-08-24
        (92, None),  # 2026-08-23: exactly 3 months before, outside
    ],
)
def test_botox_label_3_month_interval(run, days: int, code: str | None) -> None:
    decision = run(_botox_after(days, prior=300, planned=150))
    found = codes(decision) & {"dose.cumulative_window", "dose.cumulative_label_interval"}
    assert found == ({code} if code else set())
    if code == "dose.cumulative_label_interval":
        warn = next(f for f in decision.findings if f.code == code)
        assert warn.severity == "warn"
        assert "450 U, above the label's 400 U in a 3-month interval" in warn.message
        assert "section 2.1" in warn.source


def test_botox_label_interval__within_the_limit_says_nothing(run) -> None:
    assert "dose.cumulative_label_interval" not in codes(run(_botox_after(88, prior=200, planned=150)))


def test_months_before_keeps_the_day_or_takes_the_month_s_last() -> None:
    from bontrack.clinical.retreatment import months_before

    assert months_before(date(2026, 11, 23), 3) == date(2026, 8, 23)
    assert months_before(date(2026, 5, 31), 3) == date(2026, 2, 28)
    assert months_before(date(2024, 5, 31), 3) == date(2024, 2, 29)
    assert months_before(date(2026, 1, 15), 3) == date(2025, 10, 15)
    assert months_before(date(2026, 8, 23), -3) == date(2026, 11, 23)


def _with_review_cycles(kb: KnowledgeBase, n: float) -> KnowledgeBase:
    """The knowledge base with pathway.stop_review_cycles_without_response set to ``n``."""
    pathway = kb.files.pathway
    fact = pathway.stop_review_cycles_without_response.model_copy(update={"value": n})
    files = kb.files.model_copy(
        update={"pathway": pathway.model_copy(update={"stop_review_cycles_without_response": fact})}
    )
    return dataclasses.replace(kb, files=files)


@pytest.mark.parametrize(
    "judged",
    [[], [False], [False, False], [True, False, False], [False, None], [None, False, False], [True]],
)
@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_stop_and_review__the_engine_and_the_worklist_ask_one_rule(kb, judged, n) -> None:
    """The engine's warning and the worklist's flag (``analytics.patient_rules``, the due items)
    are one rule (``clinical.review.stops_for_review``); until session 24 the engine had its own
    copy, which with N = 0 warned a patient never injected ("the last 0 cycles brought no
    response"). N = 0 turns the rule off, everywhere."""
    from bontrack.analytics.patient_rules import stops_for_review as worklist_rule
    from bontrack.clinical.review import stops_for_review

    assert worklist_rule is stops_for_review
    history = [
        past(f"202{4 + i // 4}-{1 + 3 * (i % 4):02d}-01", units=50, responded=r) for i, r in enumerate(judged)
    ]
    warned = "pathway.stop_and_review" in codes(check(make(history=history), _with_review_cycles(kb, n)))
    # Since session 25 an unjudged cycle whose week-12 visit has passed (all of these: 2024-2025,
    # judged on 2026-11-23) is skipped, not a break in the run: the rule is on the judged ones.
    kept = [j for j in judged if j is not None]
    expected = 0 < n <= len(kept) and all(j is False for j in kept[-n:])
    assert warned == stops_for_review(judged, n, [j is None for j in judged]) == expected


@pytest.mark.parametrize("judged", [[], [False, False]])
def test_stop_and_review__none_asked_for_never_warns(kb, judged) -> None:
    """N = 0 cycles without response: the rule is off. The engine's old copy warned a patient
    never injected ("The last 0 cycles brought no response"), where the worklist flagged no one."""
    history = [past(f"2026-0{1 + 3 * i}-01", units=50, responded=r) for i, r in enumerate(judged)]
    decision = check(make(history=history), _with_review_cycles(kb, 0))
    assert "pathway.stop_and_review" not in codes(decision)


def test_stop_and_review__docstring_examples_run() -> None:
    import doctest

    import bontrack.clinical.review as module

    failed, tried = doctest.testmod(module)
    assert tried and not failed


def _cycles(*dated: tuple[str, bool | None]) -> list[dict[str, object]]:
    return [past(day, units=50, responded=r) for day, r in dated]


def test_stop_and_review__a_cycle_whose_visits_were_missed_is_skipped_and_named(run) -> None:
    # SYN-000010 of the QA pass: yes, no, no, then a cycle never judged; on 2026-11-23 its week-12
    # visit (2026-08-23) has passed, so its visits were missed: the two non-responses still count
    history = _cycles(
        ("2025-11-01", True), ("2026-02-01", False), ("2026-05-01", False), ("2026-05-30", None)
    )
    found = next(f for f in run(make(history=history)).findings if f.code == "pathway.stop_and_review")
    assert found.severity == "warn"
    assert found.message == (
        "The last 2 judged cycles brought no 30% fall in pain (the cycle of 2026-05-30 was not judged "
        "by week 12): stop and review before another injection."
    )


def test_stop_and_review__a_cycle_awaiting_its_visits_breaks_the_run(run) -> None:
    # the cycle of 2026-08-30: its week-12 visit (2026-11-22) passed the day before 2026-11-23;
    # the cycle of 2026-09-01 (week 12: 2026-11-24) may yet be judged a response
    missed = _cycles(("2026-02-01", False), ("2026-05-01", False), ("2026-08-30", None))
    awaited = _cycles(("2026-02-01", False), ("2026-05-01", False), ("2026-09-01", None))
    assert "pathway.stop_and_review" in codes(run(make(history=missed)))
    assert "pathway.stop_and_review" not in codes(run(make(history=awaited)))
    judged = _cycles(("2026-02-01", False), ("2026-05-01", False))
    plain = next(f for f in run(make(history=judged)).findings if f.code == "pathway.stop_and_review")
    assert (
        plain.message
        == "The last 2 cycles brought no 30% fall in pain: stop and review before another injection."
    )
