"""Duration of benefit: time from an injection until the benefit is lost, by Kaplan-Meier.

A cycle *had benefit* when some follow-up improved on baseline by at least the minimal important
difference (MCID). Only such cycles enter the analysis (the others never had a benefit to lose;
the report counts them beside the curve). Benefit is *lost* at the first later follow-up whose
improvement is below the MCID: an event, dated at the visit that found it. A cycle whose next
injection (or whose last follow-up) comes before any loss is *censored* at its last follow-up
that still showed benefit: a scheduled re-injection is not a loss, so the schedule does not end
the benefit. Follow-ups dated after the next injection belong to no loss of this cycle.

Visits are weeks apart, so a loss lies somewhere between the last visit with benefit and the
visit that found it: ``turnbull`` estimates the curve from those intervals (the NPMLE), a
sensitivity line beside Kaplan-Meier's, which dates each loss at its visit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bontrack.analytics.cycles import sort_order
from bontrack.analytics.distributions import normal_quantile


def benefit_durations(cycle_rows: pd.DataFrame, mcid: float) -> pd.DataFrame:
    """One row per cycle that had benefit.

    Columns: patient_id, session_id, cycle; ``days`` (to the loss, or to the last visit with
    benefit when censored), ``lost`` (True = event, False = censored), ``benefit_days`` (the last
    visit with benefit before the loss, or the censoring day) and ``loss_days`` (the loss visit;
    NaN when censored): the loss lies in (benefit_days, loss_days].

    ``cycle_rows`` comes from ``cycles.cycle_outcomes``; ``mcid`` is in the score's units.
    """
    columns = ["patient_id", "session_id", "cycle", "days", "lost", "benefit_days", "loss_days"]
    # the rows with a baseline, dated before the next session (of ``cycle_outcomes``' 17 columns
    # only those read here are taken)
    nxt = cycle_rows["next_session_date"]
    keep = cycle_rows["baseline"].notna() & (nxt.isna() | (cycle_rows["date"] <= nxt))
    # the kept rows' positions in (patient, session, date) order: only the keys are copied to be
    # sorted, then each column read is taken once in that order (no frame of the rows made)
    positions = np.flatnonzero(keep.to_numpy())
    by = ["patient_id", "session_id", "date"]
    order = sort_order(pd.DataFrame({c: cycle_rows[c].to_numpy()[positions] for c in by}), by)
    if order is not None:
        positions = positions[order]

    def column(name: str, rows: np.ndarray | None = None) -> np.ndarray:
        """The column's kept rows in that order (or those of them at ``rows``)."""
        return cycle_rows[name].to_numpy()[positions if rows is None else positions[rows]]

    # each cycle's rows in date order; a visit with benefit sets ``benefit``, the first later
    # one without sets ``loss`` and ends the cycle's story (rows after it are not read)
    sid = column("session_id")
    n = len(positions)
    fresh = np.r_[True, sid[1:] != sid[:-1]] if n else np.zeros(0, dtype=bool)
    group = np.cumsum(fresh) - 1
    first = np.flatnonzero(fresh)  # each cycle's first row (its rows follow it)
    days = pd.Series(column("date") - column("session_date")).dt.days.to_numpy()
    benefit = (pd.Series(column("improvement")).round(9) >= mcid).to_numpy(dtype=bool)
    position = np.arange(n)
    # (per cycle, by ``reduceat`` over its rows: the first row with benefit, the first after it
    # without (the loss; n when none) and the last with benefit before the loss (-1 when none))
    seen = position >= _per_cycle(np.minimum, np.where(benefit, position, n), first)[group]
    loss_at = _per_cycle(np.minimum, np.where(~benefit & seen, position, n), first)
    kept = benefit & (position < loss_at[group])
    benefit_at = _per_cycle(np.maximum, np.where(kept, position, -1), first)
    had = benefit_at >= 0
    lost = loss_at[had] < n
    benefit_days = days[benefit_at[had]]
    loss_days = np.where(lost, days[np.minimum(loss_at[had], n - 1)], np.nan) if n else np.zeros(0)
    start = first[had]
    frame = pd.DataFrame(
        {
            "patient_id": column("patient_id", start),
            "session_id": sid[start],
            "cycle": column("cycle", start).astype(int),
            "days": np.where(lost, loss_days, benefit_days),
            "lost": lost,
            "benefit_days": benefit_days,
            "loss_days": loss_days,
        },
        columns=columns,
    )
    return frame.astype({"days": int, "lost": bool, "benefit_days": int, "loss_days": float})


