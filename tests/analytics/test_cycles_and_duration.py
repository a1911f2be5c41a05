from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bontrack.analytics.cycles import ResponseRule, cycle_outcomes, sort_rows
from bontrack.analytics.duration import _grouped, benefit_durations, kaplan_meier, turnbull

NPRS = ResponseRule("nprs", "pain_intensity", "lower", mcid=2, moderate_percent=30, substantial_percent=50)
T = pd.Timestamp


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    sessions = pd.DataFrame(
        {
            "patient_id": ["a", "a", "b"],
            "session_id": ["a1", "a2", "b1"],
            "date": [T("2026-01-05"), T("2026-04-06"), T("2026-02-02")],
        }
    )
    rows = [
        ("a", None, None, "2025-12-20", 8.0),  # older baseline: superseded
        ("a", None, None, "2026-01-05", 7.0),  # baseline of a1 (same day counts)
        ("a", "a1", 2, "2026-01-19", 4.9),  # exactly 30% better
        ("a", "a1", 6, "2026-02-16", 3.0),
        ("a", "a1", 12, "2026-03-30", 6.0),  # back within the MCID: benefit lost
        ("a", "a2", 2, "2026-04-20", 5.0),  # baseline of a2 = 6.0 (last value before 2026-04-06)
        ("b", "b1", 2, "2026-02-16", 2.0),  # b has no baseline
    ]
    m = pd.DataFrame(rows, columns=["patient_id", "session_id", "weeks_after_session", "date", "value"])
    m["date"] = pd.to_datetime(m["date"])
    m["instrument"], m["score"] = "nprs", "pain_intensity"
    return sessions, m


def test_cycle_outcomes__baseline_change_and_flags() -> None:
    out = cycle_outcomes(*frames(), NPRS).set_index(["session_id", "weeks"])
    assert out.loc[("a1", 2), "baseline"] == 7.0
    assert out.loc[("a1", 2), "improvement_percent"] == pytest.approx(30.0)
    assert bool(out.loc[("a1", 2), "responder_moderate"]) is True
    assert bool(out.loc[("a1", 2), "responder_substantial"]) is False
    assert bool(out.loc[("a1", 6), "mcid_met"]) is True
    assert out.loc[("a2", 2), "baseline"] == 6.0 and out.loc[("a2", 2), "cycle"] == 2
    assert pd.isna(out.loc[("b1", 2), "responder_moderate"]) and pd.isna(out.loc[("b1", 2), "baseline"])


def test_cycle_outcomes__higher_is_better_flips_the_sign() -> None:
    s, m = frames()
    rule = ResponseRule("nprs", "pain_intensity", "higher", None, 30, 50)
    out = cycle_outcomes(s, m, rule).set_index(["session_id", "weeks"])
    assert out.loc[("a1", 6), "improvement"] == -4.0
    assert out["mcid_met"].isna().all()


def test_benefit_durations__loss_reinjection_and_censoring() -> None:
    rows = cycle_outcomes(*frames(), NPRS)
    d = benefit_durations(rows, mcid=2).set_index("session_id")
    assert (d.loc["a1", "days"], bool(d.loc["a1", "lost"])) == (84, True)  # lost at week 12 (03-30)
    assert "a2" not in d.index  # 1 point better only: never had benefit, nothing to lose
    assert "b1" not in d.index  # no baseline, no information


def test_benefit_durations__reinjection_before_loss_censors_at_the_last_visit_with_benefit() -> None:
    s = pd.DataFrame(
        {"patient_id": ["p", "p"], "session_id": ["s1", "s2"], "date": [T("2026-01-01"), T("2026-03-01")]}
    )
    m = pd.DataFrame(
        [
            ("p", None, None, T("2026-01-01"), 8.0),
            ("p", "s1", 2, T("2026-01-15"), 3.0),  # day 14: benefit
            ("p", None, None, T("2026-03-01"), 8.0),  # re-injected on day 59 before any loss
            ("p", "s2", 6, T("2026-04-12"), 2.0),
        ],
        columns=["patient_id", "session_id", "weeks_after_session", "date", "value"],
    )
    m["instrument"], m["score"] = "nprs", "pain_intensity"
    d = benefit_durations(cycle_outcomes(s, m, NPRS), mcid=2).set_index("session_id")
    # a scheduled re-injection is not a loss: censored at day 14, the last visit showing benefit
    assert (d.loc["s1", "days"], bool(d.loc["s1", "lost"])) == (14, False)
    assert (d.loc["s2", "days"], bool(d.loc["s2", "lost"])) == (42, False)  # still better when last seen


