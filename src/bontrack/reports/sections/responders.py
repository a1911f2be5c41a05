"""Report sections 2 and 3: responder rates and mean changes per visit week, and lasting relief."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bontrack.analytics.codes import distinct_count
from bontrack.analytics.cohort import mean_change, responder_rates
from bontrack.reports.sections.common import MIN_JUDGED, records, value


@dataclass(frozen=True, kw_only=True)
class Rate:
    """The share of judged cycles that met a threshold at one visit week (None: too few)."""

    label: str
    weeks: int
    scope: str  # "first cycles" or "all cycles"
    n: int  # judged cycles
    responders: int
    k: int  # patients
    n_eff: float | None
    rate: float | None  # None: too few to estimate
    low: float | None
    high: float | None


@dataclass(frozen=True, kw_only=True)
class Mean:
    """The mean improvement at one visit week with its 95% interval (None: too few)."""

    label: str
    weeks: int
    scope: str
    n: int
    k: int
    mean: float | None
    low: float | None
    high: float | None


def rates(rows: pd.DataFrame, flag: str, label: str) -> list[Rate]:
    """Responder rates of ``flag`` (a column of ``cycle_outcomes``) per week and scope."""
    if rows.empty:
        return []
    out = []
    for r in records(responder_rates(rows, flag)):
        if r["n"] == 0:
            continue
        shown = r["n"] >= MIN_JUDGED
        out.append(
            Rate(
                label=label,
                weeks=int(r["weeks"]),
                scope=str(r["scope"]),
                n=int(r["n"]),
                responders=int(r["responders"]),
                k=int(r["k"]),
                n_eff=value(r["n_eff"]),
                rate=value(r["rate"]) if shown else None,
                low=value(r["low"]) if shown else None,
                high=value(r["high"]) if shown else None,
            )
        )
    return out


def means(rows: pd.DataFrame, label: str) -> list[Mean]:
    """Mean change per week and scope."""
    if rows.empty:
        return []
    out = []
    for r in records(mean_change(rows)):
        if r["n"] == 0:
            continue
        shown = r["n"] >= MIN_JUDGED
        out.append(
            Mean(
                label=label,
                weeks=int(r["weeks"]),
                scope=str(r["scope"]),
                n=int(r["n"]),
                k=int(r["k"]),
                mean=value(r["mean"]) if shown else None,
                low=value(r["low"]) if shown else None,
                high=value(r["high"]) if shown else None,
            )
        )
    return out


def lasting_relief(rows: pd.DataFrame, last_week: int) -> dict[str, int]:
    """Patients by the first cycle whose last scheduled visit still met the moderate threshold."""
    if rows.empty:
        return {}
    # (the three columns read, as arrays: no copy of the rows' other columns)
    flags = rows["responder_moderate"].to_numpy()
    late = (rows["weeks"] == last_week).to_numpy() & pd.notna(flags)
    patient = rows["patient_id"].to_numpy()[late]
    hit = flags[late].astype(bool)
    first = pd.Series(rows["cycle"].to_numpy()[late][hit]).groupby(patient[hit]).min()
    counts = first.value_counts().sort_index()
    out = {f"cycle {int(str(c))}": int(n) for c, n in counts.items()}
    never = distinct_count(patient) - len(first)
    if never:
        out["not yet"] = never
    return out
