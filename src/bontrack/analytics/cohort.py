"""Cohort summaries: responder rates, mean change, adverse events, stop-and-review, comparisons.

All take frames from ``cycles.cycle_outcomes`` (or plain counts) and return frames or named
results with 95% intervals. Nothing here reads a database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from bontrack.analytics.cycles import number_cycles
from bontrack.analytics.intervals import mean_interval, wilson_interval


def responder_rates(cycle_rows: pd.DataFrame, flag: str = "responder_moderate") -> pd.DataFrame:
    """Per visit week: judged cycles, responders, rate and Wilson 95% interval."""
    out = []
    for weeks, g in cycle_rows.groupby("weeks", sort=True):
        judged = g[flag].dropna().astype(bool)
        r = wilson_interval(int(judged.sum()), len(judged))
        out.append(
            {
                "weeks": int(str(weeks)),
                "n": r.n,
                "responders": int(judged.sum()),
                "rate": r.estimate,
                "low": r.low,
                "high": r.high,
            }
        )
    return pd.DataFrame(out, columns=["weeks", "n", "responders", "rate", "low", "high"])


def mean_change(cycle_rows: pd.DataFrame, column: str = "improvement") -> pd.DataFrame:
    """Per visit week: mean of ``column`` with a t 95% interval."""
    out = []
    for weeks, g in cycle_rows.groupby("weeks", sort=True):
        r = mean_interval(g[column].dropna().tolist())
        out.append({"weeks": int(str(weeks)), "n": r.n, "mean": r.estimate, "low": r.low, "high": r.high})
    return pd.DataFrame(out, columns=["weeks", "n", "mean", "low", "high"])


def cycle_responded(cycle_rows: pd.DataFrame, flag: str = "responder_moderate") -> pd.DataFrame:
    """One row per cycle: ``responded`` True if any follow-up met ``flag``, False if none, NA if unjudged."""
    keys = ["patient_id", "session_id", "cycle"]
    judged = cycle_rows[flag].map(lambda v: np.nan if v is None or pd.isna(v) else float(bool(v)))
    best = judged.groupby([cycle_rows[k] for k in keys], sort=True).max()
    out = best.rename("responded").reset_index()
    out["responded"] = out["responded"].map(lambda v: pd.NA if pd.isna(v) else bool(v)).astype(object)
    return out


def stop_and_review(
    cycle_rows: pd.DataFrame, cycles_without_response: int, sessions: pd.DataFrame
) -> list[str]:
    """Patients whose latest ``cycles_without_response`` cycles were each judged and brought no
    response (knowledge: pathway.stop_review_cycles_without_response; ``cycle_rows`` flagged by
    pathway.cycle_response). Every session is a cycle: an unjudged one (no baseline, no follow-up
    yet) among the latest breaks the run, as in the decision engine's stop-and-review warning.

    ``sessions``: every session (``patient_id``, ``session_id``, ``date``), numbered by
    ``cycles.number_cycles`` unless it has a ``cycle`` column already. Sorted patient ids.
    """
    numbered = sessions if "cycle" in sessions.columns else number_cycles(sessions)
    per = cycle_responded(cycle_rows)[["session_id", "responded"]] if len(cycle_rows) else None
    cycles = numbered[["patient_id", "session_id", "cycle"]]
    if per is None:
        failed = pd.Series(False, index=cycles.index)
    else:
        judged = dict(zip(per["session_id"], per["responded"], strict=True))
        failed = cycles["session_id"].map(lambda s: judged.get(s) is False).astype(bool)
    latest = cycles.assign(failed=failed).sort_values(["patient_id", "cycle"])
    latest = latest.groupby("patient_id", sort=True).tail(cycles_without_response)
    counts = latest.groupby("patient_id", sort=True)["failed"].agg(["size", "all"])
    due = counts[(counts["size"] == cycles_without_response) & counts["all"]]
    return sorted(str(p) for p in due.index)


def adverse_event_rates(events: pd.DataFrame, n_cycles: int) -> pd.DataFrame:
    """Per event term: cycles with at least one such event among ``n_cycles``, rate and Wilson interval.

    ``events`` has one row per report: ``session_id``, ``event``.
    """
    out = []
    for term, g in events.groupby("event", sort=True):
        k = int(g["session_id"].nunique())
        r = wilson_interval(k, n_cycles)
        out.append(
            {
                "event": term,
                "cycles": k,
                "n_cycles": n_cycles,
                "rate": r.estimate,
                "low": r.low,
                "high": r.high,
            }
        )
    any_k = int(events["session_id"].nunique()) if len(events) else 0
    r = wilson_interval(any_k, n_cycles)
    out.append(
        {
            "event": "any",
            "cycles": any_k,
            "n_cycles": n_cycles,
            "rate": r.estimate,
            "low": r.low,
            "high": r.high,
        }
    )
    return pd.DataFrame(out, columns=["event", "cycles", "n_cycles", "rate", "low", "high"])


@dataclass(frozen=True)
class Comparison:
    """Group A minus group B: mean difference (Welch) and Hedges' g, each with a 95% interval.

    ``randomized`` is False for registry groups: the words that go with the numbers must say that
    the groups chose themselves (or were chosen) and may differ in ways the data do not show.
    """

    label_a: str
    label_b: str
    n_a: int
    n_b: int
    difference: float
    difference_low: float
    difference_high: float
    hedges_g: float
    g_low: float
    g_high: float
    randomized: bool = False

    def plain_words(self) -> str:
        direction = "more" if self.difference > 0 else "less"
        crosses = self.difference_low <= 0 <= self.difference_high
        verdict = "the interval includes no difference" if crosses else "the interval excludes no difference"
        caveat = (
            ""
            if self.randomized
            else " The groups were not randomized, so this is an association, not an effect."
        )
        return (
            f"{self.label_a} improved {abs(self.difference):.2f} {direction} than {self.label_b} "
            f"(95% CI {self.difference_low:.2f} to {self.difference_high:.2f}; {verdict}).{caveat}"
        )


def compare_groups(a: list[float], b: list[float], label_a: str, label_b: str) -> Comparison:
    """Welch mean difference and Hedges' g (Hedges & Olkin variance) with normal 95% intervals."""
    n1, n2 = len(a), len(b)
    if n1 < 2 or n2 < 2:
        raise ValueError(f"each group needs at least 2 values ({label_a}: {n1}, {label_b}: {n2})")
    m1, m2 = sum(a) / n1, sum(b) / n2
    v1 = sum((x - m1) ** 2 for x in a) / (n1 - 1)
    v2 = sum((x - m2) ** 2 for x in b) / (n2 - 1)
    se = math.sqrt(v1 / n1 + v2 / n2)
    df = se**4 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1)) if se > 0 else float(n1 + n2 - 2)
    t = float(stats.t.ppf(0.975, df))
    diff = m1 - m2
    sp = math.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2))
    j = 1 - 3 / (4 * (n1 + n2) - 9)
    g = j * diff / sp if sp > 0 else 0.0
    g_se = math.sqrt((n1 + n2) / (n1 * n2) + g * g / (2 * (n1 + n2)))
    z = float(stats.norm.ppf(0.975))
    return Comparison(
        label_a, label_b, n1, n2, diff, diff - t * se, diff + t * se, g, g - z * g_se, g + z * g_se
    )