def test_benefit_durations__a_follow_up_after_the_next_injection_is_no_loss_of_this_cycle() -> None:
    s = pd.DataFrame(
        {"patient_id": ["p", "p"], "session_id": ["s1", "s2"], "date": [T("2026-01-01"), T("2026-02-01")]}
    )
    m = pd.DataFrame(
        [
            ("p", None, None, T("2026-01-01"), 8.0),
            ("p", "s1", 2, T("2026-01-15"), 3.0),  # day 14: benefit
            ("p", "s1", 6, T("2026-02-12"), 8.0),  # after the next injection (day 31): not a loss
        ],
        columns=["patient_id", "session_id", "weeks_after_session", "date", "value"],
    )
    m["instrument"], m["score"] = "nprs", "pain_intensity"
    d = benefit_durations(cycle_outcomes(s, m, NPRS), mcid=2).set_index("session_id")
    assert (d.loc["s1", "days"], bool(d.loc["s1", "lost"]), d.loc["s1", "benefit_days"]) == (14, False, 14)


def test_benefit_durations__loss_interval_from_last_benefit_visit_to_the_loss_visit() -> None:
    d = benefit_durations(cycle_outcomes(*frames(), NPRS), mcid=2).set_index("session_id")
    # a1: benefit on day 14 and 42, lost on day 84 -> the loss lies in (42, 84]
    assert (d.loc["a1", "benefit_days"], d.loc["a1", "loss_days"]) == (42, 84.0)


def test_turnbull__two_innermost_intervals_by_hand_and_as_lifelines() -> None:
    # losses in (14, 42] twice, (42, 84] once, (14, 84] once; censored after 42 twice.
    # Innermost intervals [15, 42] and [43, 84] (integer days); likelihood p1^2 p2 (p1 + p2) p2^2
    # with p1 + p2 = 1 is p1^2 p2^3: p1 = 2/5, p2 = 3/5. S(t) reaches 0.5 inside [43, 84].
    lower = [15, 15, 43, 15, 43, 43]
    upper = [42, 42, 84, 84, math.inf, math.inf]
    t = turnbull(lower, upper)
    assert t.intervals == [(15, 42), (43, 84)]
    assert t.mass == [pytest.approx(0.4, abs=1e-6), pytest.approx(0.6, abs=1e-6)]
    assert (t.median_low, t.median_high) == (43, 84)
    assert t.survival_after(42) == pytest.approx(0.6, abs=1e-6)
    from lifelines import KaplanMeierFitter

    with np.errstate(all="ignore"):
        lf = KaplanMeierFitter().fit_interval_censoring(np.array(lower, float), np.array(upper, float))
    assert lf.survival_function_.loc[43.0].iloc[0] == pytest.approx(0.6, abs=1e-4)


def test_turnbull__never_half_lost_is_not_reached() -> None:
    # one loss in [15, 42], two still better after 42: S stays at 2/3 as far as anyone was seen
    t = turnbull([15, 43, 43], [42, math.inf, math.inf])
    assert (t.median_low, t.median_high) == (43, math.inf)
    assert t.mass[0] == pytest.approx(1 / 3, abs=1e-6)


def test_benefit_durations__benefit_that_starts_late_is_timed_from_the_injection() -> None:
    s = pd.DataFrame({"patient_id": ["p"], "session_id": ["s1"], "date": [T("2026-01-01")]})
    m = pd.DataFrame(
        [
            ("p", None, None, T("2026-01-01"), 8.0),
            ("p", "s1", 2, T("2026-01-15"), 7.0),  # not yet better: the toxin takes time
            ("p", "s1", 6, T("2026-02-12"), 4.0),  # benefit
            ("p", "s1", 12, T("2026-03-26"), 7.5),  # lost
        ],
        columns=["patient_id", "session_id", "weeks_after_session", "date", "value"],
    )
    m["instrument"], m["score"] = "nprs", "pain_intensity"
    d = benefit_durations(cycle_outcomes(s, m, NPRS), mcid=2).set_index("session_id")
    assert (d.loc["s1", "days"], bool(d.loc["s1", "lost"])) == (84, True)


