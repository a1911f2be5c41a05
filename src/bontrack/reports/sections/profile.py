"""Report section 6: the RAND-36 profile of first cycles (baseline, follow-up and change per scale)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from bontrack.analytics.cycles import cycle_outcomes
from bontrack.analytics.intervals import mean_interval
from bontrack.instruments.definitions import load_definition
from bontrack.knowledge.loader import KnowledgeBase
from bontrack.reports.data import REPORT_SCORES, CohortFrames
from bontrack.reports.sections.common import MIN_JUDGED, response_rule, value


@dataclass(frozen=True, kw_only=True)
class ProfileRow:
    """One RAND-36 scale: means with 95% intervals (None: too few to estimate)."""

    scale: str
    label: str
    n: int
    baseline: float | None
    baseline_low: float | None
    baseline_high: float | None
    followup: float | None
    followup_low: float | None
    followup_high: float | None
    change: float | None
    change_low: float | None
    change_high: float | None


def rand36_scales() -> dict[str, str]:
    """The RAND-36 scales the report shows (those it reads, in its order), labelled as the
    instrument's definition (rand36.toml) labels them."""
    scores = load_definition("rand36").scores
    return {s: scores[s].label for s in REPORT_SCORES if s in scores}


def profile(
    frames: CohortFrames,
    kb: KnowledgeBase,
    followup_week: int,
    outcomes: Callable[[str, str], pd.DataFrame] | None = None,
) -> list[ProfileRow]:
    """A row per scale with first-cycle scores at ``followup_week`` (scales without any are left out).
    ``outcomes(instrument, score)``: ``cycle_outcomes`` of the frames by ``response_rule``, when
    the caller keeps them (the report computes each score's rows once), or at least their rows
    of first cycles at ``followup_week`` (the only ones read here)."""
    out = []
    for scale, label in rand36_scales().items():
        if outcomes is None:
            rows = cycle_outcomes(frames.sessions, frames.measurements, response_rule(kb, "rand36", scale))
        else:
            rows = outcomes("rand36", scale)
        rows = rows[(rows["cycle"] == 1) & (rows["weeks"] == followup_week)].dropna(subset=["baseline"])
        if rows.empty:
            continue
        shown = len(rows) >= MIN_JUDGED
        columns = ("baseline", "value", "change")
        b, f, c = (mean_interval(rows[column].to_numpy(dtype=float)) for column in columns)
        out.append(
            ProfileRow(
                scale=scale,
                label=label,
                n=len(rows),
                baseline=value(b.estimate) if shown else None,
                baseline_low=value(b.low) if shown else None,
                baseline_high=value(b.high) if shown else None,
                followup=value(f.estimate) if shown else None,
                followup_low=value(f.low) if shown else None,
                followup_high=value(f.high) if shown else None,
                change=value(c.estimate) if shown else None,
                change_low=value(c.low) if shown else None,
                change_high=value(c.high) if shown else None,
            )
        )
    return out
