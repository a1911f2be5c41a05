from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from bontrack.analytics.cohort import (
    adverse_event_rates,
    compare_groups,
    mean_change,
    responder_rates,
    serious_events,
)
from bontrack.analytics.intervals import clustered_wilson, wilson_interval
from bontrack.analytics.response_rules import cycle_responded, stop_and_review


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


def test_responder_rates__first_cycles_plain_wilson_all_cycles_clustered_by_hand() -> None:
    r = responder_rates(ROWS).set_index(["weeks", "scope"])
    first = r.loc[(2, "first cycles")]
    # week 2, first cycles: a1 no, b1 yes, c1 unjudged -> 1 of 2; plain Wilson
    assert (first["n"], first["responders"], first["k"]) == (2, 1, 2)
    low, high = proportion_confint(1, 2, method="wilson")
    assert (first["low"], first["high"]) == (pytest.approx(low), pytest.approx(high))
    # week 6, all cycles: a 0 of 1, b 1 of 1, d 1 of 2 -> n 4, p 1/2, k 3
    # y - p m: -1/2, 1/2, 0 -> sum of squares 1/2; v = 3/2 * (1/2) / 16 = 3/64
    # p(1-p)/v = (1/4) / (3/64) = 16/3, more than n: n_eff = min(n, 16/3) = 4, plain Wilson
    every = r.loc[(6, "all cycles")]
    assert (every["n"], every["responders"], every["k"]) == (4, 2, 3)
    assert every["n_eff"] == 4
    low, high = proportion_confint(2, 4, method="wilson")
    assert (every["low"], every["high"]) == (pytest.approx(low), pytest.approx(high))


def test_responder_rates__two_patients_three_cycles_cluster_adjusted_by_hand() -> None:
    # patient p: 2 cycles, both respond; patient q: 1 cycle, no response (at week 6)
    data = rows([("p", "p1", 1, 6, 3.0, True), ("p", "p2", 2, 6, 3.0, True), ("q", "q1", 1, 6, 0.0, False)])
    every = responder_rates(data).set_index("scope").loc["all cycles"]
    # n 3, p 2/3; y - p m: 2 - 4/3 = 2/3, 0 - 2/3; v = 2/1 * (8/9) / 9 = 16/81; n_eff = (2/9)/(16/81) = 9/8
    assert (every["n"], every["k"], every["rate"]) == (3, 2, pytest.approx(2 / 3))
    assert every["n_eff"] == pytest.approx(9 / 8)
    low, high = proportion_confint(0.75 * 1.0, 9 / 8, method="wilson")  # p * n_eff successes of n_eff
    assert (every["low"], every["high"]) == (pytest.approx(low), pytest.approx(high))


def test_mean_change__first_cycles_t_all_cycles_cluster_robust_by_hand() -> None:
    m = mean_change(ROWS).set_index(["weeks", "scope"])
    xs = [0.5, 3.0, 1.0]  # week 6, first cycles a1, b1, d1
    low, high = stats.t.interval(0.95, 2, loc=1.5, scale=stats.sem(xs))
    first = m.loc[(6, "first cycles")]
    assert first["mean"] == pytest.approx(1.5)
    assert (first["low"], first["high"]) == (pytest.approx(low), pytest.approx(high))
    # all cycles at week 6: 0.5 (a), 3.0 (b), 1.0 and 3.5 (d); mean 2; residual sums per patient:
    # a -1.5, b 1.0, d -1.0 + 1.5 = 0.5; se^2 = 3/2 * (2.25 + 1 + 0.25) / 16 = 21/64; t on 2 df
    every = m.loc[(6, "all cycles")]
    half = stats.t.ppf(0.975, 2) * (21 / 64) ** 0.5
    assert (every["n"], every["k"], every["mean"]) == (4, 3, pytest.approx(2.0))
    assert (every["low"], every["high"]) == (pytest.approx(2 - half), pytest.approx(2 + half))