def test_kaplan_meier__freireich_6mp_reference() -> None:
    ref = json.loads((Path(__file__).parents[1] / "reference" / "km_freireich_6mp.json").read_text())
    km = kaplan_meier(pd.Series(ref["durations"]), pd.Series(ref["observed"]))
    curve = dict(zip(km.timeline, km.survival, strict=True))
    for t, expr in ref["survival"].items():
        exact = Fraction(1)
        for part in expr.split("*"):
            exact *= Fraction(part)
        assert curve[float(t)] == pytest.approx(float(exact), abs=1e-12)
        assert round(curve[float(t)], 4) == ref["printed_4dp"][t]
    assert km.median == ref["median"]
    assert km.events == 9 and km.n == 21


def _product_limit(durations: list[int], observed: list[bool]) -> dict[float, float]:
    s, out = 1.0, {}
    for t in sorted(set(durations)):
        at_risk = sum(d >= t for d in durations)
        deaths = sum(d == t and o for d, o in zip(durations, observed, strict=True))
        s *= 1 - deaths / at_risk
        out[float(t)] = s
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 200), st.booleans()), min_size=1, max_size=60))
def test_kaplan_meier__agrees_with_a_direct_product_limit(data: list[tuple[int, bool]]) -> None:
    durations, observed = [d for d, _ in data], [o for _, o in data]
    km = kaplan_meier(pd.Series(durations), pd.Series(observed))
    expected = _product_limit(durations, observed)
    curve = dict(zip(km.timeline, km.survival, strict=True))
    for t, s in expected.items():
        assert curve[t] == pytest.approx(s, abs=1e-12)
    assert np.all(np.diff(km.survival) <= 1e-15)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4)), min_size=1, max_size=40))
def test_turnbull__observations_grouped_in_bulk_as_a_dict_of_the_pairs_counts_them(
    pairs: list[tuple[int, int]],
) -> None:
    # intervals of whole weeks, some open-ended; repeated in any order
    lower = [7.0 * a + 1 for a, _ in pairs]
    upper = [math.inf if d == 4 else 7.0 * (a + d + 1) for a, d in pairs]
    counted: dict[tuple[float, float], int] = {}
    for key in zip(lower, upper, strict=True):
        counted[key] = counted.get(key, 0) + 1
    keys, weights = _grouped(lower, upper)
    assert keys == list(counted)  # in the order they first appear
    assert weights.tolist() == [float(n) for n in counted.values()]
    assert all(type(x) is float for key in keys for x in key)


def test_turnbull__the_first_interval_that_ends_before_it_starts_is_named() -> None:
    with pytest.raises(ValueError, match=r"interval \[43, 20\] ends before it starts"):
        turnbull([15, 43, 50], [42, 20, 10])


def test_sort_rows__rows_in_order_are_kept_as_they_are_others_sorted() -> None:
    ordered = pd.DataFrame({"patient_id": [1, 1, 2, 2], "cycle": [1, 2, 1, 1], "weeks": [6, 2, 6, 6]})
    assert sort_rows(ordered, ["patient_id", "cycle", "weeks"]) is ordered
    shuffled = ordered.iloc[[2, 0, 3, 1]]
    again = sort_rows(shuffled, ["patient_id", "cycle", "weeks"])
    assert again.index.tolist() == [0, 1, 2, 3]  # sorted, ties kept in their order
    # a missing key: sorted as sort_values sorts it (missing last)
    missing = pd.DataFrame({"patient_id": [1.0, np.nan, 2.0], "cycle": [1, 1, 1]})
    assert sort_rows(missing, ["patient_id", "cycle"]).index.tolist() == [0, 2, 1]
    # text keys: sorted by sort_values
    text = pd.DataFrame({"patient_id": ["b", "a"], "cycle": [1, 1]})
    assert sort_rows(text, ["patient_id", "cycle"]).index.tolist() == [1, 0]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 3)), max_size=30))
def test_sort_rows__numbers_and_dates_in_the_order_of_sort_values(rows: list[tuple[int, int, int]]) -> None:
    frame = pd.DataFrame(
        {
            "patient_id": [p for p, _, _ in rows],
            "session_id": [float(s) for _, s, _ in rows],
            "date": [T("2026-01-01") + pd.Timedelta(days=d) for _, _, d in rows],
            "row": range(len(rows)),  # ties: kept in the order given (a stable sort)
        },
        columns=["patient_id", "session_id", "date", "row"],
    )
    for by in (["patient_id", "session_id", "date"], ["date", "patient_id"]):
        pd.testing.assert_frame_equal(sort_rows(frame, by), frame.sort_values(by))


