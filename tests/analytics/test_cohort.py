from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from bontrack.analytics.cohort import (
    adverse_event_rates,
    compare_groups,
    cycle_responded,
    mean_change,
    responder_rates,
    stop_and_review,
)


def rows(data: list[tuple[str, str, int, int, float, object]]) -> pd.DataFrame:
    return pd.DataFrame(
        data, columns=["patient_id", "session_id", "cycle", "weeks", "improvement", "responder_moderate"]
    )


ROWS = rows(
    [
        ("a", "a1", 1, 2, 1.0, False),
        ("a", "a1", 1, 6, 0.5, False),
        ("a", "a2", 2, 2, 0.0, False),
        ("b", "b1", 1, 2, 4.0, True),
        ("b", "b1", 1, 6, 3.0, True),
        ("c", "c1", 1, 2, 2.0, None),
        ("d", "d1", 1, 6, 1.0, False),
        ("d", "d2", 2, 6, 3.5, True),
    ]
)


def test_responder_rates__wilson_per_visit() -> None:
    r = responder_rates(ROWS).set_index("weeks")
    assert (r.loc[2, "n"], r.loc[2, "responders"]) == (3, 1)  # c is unjudged
    low, high = proportion_confint(1, 3, method="wilson")
    assert (r.loc[2, "low"], r.loc[2, "high"]) == (pytest.approx(low), pytest.approx(high))


def test_mean_change__t_interval_per_visit() -> None:
    m = mean_change(ROWS).set_index("weeks")
    xs = [0.5, 3.0, 1.0, 3.5]
    low, high = stats.t.interval(0.95, 3, loc=sum(xs) / 4, scale=stats.sem(xs))
    assert m.loc[6, "mean"] == pytest.approx(2.0)
    assert (m.loc[6, "low"], m.loc[6, "high"]) == (pytest.approx(low), pytest.approx(high))


def sessions_of(rows: pd.DataFrame, *more: tuple[str, str, int]) -> pd.DataFrame:
    """Every session of ``rows`` plus ``more`` (sessions without follow-up rows), numbered."""
    seen = rows[["patient_id", "session_id", "cycle"]].drop_duplicates()
    extra = pd.DataFrame(list(more), columns=["patient_id", "session_id", "cycle"])
    return pd.concat([seen, extra], ignore_index=True)


def test_stop_and_review__the_latest_cycles_all_judged_and_failed() -> None:
    assert stop_and_review(ROWS, 2, sessions_of(ROWS)) == ["a"]
    assert stop_and_review(ROWS, 1, sessions_of(ROWS)) == ["a"]  # d's latest responded, c's unjudged
    assert stop_and_review(ROWS, 3, sessions_of(ROWS)) == []
    per = cycle_responded(ROWS).set_index("session_id")["responded"]
    assert per["b1"] is True and pd.isna(per["c1"])


def test_stop_and_review__an_unjudged_cycle_breaks_the_run() -> None:
    failed = rows(
        [
            ("e", "e1", 1, 2, 0.0, False),
            ("e", "e2", 2, 2, 0.0, False),
            ("f", "f1", 1, 2, 0.0, False),
            ("f", "f2", 2, 2, 0.0, None),  # no baseline: not judged
            ("f", "f3", 3, 2, 0.0, False),
        ]
    )
    # e's third session has no follow-up yet; f's middle cycle was not judged
    assert stop_and_review(failed, 2, sessions_of(failed, ("e", "e3", 3))) == []
    assert stop_and_review(failed, 2, sessions_of(failed)) == ["e"]
    assert stop_and_review(failed, 1, sessions_of(failed, ("e", "e3", 3))) == ["f"]
    assert stop_and_review(failed.iloc[:0], 1, sessions_of(failed)) == []


def test_adverse_event_rates__cycles_with_an_event() -> None:
    ev = pd.DataFrame(
        {"session_id": ["s1", "s1", "s2", "s3"], "event": ["dysphagia", "headache", "dysphagia", "neck pain"]}
    )
    r = adverse_event_rates(ev, n_cycles=10).set_index("event")
    assert r.loc["dysphagia", "cycles"] == 2 and r.loc["any", "cycles"] == 3
    low, high = proportion_confint(3, 10, method="wilson")
    assert (r.loc["any", "low"], r.loc["any", "high"]) == (pytest.approx(low), pytest.approx(high))


def test_compare_groups__welch_matches_scipy_and_words_say_not_randomized() -> None:
    a, b = [3.0, 4.0, 2.5, 5.0, 3.5], [1.0, 2.0, 1.5, 0.5]
    c = compare_groups(a, b, "with PT", "without PT")
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(0.95)
    assert (c.difference_low, c.difference_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert c.hedges_g > 0 and c.g_low < c.hedges_g < c.g_high
    assert "not randomized" in c.plain_words()
    with pytest.raises(ValueError, match="at least 2"):
        compare_groups([1.0], b, "x", "y")
