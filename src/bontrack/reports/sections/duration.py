"""Report section 4: how long the benefit of a cycle lasts (Kaplan-Meier and Turnbull)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bontrack.analytics.codes import distinct_count
from bontrack.analytics.duration import benefit_durations, kaplan_meier, turnbull
from bontrack.reports.sections.common import MIN_JUDGED, value


@dataclass(frozen=True, kw_only=True)
class Duration:
    """Days from the injection until the benefit (an MCID of pain) was lost, over cycles with one."""

    cycles_judged: int
    cycles_with_benefit: int
    events: int
    censored: int
    median_days: float | None
    median_low: float | None
    median_high: float | None
    turnbull_median_low: float | None
    turnbull_median_high: float | None
    timeline: list[float]
    survival: list[float]
    ci_low: list[float]
    ci_high: list[float]
    censored_days: list[int]
    event_days: list[int]
    # per cycle with benefit: [last visit with benefit, loss visit or null if censored], in days
    loss_intervals: list[tuple[int, int | None]]


def duration(nprs: pd.DataFrame, mcid: float) -> Duration | None:
    """The section from the pain rows of ``cycle_outcomes``; None with too few cycles."""
    d = benefit_durations(nprs, mcid)
    judged = distinct_count(nprs["session_id"].to_numpy()[nprs["baseline"].notna().to_numpy()])
    if len(d) < MIN_JUDGED:
        return None
    km = kaplan_meier(d["days"], d["lost"])
    lost = d["lost"].astype(bool)
    # (lists of Python numbers iterated, not the columns' boxed values)
    upper = [
        float(x) if ok else math.inf for x, ok in zip(d["loss_days"].tolist(), lost.tolist(), strict=True)
    ]
    tb = turnbull([float(x) + 1 for x in d["benefit_days"].tolist()], upper)
    return Duration(
        cycles_judged=judged,
        cycles_with_benefit=len(d),
        events=km.events,
        censored=int((~lost).sum()),
        median_days=value(km.median),
        median_low=value(km.median_low),
        median_high=value(km.median_high),
        turnbull_median_low=value(tb.median_low),
        turnbull_median_high=value(tb.median_high),
        timeline=km.timeline.tolist(),
        survival=km.survival.tolist(),
        ci_low=km.ci_low.tolist(),
        ci_high=km.ci_high.tolist(),
        censored_days=sorted(int(x) for x in d.loc[~lost, "days"].tolist()),
        event_days=sorted(int(x) for x in d.loc[lost, "days"].tolist()),
        loss_intervals=_loss_intervals(d),
    )


def _loss_intervals(d: pd.DataFrame) -> list[tuple[int, int | None]]:
    """(last visit with benefit, loss visit or None when censored), sorted (None after any day)."""
    benefit = d["benefit_days"].to_numpy(dtype=np.int64)
    loss = d["loss_days"].to_numpy(dtype=float)
    lost = ~np.isnan(loss)
    order = np.lexsort((np.where(lost, loss, np.inf), benefit))
    days = np.where(lost, loss, 0).astype(np.int64)
    return [
        (b, x if was_lost else None)
        for b, x, was_lost in zip(
            benefit[order].tolist(), days[order].tolist(), lost[order].tolist(), strict=True
        )
    ]