_KEY_VALUES = st.one_of(
    st.integers(-3, 3),  # small numbers, ties
    st.integers(-(2**62), 2**62),  # wide: the keys no longer fit in 63 bits together
    st.sampled_from([0.5, -0.0, 2.0**40, -(2.0**53)]),  # a fraction; minus zero; whole floats
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(_KEY_VALUES, st.integers(0, 5), st.integers(-400, 400), st.integers(0, 86_399)), max_size=25
    )
)
def test_sort_rows__packed_keys_sort_as_sort_values_whatever_their_range(
    rows: list[tuple[float, int, int, int]],
) -> None:
    # dates at midnight (packed by the day) and dates with a time of day (too wide to pack)
    midnight = [T("2026-01-01") + pd.Timedelta(days=d) for _, _, d, _ in rows]
    frame = pd.DataFrame(
        {
            "a": pd.Series(
                [a for a, _, _, _ in rows],
                dtype=float if any(isinstance(r[0], float) for r in rows) else "int64",
            ),
            "b": [b for _, b, _, _ in rows],
            "day": pd.Series(midnight, dtype="datetime64[ns]"),
            "at": pd.Series(
                [m + pd.Timedelta(seconds=s) for m, (_, _, _, s) in zip(midnight, rows, strict=True)],
                dtype="datetime64[ns]",
            ),
            "row": range(len(rows)),
        }
    )
    for by in (["a", "b"], ["b", "day", "a"], ["day", "b"], ["at", "b"], ["b", "a", "at"]):
        pd.testing.assert_frame_equal(sort_rows(frame, by), frame.sort_values(by, kind="stable"))