def sessions_of(rows: pd.DataFrame, *more: tuple[str, str, int]) -> pd.DataFrame:
    """Every session of ``rows`` plus ``more`` (sessions without follow-up rows), numbered."""
    seen = rows[["patient_id", "session_id", "cycle"]].drop_duplicates()
    extra = pd.DataFrame(list(more), columns=["patient_id", "session_id", "cycle"])
    both = pd.concat([seen, extra], ignore_index=True)
    # cycle k on 2026-01-01 + 90 (k - 1) days: cycle 3 (2026-06-30) awaits its visits on REVIEW_DAY
    return both.assign(date=pd.Timestamp("2026-01-01") + pd.to_timedelta((both["cycle"] - 1) * 90, unit="D"))


REVIEW_DAY = dt.date(2026, 7, 15)


def review(
    per: pd.DataFrame, n: int, sessions: pd.DataFrame, today: dt.date | None = REVIEW_DAY
) -> list[str]:
    return stop_and_review(per, n, sessions, today=today, judged_at_weeks=[6, 12])


def scores(data: list[tuple[str, str, int, float | None, int, float]]) -> pd.DataFrame:
    """cycle_outcomes-like rows: patient, session, cycle, baseline, weeks, value."""
    return pd.DataFrame(data, columns=["patient_id", "session_id", "cycle", "baseline", "weeks", "value"])


def judged(frame: pd.DataFrame) -> pd.DataFrame:
    return cycle_responded(frame, min_improvement_percent=30, judged_at_weeks=[6, 12])


def test_cycle_responded__week_6_else_week_12_never_week_2_alone_baseline_0_not_judged() -> None:
    frame = scores(
        [
            ("a", "a1", 1, 10.0, 2, 2.0),  # week 2 says yes ...
            ("a", "a1", 1, 10.0, 6, 8.0),  # ... but week 6 decides: 20% lower, no
            ("a", "a1", 1, 10.0, 12, 5.0),  # week 12 is not looked at when week 6 exists
            ("b", "b1", 1, 10.0, 2, 2.0),  # week 2 alone: not judged
            ("c", "c1", 1, 10.0, 2, 9.0),
            ("c", "c1", 1, 10.0, 12, 7.0),  # no week 6: week 12, exactly 30% lower, yes
            ("d", "d1", 1, 0.0, 6, 0.0),  # baseline 0: not judged
            ("e", "e1", 1, None, 6, 1.0),  # no baseline: not judged
        ]
    )
    per = judged(frame).set_index("session_id")
    assert per.loc["a1", "responded"] is False and per.loc["a1", "judged_week"] == 6
    assert per.loc["b1", "responded"] is None
    assert per.loc["c1", "responded"] is True and per.loc["c1", "judged_week"] == 12
    assert per.loc["d1", "responded"] is None and per.loc["e1", "responded"] is None


def test_stop_and_review__the_latest_cycles_all_judged_and_failed() -> None:
    frame = scores(
        [
            ("a", "a1", 1, 8.0, 6, 7.0),
            ("a", "a2", 2, 8.0, 6, 8.0),
            ("b", "b1", 1, 8.0, 6, 2.0),
            ("d", "d1", 1, 8.0, 6, 7.0),
            ("d", "d2", 2, 8.0, 12, 4.0),
        ]
    )
    per = judged(frame)
    assert review(per, 2, sessions_of(frame)) == ["a"]
    assert review(per, 1, sessions_of(frame)) == ["a"]  # d's latest responded
    assert review(per, 3, sessions_of(frame)) == []


