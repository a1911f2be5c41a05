"""The pathway's response and stop-and-review rules: over a cohort's frames (numpy and pandas only,
no SciPy: the clinic report and the due items' rebuild), and over one patient's plain sequences
(``cycle_judgements``, ``stops_for_review``: the due items kept as each record is written, where
building frames cost more than the write itself). The two forms are checked against each other on
every patient of the demo registry (tests/scheduling/test_due_items_kept.py); a cycle is judged by
``instruments.response.cycle_responded`` in both (the frame form as integers of basis points, as it).

The plain form lives in ``analytics.patient_rules`` (no numpy or pandas: a record's write imports
it) and is re-exported here. Re-exported by ``analytics.cohort``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bontrack.analytics.codes import all_distinct, distinct_count, isin
from bontrack.analytics.cycles import number_cycles, sort_order, sort_rows
from bontrack.analytics.patient_rules import Score as Score
from bontrack.analytics.patient_rules import cycle_judgements as cycle_judgements
from bontrack.analytics.patient_rules import stops_for_review as stops_for_review
from bontrack.clinical.review import DAYS_PER_WEEK


def cycle_responded(
    cycle_rows: pd.DataFrame, *, min_improvement_percent: float, judged_at_weeks: Sequence[int]
) -> pd.DataFrame:
    """One row per cycle with follow-ups: ``responded`` by the pathway's one rule
    (``instruments.response.cycle_responded``: the score at week 6, else week 12, at least the
    percentage below baseline; None (not judged) otherwise), and ``judged_week``.

    ``cycle_rows`` from ``cycles.cycle_outcomes`` (lower is better: the pathway judges pain).
    """
    keys = ["patient_id", "session_id", "cycle"]
    # a cycle's score at each visit week: the last row of that week (as a dict keyed by week
    # would keep it), its baseline from its first row
    runs = _session_runs(cycle_rows)
    if runs is not None:  # each cycle's rows together, their weeks in order: read in place
        first, week, score = _scores_in_runs(cycle_rows, runs, judged_at_weeks)
        per: dict[str, np.ndarray] = {c: cycle_rows[c].to_numpy()[first] for c in [*keys, "baseline"]}
    else:
        hashed, week, score = _scores_by_hash(cycle_rows, keys, judged_at_weeks)
        per = {c: hashed[c].to_numpy() for c in [*keys, "baseline"]}
    base = np.asarray(per["baseline"], dtype=float)
    judged = ~np.isnan(week) & ~np.isnan(base) & (base > 0)
    with np.errstate(invalid="ignore"):
        # as instruments.response.cycle_responded: integers of basis points
        hit = np.round((base - score) * 10000) >= np.round(base * min_improvement_percent * 100)
    # the columns as lists of Python objects made them (True/False/None; the weeks as ints, or
    # floats with NaN when some are missing, or None when all are), from arrays: a cycle's
    # object per row in bulk, not a list built row by row (at 100,000 patients 230,000 rows)
    responded = _BOOLS[hit.astype(np.intp)]
    responded[~judged] = None
    missing = np.isnan(week)
    if not len(week):
        weeks: np.ndarray = np.array([], dtype=object)
    elif not missing.any():
        weeks = week.astype(np.int64)
    elif missing.all():
        weeks = np.full(len(week), None, dtype=object)
    else:
        weeks = week
    frame = pd.DataFrame(
        {
            "patient_id": np.asarray(per["patient_id"]),
            "session_id": np.asarray(per["session_id"]),
            "cycle": np.asarray(per["cycle"]),
            "responded": responded,
            "judged_week": weeks,
        },
        columns=[*keys, "responded", "judged_week"],
    )
    frame["responded"] = frame["responded"].astype(object)
    return sort_rows(frame, keys).reset_index(drop=True)


def _session_runs(cycle_rows: pd.DataFrame) -> np.ndarray | None:
    """Whether each row starts its cycle's rows, when every cycle's rows are together (as the
    report's rows come: by patient, cycle, weeks) and their weeks in order; else None."""
    sid = cycle_rows["session_id"].to_numpy()
    weeks = cycle_rows["weeks"].to_numpy()
    if not len(sid) or sid.dtype.kind not in "iuf" or weeks.dtype.kind not in "iuf":
        return None
    fresh: np.ndarray = np.r_[True, sid[1:] != sid[:-1]]
    # (a missing id, or weeks, is never equal to the row before: the rows are then hashed)
    if int(fresh.sum()) != distinct_count(sid) or not bool(((weeks[1:] >= weeks[:-1]) | fresh[1:]).all()):
        return None
    return fresh


def _scores_in_runs(
    cycle_rows: pd.DataFrame, fresh: np.ndarray, judged_at_weeks: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each cycle's first row, and its judged week and score (NaN when none), of rows in runs
    (``_session_runs``): a week's score is the value of the last of its rows of that week."""
    first = np.flatnonzero(fresh)
    cycle = np.cumsum(fresh) - 1
    weeks = cycle_rows["weeks"].to_numpy()
    value = cycle_rows["value"].to_numpy(dtype=float)
    last = np.r_[fresh[1:] | (weeks[1:] != weeks[:-1]), True]  # the last row of its week
    week = np.full(len(first), np.nan)
    score = np.full(len(first), np.nan)
    for w in reversed(list(judged_at_weeks)):  # the first week (in the order given) with a score wins
        rows = np.flatnonzero(last & (weeks == w))
        rows = rows[~np.isnan(value[rows])]
        week[cycle[rows]] = w
        score[cycle[rows]] = value[rows]
    return first, week, score


def _scores_by_hash(
    cycle_rows: pd.DataFrame, keys: list[str], judged_at_weeks: Sequence[int]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``_scores_in_runs`` of rows in any order: each cycle's first row (its keys and baseline)
    and its judged week and score, by hashing the cycles' ids."""
    # (of the columns read only: the rows of ``cycle_outcomes`` have 17)
    per = cycle_rows[[*keys, "baseline"]].drop_duplicates(subset="session_id", keep="first")
    visits = cycle_rows[["session_id", "weeks", "value"]].drop_duplicates(
        subset=["session_id", "weeks"], keep="last"
    )
    week = np.full(len(per), np.nan)
    score = np.full(len(per), np.nan)
    for w in reversed(list(judged_at_weeks)):  # the first week (in the order given) with a score wins
        at = visits[visits["weeks"] == w]
        found = per["session_id"].map(pd.Series(at["value"].to_numpy(), index=at["session_id"]))
        has = found.notna().to_numpy()
        week[has] = w
        score[has] = found.to_numpy()[has]
    return per, week, score


# False and True as Python objects (indexed by a flag: 0 or 1)
_BOOLS = np.array([False, True], dtype=object)


def stop_and_review(
    responded: pd.DataFrame,
    cycles_without_response: int,
    sessions: pd.DataFrame,
    *,
    today: dt.date | None,
    judged_at_weeks: Sequence[int],
) -> list[str]:
    """Patients whose latest ``cycles_without_response`` judged cycles brought no response
    (knowledge: pathway.stop_review_cycles_without_response; ``responded`` from
    ``cycle_responded``: one row per cycle, ``session_id`` and ``responded`` True/False/None).
    Every session is a cycle: an unjudged one (no baseline, no week-6 or week-12 score) whose
    last judging visit (``judged_at_weeks``) passed before ``today`` was missed and is skipped;
    one still awaiting its visits breaks the run, as in the decision engine's warning
    (``clinical.review.review_run``). ``today`` None: once every awaited visit has passed.

    ``sessions``: every session (``patient_id``, ``session_id``, ``date``), numbered by
    ``cycles.number_cycles`` unless it has a ``cycle`` column already. Sorted patient ids.
    """
    numbered = sessions if "cycle" in sessions.columns else number_cycles(sessions)
    cycles = numbered[["patient_id", "session_id", "cycle"]]
    # a session failed when its (last) judgement is False itself: the sessions judged so, hashed
    # in bulk (a dict of every judgement and a Python call per session cost most of this rule)
    flags = responded["responded"].to_numpy()
    judged = responded["session_id"].to_numpy()
    one_each = all_distinct(judged)  # (the report's: one row per cycle)
    last = (
        np.ones(len(judged), dtype=bool)
        if one_each
        else ~responded["session_id"].duplicated(keep="last").to_numpy()
    )
    false = np.array([v is False for v in flags], dtype=bool)
    failed = isin(cycles["session_id"].to_numpy(), judged[false & last])
    true = np.array([v is True for v in flags], dtype=bool)
    judged_any = failed | isin(cycles["session_id"].to_numpy(), judged[true & last])
    if today is None:
        missed = ~judged_any
    else:  # (the last judging visit's day is still in time: clinical.review.lapsed)
        cutoff = pd.Timestamp(today - dt.timedelta(days=DAYS_PER_WEEK * max(judged_at_weeks)))
        missed = ~judged_any & (pd.to_datetime(numbered["date"]).to_numpy() < cutoff.to_datetime64())
    if missed.any():
        cycles, failed = cycles[~missed], failed[~missed]
    if cycles["patient_id"].dtype.kind in "iu":  # (integer codes: each patient's rows are a run)
        return _latest_failed(cycles, failed, cycles_without_response)
    latest = sort_rows(cycles.assign(failed=failed), ["patient_id", "cycle"])
    latest = latest.groupby("patient_id", sort=True).tail(cycles_without_response)
    counts = latest.groupby("patient_id", sort=True)["failed"].agg(["size", "all"])
    due = counts[(counts["size"] == cycles_without_response) & counts["all"]]
    return sorted(str(p) for p in due.index)


def _latest_failed(cycles: pd.DataFrame, failed: np.ndarray, latest: int) -> list[str]:
    """``stop_and_review``'s patients from the sessions (integer patients) and whether each
    failed: those whose ``latest`` last cycles (at least that many) all failed, found in the
    rows sorted by patient and cycle (each patient's a run) without grouping them."""
    order = sort_order(cycles, ["patient_id", "cycle"])
    patient = cycles["patient_id"].to_numpy()
    if order is not None:
        patient, failed = patient[order], failed[order]
    n = len(patient)
    fresh = np.r_[True, patient[1:] != patient[:-1]] if n else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(fresh)
    ends = np.r_[starts[1:], n]
    run = np.cumsum(fresh) - 1
    kept = ends[run] - np.arange(n) <= latest  # (a patient's last ``latest`` rows)
    passed = np.bincount(run[kept & ~failed], minlength=len(starts))  # (kept rows not failed)
    due = patient[starts][(ends - starts >= latest) & (passed == 0)]
    return sorted(str(p) for p in due.tolist())
