"""Cohort summaries: responder rates, mean change, adverse events, comparisons (the response and
stop-and-review rules are in ``analytics.response_rules``).

All take frames from ``cycles.cycle_outcomes`` (or plain counts) and return frames or named
results with 95% intervals. Nothing here reads a database.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bontrack.analytics.codes import distinct_count, groups, isin, sorted_codes
from bontrack.analytics.distributions import t_quantile
from bontrack.analytics.event_terms import event_groups
from bontrack.analytics.intervals import (
    clustered_mean_interval,
    clustered_wilson,
    mean_interval,
    wilson_interval,
)

SCOPES = ("first cycles", "all cycles")


def _columns(cycle_rows: pd.DataFrame, *names: str) -> list[np.ndarray]:
    """The rows' columns ``names`` as arrays (each week's rows are taken from them: no frame
    is split by week)."""
    return [cycle_rows[name].to_numpy() for name in names]


def responder_rates(cycle_rows: pd.DataFrame, flag: str = "responder_moderate") -> pd.DataFrame:
    """Per visit week, twice: each patient's first cycle (plain Wilson 95%) and all cycles
    (Wilson with the patient-clustered effective sample size, ``intervals.clustered_wilson``).

    Columns: weeks, scope, n (judged cycles), responders, k (patients), n_eff, rate, low, high.
    """
    out = []
    weeks_of, flags_of, cycle_of, patient_of = _columns(cycle_rows, "weeks", flag, "cycle", "patient_id")
    for weeks, rows in groups(weeks_of):  # (as groupby("weeks"): in order, a missing week in none)
        # the rows whose flag is judged (not missing): each one's hit (1 or 0), cycle and patient
        flags = flags_of[rows]
        judged = pd.notna(flags)
        hit = flags[judged].astype(bool).astype(int)
        cycle, patient = cycle_of[rows][judged], patient_of[rows][judged]
        first = cycle == 1
        r = wilson_interval(int(hit[first].sum()), int(first.sum()))
        out.append(
            {
                "weeks": int(str(weeks)),
                "scope": SCOPES[0],
                "n": r.n,
                "responders": int(hit[first].sum()),
                "k": distinct_count(patient[first]),
                "n_eff": float(r.n),
                "rate": r.estimate,
                "low": r.low,
                "high": r.high,
            }
        )
        # per patient (in the sorted order of groupby's groups; a missing patient in none): the
        # hits and the judged cycles, counted by bincount over the patients' codes
        code, patients = sorted_codes(patient)
        grouped = code >= 0
        sums = np.bincount(code[grouped], weights=hit[grouped], minlength=len(patients))
        sizes = np.bincount(code[grouped], minlength=len(patients))
        c = clustered_wilson(sums.astype(np.int64), sizes.astype(np.int64))
        out.append(
            {
                "weeks": int(str(weeks)),
                "scope": SCOPES[1],
                "n": c.n,
                "responders": int(hit.sum()),
                "k": c.k,
                "n_eff": c.n_eff,
                "rate": c.estimate,
                "low": c.low,
                "high": c.high,
            }
        )
    columns = ["weeks", "scope", "n", "responders", "k", "n_eff", "rate", "low", "high"]
    return pd.DataFrame(out, columns=columns)


def mean_change(cycle_rows: pd.DataFrame, column: str = "improvement") -> pd.DataFrame:
    """Per visit week, twice: first cycles (ordinary t 95% interval) and all cycles (cluster-robust
    standard error over patients, t on k - 1 degrees of freedom). Columns: weeks, scope, n, k,
    mean, low, high."""
    out = []
    weeks_of, values_of, cycle_of, patient_of = _columns(cycle_rows, "weeks", column, "cycle", "patient_id")
    for weeks, rows in groups(weeks_of):  # (as groupby("weeks"): in order, a missing week in none)
        values = values_of[rows]
        present = pd.notna(values)  # (the rows of the week with a value)
        values = values[present].astype(float)
        cycle, patient = cycle_of[rows][present], patient_of[rows][present]
        first = cycle == 1
        r = mean_interval(values[first])
        out.append(
            {
                "weeks": int(str(weeks)),
                "scope": SCOPES[0],
                "n": r.n,
                "k": distinct_count(patient[first]),
                "mean": r.estimate,
                "low": r.low,
                "high": r.high,
            }
        )
        # arrays, not lists: ids that are numbers (the report's coded ids) factorized as numbers
        c = clustered_mean_interval(values, patient)
        out.append(
            {
                "weeks": int(str(weeks)),
                "scope": SCOPES[1],
                "n": c.n,
                "k": c.k,
                "mean": c.estimate,
                "low": c.low,
                "high": c.high,
            }
        )
    return pd.DataFrame(out, columns=["weeks", "scope", "n", "k", "mean", "low", "high"])


def adverse_event_rates(
    events: pd.DataFrame, sessions: pd.DataFrame, known: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Per event: sessions with at least one such event among ``sessions``, the rate and a
    Wilson interval with the patient-clustered effective sample size (a patient's sessions are
    not independent).

    ``events`` has one row per report: ``session_id``, ``event`` (events of other sessions are
    ignored); ``sessions``: ``patient_id``, ``session_id``, the sessions rated. Events are one
    event when ``analytics.event_terms.event_key`` makes them so ("Dysphagia", "DYSPHAGIA "),
    or a known reaction's name or other name (``known``: ``event_terms.known_names``) names
    them; a row is named as ``event_terms.event_groups`` says, the rows in the order of their
    keys. Columns: event, cycles (sessions with the event), n_cycles, k (patients), n_eff, rate,
    low, high.
    """
    session_ids = sessions["session_id"].to_numpy()
    events = events[isin(events["session_id"].to_numpy(), session_ids)]
    row = _session_rate(sessions)
    grouped = event_groups(events["event"].to_numpy(), known or {})
    hit_of = events["session_id"].to_numpy()
    # each group's events in the order of the keys (groups() of the codes: -1, no event, first)
    out = []
    for code, at in groups(grouped.codes):
        if (i := int(str(code))) >= 0:
            out.append(row(grouped.names[i], hit_of[at]))
    out.append(row("any", hit_of))
    return pd.DataFrame(out, columns=["event", "cycles", "n_cycles", "k", "n_eff", "rate", "low", "high"])