def test_stop_and_review__an_unjudged_cycle_awaiting_its_visits_breaks_the_run_a_missed_one_not() -> None:
    frame = scores(
        [
            ("e", "e1", 1, 8.0, 6, 8.0),
            ("e", "e2", 2, 8.0, 6, 8.0),
            ("f", "f1", 1, 8.0, 6, 8.0),
            ("f", "f2", 2, 8.0, 2, 2.0),  # week 2 only: not judged, even though 75% lower
            ("f", "f3", 3, 8.0, 6, 8.0),
        ]
    )
    per = judged(frame)
    # e's third session (2026-06-30) has no follow-up yet, and its visits are still to come on
    # 2026-07-15: it may yet be a response. f's middle cycle (2026-04-01) was not judged and its
    # week-12 visit has passed: skipped (until session 25 it broke f's run, and f was not flagged)
    assert review(per, 2, sessions_of(frame, ("e", "e3", 3))) == ["f"]
    assert review(per, 2, sessions_of(frame)) == ["e", "f"]
    assert review(per, 1, sessions_of(frame, ("e", "e3", 3))) == ["f"]
    assert review(per.iloc[:0], 1, sessions_of(frame)) == []
    # e's third cycle is missed once its week-12 visit (2026-09-22) has passed
    assert review(per, 2, sessions_of(frame, ("e", "e3", 3)), dt.date(2026, 9, 22)) == ["f"]
    assert review(per, 2, sessions_of(frame, ("e", "e3", 3)), dt.date(2026, 9, 23)) == ["e", "f"]
    assert review(per, 2, sessions_of(frame, ("e", "e3", 3)), None) == ["e", "f"]


def test_adverse_event_rates__sessions_with_an_event_clustered_by_patient() -> None:
    ev = pd.DataFrame(
        {
            "session_id": ["s1", "s1", "s2", "s3", "old"],
            "event": ["dysphagia", "headache", "dysphagia", "neck pain", "headache"],
        }
    )
    sessions = pd.DataFrame({"patient_id": list("aabbcdefgh"), "session_id": [f"s{i}" for i in range(1, 11)]})
    r = adverse_event_rates(ev, sessions).set_index("event")
    assert r.loc["dysphagia", "cycles"] == 2 and r.loc["any", "cycles"] == 3
    assert r.loc["headache", "cycles"] == 1  # the event of a session not rated is left out
    # any: a 2 of 2, b 1 of 2, others 0 of 1; n 10, p 0.3, k 8
    # y - p m: 1.4, 0.4, -0.3 x 6 -> 1.96 + 0.16 + 0.54 = 2.66; v = 8/7 * 2.66 / 100
    v = 8 / 7 * 2.66 / 100
    assert r.loc["any", "k"] == 8 and r.loc["any", "n_eff"] == pytest.approx(min(10, 0.21 / v))