def test_packed_key__one_number_a_row_in_the_keys_order_or_none_when_they_do_not_fit() -> None:
    from bontrack.analytics.cycles import packed_key

    day = 86_400 * 10**9
    patient = np.array([2, 1, 2, 1], dtype=np.int64)
    session = np.array([7.0, 9.0, 3.0, 9.0])
    date = np.array([3 * day, 5 * day, 4 * day, 1 * day], dtype=np.int64)  # (midnights: packed by the day)
    packed = packed_key([patient, session, date])
    assert packed is not None
    assert (
        np.argsort(packed, kind="stable").tolist()
        == np.lexsort([date, session, patient]).tolist()
        == [3, 1, 2, 0]
    )
    assert packed.max() < 2**8  # 1 bit of patient, 3 of session (span 6), 3 of days (span 4)
    assert packed_key([np.array([0.0, 0.5])]) is None  # a fraction
    assert packed_key([np.array([0, 2**62]), np.array([0, 3])]) is None  # 63 bits and 2 more
    assert packed_key([np.array([-(2**62), 2**62])]) is None  # a span past 63 bits
    assert packed_key([np.array([], dtype=np.int64)]).tolist() == []


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 4),  # session (patient = session // 2, cycle = session % 2 + 1)
            st.sampled_from([0, 6, 12, 18]),  # weeks
            st.one_of(st.none(), st.floats(0, 10, allow_nan=False)),  # value
        ),
        max_size=30,
    ),
    st.lists(st.one_of(st.none(), st.floats(0, 10, allow_nan=False)), min_size=5, max_size=5),
)
def test_cycle_responded__rows_in_runs_read_in_place_as_hashed(
    rows: list[tuple[int, int, float | None]], baselines: list[float | None]
) -> None:
    from bontrack.analytics import response_rules
    from bontrack.analytics.response_rules import cycle_responded

    frame = pd.DataFrame(
        {
            "patient_id": [s // 2 for s, _, _ in rows],
            "session_id": [float(s) for s, _, _ in rows],
            "cycle": [s % 2 + 1 for s, _, _ in rows],
            "baseline": [np.nan if baselines[s] is None else baselines[s] for s, _, _ in rows],
            "weeks": [w for _, w, _ in rows],
            "value": [np.nan if v is None else v for _, _, v in rows],
        }
    )
    in_runs = frame.sort_values(["patient_id", "cycle", "weeks"], kind="stable").reset_index(drop=True)
    assert len(in_runs) == 0 or response_rules._session_runs(in_runs) is not None
    for given_rows in (in_runs, frame):  # (the rows as given: in runs or not, hashed when not)
        got = cycle_responded(given_rows, min_improvement_percent=30, judged_at_weeks=[6, 12])
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(response_rules, "_session_runs", lambda _rows: None)
            hashed = cycle_responded(given_rows, min_improvement_percent=30, judged_at_weeks=[6, 12])
        pd.testing.assert_frame_equal(got, hashed)


_SCORES = st.one_of(st.none(), st.sampled_from([0.0, 4.9, 7.0, 10.0, 3.5, -2.0]), st.floats(-20, 20))


@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.tuples(_SCORES, _SCORES), max_size=25),
    st.sampled_from(["lower", "higher"]),
    st.one_of(st.none(), st.sampled_from([2.0, 1.0])),
)
def test_judged_rows__from_the_arrays_as_pandas_judged_them(
    rows: list[tuple[float | None, float | None]], better: str, mcid: float | None
) -> None:
    from bontrack.analytics.cycles import judged_by_pandas, judged_rows

    frame = pd.DataFrame(
        {
            "patient_id": list(range(len(rows))),
            "cycle": [1] * len(rows),
            "weeks": [6] * len(rows),
            "baseline": np.array([np.nan if b is None else b for b, _ in rows], dtype=float),
            "value": np.array([np.nan if v is None else v for _, v in rows], dtype=float),
        }
    )
    rule = ResponseRule("nprs", "pain_intensity", better, mcid, 30.0, 50.0)  # type: ignore[arg-type]
    expected = frame.copy()
    with np.errstate(all="ignore"):  # (pandas' rounding of a huge percentage overflows, to inf)
        judged_by_pandas(expected, rule, -1.0 if better == "lower" else 1.0)  # (as pandas made them)
    got = judged_rows(frame.copy(), rule)
    pd.testing.assert_frame_equal(got, expected)
    for c in ("responder_moderate", "responder_substantial", "mcid_met"):
        assert [type(x) for x in got[c]] == [type(x) for x in expected[c]]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-1, 6), st.sampled_from([True, False, None])), max_size=40),
    st.integers(1, 3),
    st.randoms(use_true_random=False),
)
def test_stop_and_review__integer_patients_in_runs_as_grouped(
    rows: list[tuple[int, bool | None]], latest: int, rnd: Any
) -> None:
    from bontrack.analytics.response_rules import stop_and_review

    cycle_of: dict[int, int] = {}
    sessions = []
    for k, (patient, _) in enumerate(rows):  # each patient's cycles numbered in turn
        cycle_of[patient] = cycle_of.get(patient, 0) + 1
        sessions.append((patient, float(k), cycle_of[patient]))
    rnd.shuffle(sessions)  # (rows in any order: sorted by patient and cycle by the rule)
    frame = pd.DataFrame(sessions, columns=["patient_id", "session_id", "cycle"])
    responded = pd.DataFrame(
        {"session_id": [float(k) for k in range(len(rows))], "responded": [r for _, r in rows]}
    )
    responded["responded"] = responded["responded"].astype(object)
    as_text = frame.assign(patient_id=frame["patient_id"].astype(str).astype(object))
    # (no dates: as once every awaited visit has passed)
    ask = {"today": None, "judged_at_weeks": [6, 12]}
    assert stop_and_review(responded, latest, frame, **ask) == stop_and_review(
        responded, latest, as_text, **ask
    )


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 12), st.integers(0, 40)), max_size=40))
def test_number_cycles__integer_patients_numbered_in_place_as_grouped(rows: list[tuple[int, int]]) -> None:
    from bontrack.analytics.cycles import number_cycles

    sessions = pd.DataFrame(
        {
            "patient_id": [p for p, _ in rows],
            "session_id": [float(k) for k in range(len(rows))],
            "date": pd.Series(
                [T("2026-01-01") + pd.Timedelta(days=d) for _, d in rows], dtype="datetime64[ns]"
            ),
        }
    )
    got = number_cycles(sessions)
    grouped = number_cycles(sessions.assign(patient_id=sessions["patient_id"].astype(str)))
    by_session = ["session_id"]
    got = got.sort_values(by_session).reset_index(drop=True)
    grouped = grouped.sort_values(by_session).reset_index(drop=True)
    pd.testing.assert_series_equal(got["cycle"], grouped["cycle"])
    pd.testing.assert_series_equal(got["next_session_date"], grouped["next_session_date"])