def _session_rate(sessions: pd.DataFrame) -> Callable[[str, np.ndarray], dict[str, Any]]:
    """The row of a kind of event among ``sessions`` (``patient_id``, ``session_id``): named,
    given the ids of the sessions with it (an id twice, or of another session, counts once or
    not at all)."""
    session_ids = sessions["session_id"].to_numpy()
    n_cycles = len(sessions)
    # each session's patient as its rank among the patients (groupby's sorted groups; a missing
    # patient in none, as groupby leaves it out), counted once for every term
    patient, _ = sorted_codes(sessions["patient_id"].to_numpy())
    grouped = patient >= 0
    k = int(patient.max()) + 1 if grouped.any() else 0
    sizes = np.bincount(patient[grouped], minlength=k)

    def row(term: str, hit_sessions: np.ndarray) -> dict[str, Any]:
        hit = isin(session_ids, hit_sessions)
        sums = np.bincount(patient[grouped & hit], minlength=k)
        c = clustered_wilson(sums, sizes)
        return {
            "event": term,
            "cycles": int(hit.sum()),
            "n_cycles": n_cycles,
            "k": c.k,
            "n_eff": c.n_eff,
            "rate": c.estimate,
            "low": c.low,
            "high": c.high,
        }

    return row


SERIOUS_COLUMNS = [
    "product",
    "events",
    "patients",
    "n_patients",
    "cycles",
    "n_cycles",
    "k",
    "n_eff",
    "rate",
    "low",
    "high",
]