def test_compare_groups__welch_matches_scipy_and_words_say_not_randomized() -> None:
    a, b = [3.0, 4.0, 2.5, 5.0, 3.5], [1.0, 2.0, 1.5, 0.5]
    c = compare_groups(a, b, "with PT", "without PT")
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(0.95)
    assert (c.difference_low, c.difference_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert c.hedges_g > 0 and c.g_low < c.hedges_g < c.g_high
    assert "not randomized" in c.plain_words()
    # g's interval is the difference's on the pooled-SD scale: the two agree about zero
    assert c.g_low / c.difference_low == pytest.approx(c.hedges_g / c.difference)


def test_compare_groups__words_follow_the_interval_better() -> None:
    c = compare_groups([3.0, 4.0, 2.5, 5.0, 3.5], [1.0, 2.0, 1.5, 0.5], "with PT", "without PT")
    assert c.difference_low > 0
    assert c.plain_words().startswith("With PT improved more than without PT, by 2.35 points (95% CI ")


def test_compare_groups__words_follow_the_interval_worse() -> None:
    c = compare_groups([1.0, 2.0, 1.5, 0.5], [3.0, 4.0, 2.5, 5.0, 3.5], "with PT", "without PT")
    assert c.difference_high < 0
    assert c.plain_words().startswith("With PT improved less than without PT, by 2.35 points (95% CI ")


def test_compare_groups__words_follow_the_interval_no_clear_difference() -> None:
    c = compare_groups([1.0, 3.0, 2.0, 4.0], [2.0, 3.5, 1.5, 2.5], "with PT", "without PT")
    assert c.difference_low < 0 < c.difference_high and c.g_low < 0 < c.g_high
    words = c.plain_words()
    assert words.startswith(
        "No clear difference between with PT and without PT: the difference in improvement is +0.12 points"
    )
    assert "better" not in words and "worse" not in words


def test_compare_groups__too_small_groups_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        compare_groups([1.0], [1.0, 2.0], "x", "y")


def test_adverse_event_rates__spellings_of_one_event_are_one_row() -> None:
    # the QA example: "Dysphagia", "DYSPHAGIA " and "dysphagia" were three rows
    ev = pd.DataFrame(
        {
            "session_id": ["s1", "s2", "s3", "s3", "s4", "s5"],
            "event": [
                "Dysphagia",
                "DYSPHAGIA ",
                "dysphagia",
                "Dysphagia\u00a0",
                "difficulty  Swallowing",
                "Rash",
            ],
        }
    )
    sessions = pd.DataFrame({"patient_id": list("abcdefghij"), "session_id": [f"s{i}" for i in range(1, 11)]})
    r = adverse_event_rates(ev, sessions)
    # unknown to the rule: each row named by its form written most often ("Dysphagia": twice)
    assert r["event"].tolist() == ["difficulty Swallowing", "Dysphagia", "Rash", "any"]
    dysphagia = r.set_index("event").loc["Dysphagia"]
    assert dysphagia["cycles"] == 3  # s1, s2 and s3 (twice in s3: once a session)
    assert dysphagia["rate"] == pytest.approx(0.3)
    # a known reaction's other name is the reaction itself, shown by its own name
    known = {"dysphagia": "dysphagia", "difficulty swallowing": "dysphagia"}
    r = adverse_event_rates(ev, sessions, known).set_index("event")
    assert r.index.tolist() == ["dysphagia", "Rash", "any"]
    assert r.loc["dysphagia", "cycles"] == 4 and r.loc["any", "cycles"] == 5


def test_serious_events__per_product_events_patients_and_sessions_clustered() -> None:
    sessions = pd.DataFrame(
        {
            "patient_id": [*"aabbc", *"defghijklmn"],
            "session_id": [f"s{i}" for i in range(1, 17)],
            "product": ["x"] * 5 + ["y"] * 11,
        }
    )
    ev = pd.DataFrame(
        {
            "session_id": ["s1", "s1", "s2", "s3", "s9", "s6", "old"],
            "serious": [True, True, True, False, True, False, True],
        }
    )
    r = serious_events(ev, sessions).set_index("product")
    x, y = r.loc["x"], r.loc["y"]
    # x: 3 serious reports, on s1 (twice) and s2, both patient a's; 5 sessions, 3 patients
    assert (x["events"], x["patients"], x["n_patients"], x["cycles"], x["n_cycles"], x["k"]) == (
        3,
        1,
        3,
        2,
        5,
        3,
    )
    # the same clustered Wilson as the event rows: a 2 of 2, b 0 of 2, c 0 of 1
    c = clustered_wilson([2, 0, 0], [2, 2, 1])
    assert (x["rate"], x["low"], x["high"], x["n_eff"]) == (c.estimate, c.low, c.high, c.n_eff)
    assert (y["events"], y["patients"], y["n_patients"], y["cycles"], y["n_cycles"]) == (1, 1, 11, 1, 11)
    none = serious_events(ev.assign(serious=False), sessions).set_index("product")
    assert none["events"].tolist() == [0, 0] and none["rate"].tolist() == [0.0, 0.0]
    assert none.loc["y", "high"] == pytest.approx(wilson_interval(0, 11).high)