def _per_cycle(reduce: np.ufunc, values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """``reduce`` (np.minimum, np.maximum) of ``values`` over each cycle's rows (they start at
    ``first``, in order): one value a cycle."""
    return reduce.reduceat(values, first) if len(first) else values[:0]


@dataclass(frozen=True)
class Turnbull:
    """The NPMLE of an interval-censored survival curve: probability mass on innermost intervals.

    ``intervals``: [q_j, p_j] (closed, in days; p_j may be inf); ``mass``: the mass on each;
    ``median_low``/``median_high``: the innermost interval in which S(t) falls to 0.5 (the NPMLE
    does not say where inside it), inf when it never does; ``n``: observations.
    """

    intervals: list[tuple[float, float]]
    mass: list[float]
    median_low: float
    median_high: float
    n: int

    def survival_after(self, t: float) -> float:
        """S just after t for mass wholly at or before t (intervals ending by t)."""
        return 1.0 - sum(m for (_, hi), m in zip(self.intervals, self.mass, strict=True) if hi <= t)


def turnbull(
    lower: Sequence[float], upper: Sequence[float], tol: float = 1e-10, max_iter: int = 100_000
) -> Turnbull:
    """Turnbull's self-consistency algorithm for observations known to lie in [lower_i, upper_i].

    Innermost intervals are a left endpoint followed, in sorted order, by a right endpoint
    (left before right at a tie: the intervals are closed). Identical observations are grouped.
    """
    if len(lower) != len(upper) or not lower:
        raise ValueError("need one upper bound per lower bound, and at least one observation")
    keys, weights = _grouped(lower, upper)
    ends = sorted([(lo, 0) for lo, _ in keys] + [(hi, 1) for _, hi in keys])
    inner = [(a, b) for (a, ta), (b, tb) in itertools.pairwise(ends) if ta == 0 and tb == 1]
    alpha = np.array([[1.0 if lo <= q and p <= hi else 0.0 for q, p in inner] for lo, hi in keys])
    n = float(weights.sum())
    mass = np.full(len(inner), 1.0 / len(inner))
    for _ in range(max_iter):
        share = alpha * mass
        share /= share.sum(axis=1, keepdims=True)
        new = weights @ share / n
        done = float(np.abs(new - mass).max()) < tol
        mass = new
        if done:
            break
    cumulative = np.cumsum(mass)
    crossing = [j for j, c in enumerate(cumulative) if c >= 0.5 - 1e-9]
    j = crossing[0] if crossing else None
    median_low, median_high = (inner[j][0], inner[j][1]) if j is not None else (math.inf, math.inf)
    return Turnbull(inner, [float(m) for m in mass], median_low, median_high, int(n))


def _grouped(lower: Sequence[float], upper: Sequence[float]) -> tuple[list[tuple[float, float]], np.ndarray]:
    """The distinct observations (lower, upper) as floats, in the order they first appear, and
    how many of each (as floats); an interval ending before it starts is an error. Counted in
    bulk (a report's tens of thousands of cycles); with a missing bound (NaN, None) one by one,
    as a dict of the pairs counts them (each NaN its own pair; None an error)."""
    lo_a, hi_a = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if np.isnan(lo_a).any() or np.isnan(hi_a).any():
        obs: dict[tuple[float, float], int] = {}
        for lo, hi in zip(lower, upper, strict=True):
            if hi < lo:
                raise ValueError(f"interval [{lo}, {hi}] ends before it starts")
            obs[(float(lo), float(hi))] = obs.get((float(lo), float(hi)), 0) + 1
        return list(obs), np.array(list(obs.values()), dtype=float)
    bad = np.flatnonzero(hi_a < lo_a)
    if len(bad):
        i = int(bad[0])  # the first, as a loop over the pairs finds it
        raise ValueError(f"interval [{list(lower)[i]}, {list(upper)[i]}] ends before it starts")
    lo_code, lo_values = pd.factorize(lo_a)  # each in the order of first appearance
    hi_code, hi_values = pd.factorize(hi_a)
    pair, first = pd.factorize(lo_code * len(hi_values) + hi_code)
    keys = list(
        zip(
            lo_values[first // len(hi_values)].tolist(),
            hi_values[first % len(hi_values)].tolist(),
            strict=True,
        )
    )
    return keys, np.bincount(pair, minlength=len(first)).astype(float)


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier estimate with log-log (exponential Greenwood) 95% bands, as lifelines computes.

    Attributes
    ----------
    timeline, survival, ci_low, ci_high : numpy arrays
        The step function S(t) and its pointwise confidence band.
    median, median_low, median_high : float
        Median time and its interval (inf when the curve does not reach 0.5).
    n, events : int
    """

    timeline: np.ndarray
    survival: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    median: float
    median_low: float
    median_high: float
    n: int
    events: int


def kaplan_meier(durations: pd.Series, observed: pd.Series, confidence: float = 0.95) -> KaplanMeier:
    """Kaplan-Meier's product-limit estimate, its log-log (exponential Greenwood) band and median
    with interval, computed as lifelines' ``KaplanMeierFitter`` computes them (the same floats:
    tests/analytics/test_kaplan_meier_as_lifelines.py), without importing lifelines (whose import
    cost more than a clinic's whole analysis).

    As lifelines: one row per distinct time, with the start (0, or the earliest time if below 0)
    among them; at each, the log of the survival's factor log(n - d) - log(n) and Greenwood's
    d / (n (n - d)) (0 when all at risk die) summed; S = exp of the sum; the band
    exp(-exp(log(-log S) -/+ z sqrt(var) / log S)), 1 where undefined; a median is the first time
    with S <= 0.5 (infinite if S stays above it)."""
    times = np.asarray(durations, dtype=float)
    events = np.asarray(observed).astype(bool)
    if not np.isfinite(times).all():
        raise ValueError("durations must be finite numbers")
    start = min(0.0, float(times.min()))  # everyone enters at the start (no late entry)
    timeline, where = np.unique(np.concatenate([times, [start]]), return_inverse=True)
    removed = np.bincount(where[:-1], minlength=len(timeline))
    deaths = np.bincount(where[:-1], weights=events, minlength=len(timeline)).astype(np.int64)
    # at risk at each time: everyone, less those removed at earlier times
    at_risk = len(times) - np.concatenate([[0], np.cumsum(removed)[:-1]])
    population = at_risk.astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_factor = np.log(population - deaths) - np.log(population)
        greenwood = deaths / (population.astype(np.float64) * (population - deaths).astype(np.float64))
    greenwood[greenwood == np.inf] = 0.0
    # summed as pandas sums (a missing term skipped, then filled from the time before)
    log_survival = pd.Series(log_factor).cumsum().ffill().to_numpy()
    variance = pd.Series(greenwood).cumsum().ffill().to_numpy()
    survival = np.exp(log_survival)
    z = normal_quantile(1 - (1 - confidence) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log(survival)
        ci_low = np.exp(-np.exp(np.log(-v) - z * np.sqrt(variance) / v))
        ci_high = np.exp(-np.exp(np.log(-v) + z * np.sqrt(variance) / v))
    ci_low[np.isnan(ci_low)] = 1.0
    ci_high[np.isnan(ci_high)] = 1.0
    return KaplanMeier(
        timeline=timeline,
        survival=survival,
        ci_low=ci_low,
        ci_high=ci_high,
        median=_median(timeline, survival),
        median_low=_median(timeline, ci_low),
        median_high=_median(timeline, ci_high),
        n=len(times),
        events=int(events.sum()),
    )


def _median(timeline: np.ndarray, curve: np.ndarray) -> float:
    """The first time the curve is at or below 0.5 (lifelines' ``qth_survival_time``: a search of
    the negated curve, which is sorted), infinite when it ends above 0.5."""
    if curve[-1] > 0.5:
        return math.inf
    return float(timeline[np.searchsorted(-curve, -0.5)])