def serious_events(events: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """Per product (in their order), the serious adverse events of its sessions among ``sessions``
    (``patient_id``, ``session_id``, ``product``): how many were reported (events), the patients
    with one (of n_patients treated), and the sessions with one (cycles of n_cycles) with their
    rate and interval as ``adverse_event_rates`` gives them (Wilson, patient-clustered n_eff).
    ``events``: ``session_id``, ``serious`` (events of other sessions are ignored)."""
    kept = events[isin(events["session_id"].to_numpy(), sessions["session_id"].to_numpy())]
    flagged = kept["serious"].to_numpy()
    serious = kept["session_id"].to_numpy()[pd.notna(flagged) & (flagged == True)]  # noqa: E712
    out = []
    products = sessions["product"].to_numpy()
    for product, at in groups(products):
        mine = sessions.iloc[at]
        ids = mine["session_id"].to_numpy()
        hit = isin(serious, ids)
        r = _session_rate(mine)(str(product), serious[hit])
        with_one = isin(ids, serious[hit])
        r.pop("event")
        out.append(
            {
                "product": str(product),
                "events": int(hit.sum()),
                "patients": distinct_count(mine["patient_id"].to_numpy()[with_one]),
                "n_patients": distinct_count(mine["patient_id"].to_numpy()),
            }
            | r
        )
    return pd.DataFrame(out, columns=SERIOUS_COLUMNS)


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

    def plain_words(self, unit: str = "points") -> str:
        """The sentence, generated from the difference's 95% interval: an interval that includes
        zero says "no clear difference"; one that excludes it says better or worse by how much."""
        lo, hi, d = self.difference_low, self.difference_high, self.difference
        ci = f"95% CI {lo:.2f} to {hi:.2f}"
        if lo <= 0 <= hi:
            verdict = (
                f"No clear difference between {self.label_a} and {self.label_b}: the difference in "
                f"improvement is {d:+.2f} {unit} ({ci}), an interval that includes no difference."
            )
        elif lo > 0:
            verdict = f"{_capital(self.label_a)} improved more than {self.label_b}, by {d:.2f} {unit} ({ci})."
        else:
            verdict = (
                f"{_capital(self.label_a)} improved less than {self.label_b}, by {-d:.2f} {unit} ({ci})."
            )
        caveat = (
            ""
            if self.randomized
            else " The groups were not randomized, so this is an association, not an effect."
        )
        return verdict + caveat


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def compare_groups(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, label_a: str, label_b: str
) -> Comparison:
    """Welch mean difference with its t 95% interval, and Hedges' g on the same interval.

    g's interval is the difference's interval divided by the pooled SD (times Hedges' small-sample
    factor J), so the effect size and the difference never disagree about zero.
    """
    n1, n2 = len(a), len(b)
    if n1 < 2 or n2 < 2:
        raise ValueError(f"each group needs at least 2 values ({label_a}: {n1}, {label_b}: {n2})")
    # sums added one by one in order (cumsum), as Python's sum adds them: the same floats
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    m1, m2 = float(np.cumsum(xa)[-1]) / n1, float(np.cumsum(xb)[-1]) / n2
    v1 = float(np.cumsum((xa - m1) * (xa - m1))[-1]) / (n1 - 1)
    v2 = float(np.cumsum((xb - m2) * (xb - m2))[-1]) / (n2 - 1)
    se = math.sqrt(v1 / n1 + v2 / n2)
    df = se**4 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1)) if se > 0 else float(n1 + n2 - 2)
    t = t_quantile(0.975, df)
    diff = m1 - m2
    sp = math.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2))
    j = 1 - 3 / (4 * (n1 + n2) - 9)
    low, high = diff - t * se, diff + t * se
    scale = j / sp if sp > 0 else 0.0
    return Comparison(label_a, label_b, n1, n2, diff, low, high, scale * diff, scale * low, scale * high)
