"""Report section 8: improvement in pain between registry groups (therapy, product, dose; not randomized)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bontrack.analytics.codes import all_distinct, positions
from bontrack.analytics.cohort import compare_groups
from bontrack.reports.data import CohortFrames
from bontrack.reports.sections.common import MIN_GROUP


@dataclass(frozen=True, kw_only=True)
class ComparisonRow:
    """Group a minus group b: the difference in improvement and Hedges' g, with 95% intervals."""

    title: str
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
    words: str


@dataclass(frozen=True, kw_only=True)
class Comparisons:
    """The comparisons made, and those skipped with the reason (too few in a group)."""

    rows: list[ComparisonRow]
    skipped: list[str]


def comparisons(frames: CohortFrames, rows: pd.DataFrame, week: int) -> Comparisons:
    """Improvement in pain at ``week`` of the first cycle between registry groups (not randomized)."""
    done: list[ComparisonRow] = []
    skipped: list[str] = []
    at = rows[(rows["weeks"] == week)].dropna(subset=["improvement"])
    at = _with_sessions(at, frames.sessions[["session_id", "product", "total_units", "physical_therapy"]])

    def add(title: str, a: pd.DataFrame, b: pd.DataFrame, la: str, lb: str) -> None:
        if len(a) < MIN_GROUP or len(b) < MIN_GROUP:
            skipped.append(
                f"{title}: too few cycles to compare ({la} {len(a)}, {lb} {len(b)}; need {MIN_GROUP})"
            )
            return
        c = compare_groups(
            a["improvement"].to_numpy(dtype=float), b["improvement"].to_numpy(dtype=float), la, lb
        )
        done.append(
            ComparisonRow(
                title=title,
                label_a=la,
                label_b=lb,
                n_a=c.n_a,
                n_b=c.n_b,
                difference=c.difference,
                difference_low=c.difference_low,
                difference_high=c.difference_high,
                hedges_g=c.hedges_g,
                g_low=c.g_low,
                g_high=c.g_high,
                words=c.plain_words(),
            )
        )

    pt = at["physical_therapy"].astype(bool)
    add("Physical therapy alongside", at[pt], at[~pt], "with physical therapy", "without physical therapy")
    counts = at["product"].value_counts()
    if len(counts):
        top = str(counts.index[0])
        for other in counts.index[1:]:
            add(
                f"Product: {top} vs {other}",
                at[at["product"] == top],
                at[at["product"] == other],
                top,
                str(other),
            )
        same = at[at["product"] == top]
        median = float(same["total_units"].median()) if len(same) else 0.0
        add(
            f"Dose within {top} (units are not comparable across products)",
            same[same["total_units"] > median],
            same[same["total_units"] <= median],
            f"above {median:g} U",
            f"{median:g} U or less",
        )
    return Comparisons(rows=done, skipped=skipped)


def _with_sessions(rows: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """``rows.merge(sessions, on="session_id")``: each row with its session's columns (a row
    without one left out), in the rows' order. Of distinct sessions (as the read makes them),
    each row's session found by its position (``codes.positions``), not by a merge."""
    ids = sessions["session_id"].to_numpy()
    if not all_distinct(ids):
        return rows.merge(sessions, on="session_id")
    at = positions(ids, rows["session_id"].to_numpy())
    found = at >= 0
    out = rows[found].reset_index(drop=True)
    for name in sessions.columns:
        if name != "session_id":
            out[name] = sessions[name].iloc[at[found]].reset_index(drop=True)  # (its type kept)
    return out
