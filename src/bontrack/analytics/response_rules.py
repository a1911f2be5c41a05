"""The pathway's response and stop-and-review rules over a cohort's frames (numpy and pandas only:
the due items derive from them on every write, and must not load SciPy).

Re-exported by ``analytics.cohort``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bontrack.analytics.cycles import number_cycles


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
    per = cycle_rows.drop_duplicates(subset="session_id", keep="first")[[*keys, "baseline"]]
    visits = cycle_rows.drop_duplicates(subset=["session_id", "weeks"], keep="last")
    week = np.full(len(per), np.nan)
    score = np.full(len(per), np.nan)
    for w in reversed(list(judged_at_weeks)):  # the first week (in the order given) with a score wins
        at = visits[visits["weeks"] == w]
        found = per["session_id"].map(pd.Series(at["value"].to_numpy(), index=at["session_id"]))
        has = found.notna().to_numpy()
        week[has] = w
        score[has] = found.to_numpy()[has]
    base = per["baseline"].to_numpy(dtype=float)
    judged = ~np.isnan(week) & ~np.isnan(base) & (base > 0)
    with np.errstate(invalid="ignore"):
        # as instruments.response.cycle_responded: integers of basis points
        hit = np.round((base - score) * 10000) >= np.round(base * min_improvement_percent * 100)
    frame = pd.DataFrame(
        {
            "patient_id": per["patient_id"].to_numpy(),
            "session_id": per["session_id"].to_numpy(),
            "cycle": per["cycle"].to_numpy(),
            "responded": [bool(h) if j else None for h, j in zip(hit.tolist(), judged.tolist(), strict=True)],
            "judged_week": [None if math.isnan(w) else int(w) for w in week.tolist()],
        },
        columns=[*keys, "responded", "judged_week"],
    )
    frame["responded"] = frame["responded"].astype(object)
    return frame.sort_values(keys).reset_index(drop=True)


def stop_and_review(
    responded: pd.DataFrame, cycles_without_response: int, sessions: pd.DataFrame
) -> list[str]:
    """Patients whose latest ``cycles_without_response`` cycles were each judged and brought no
    response (knowledge: pathway.stop_review_cycles_without_response; ``responded`` from
    ``cycle_responded``: one row per cycle, ``session_id`` and ``responded`` True/False/None).
    Every session is a cycle: an unjudged one (no baseline, no week-6 or week-12 score yet)
    among the latest breaks the run, as in the decision engine's stop-and-review warning.

    ``sessions``: every session (``patient_id``, ``session_id``, ``date``), numbered by
    ``cycles.number_cycles`` unless it has a ``cycle`` column already. Sorted patient ids.
    """
    numbered = sessions if "cycle" in sessions.columns else number_cycles(sessions)
    cycles = numbered[["patient_id", "session_id", "cycle"]]
    judged = dict(zip(responded["session_id"], responded["responded"], strict=True))
    failed = cycles["session_id"].map(lambda s: judged.get(s) is False).astype(bool)
    latest = cycles.assign(failed=failed).sort_values(["patient_id", "cycle"])
    latest = latest.groupby("patient_id", sort=True).tail(cycles_without_response)
    counts = latest.groupby("patient_id", sort=True)["failed"].agg(["size", "all"])
    due = counts[(counts["size"] == cycles_without_response) & counts["all"]]
    return sorted(str(p) for p in due.index)
