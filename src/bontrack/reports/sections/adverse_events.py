"""Report section 7: adverse events per session, beside the label's rates for the main product."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from bontrack.analytics.cohort import adverse_event_rates
from bontrack.knowledge.loader import KnowledgeBase
from bontrack.reports.data import CohortFrames
from bontrack.reports.sections.common import MIN_JUDGED, records, value


@dataclass(frozen=True, kw_only=True)
class EventRow:
    """One kind of event: cycles with it among the rated ones, the rate and the label's percent."""

    event: str
    cycles: int
    n_cycles: int
    k: int
    n_eff: float | None
    rate: float | None
    low: float | None
    high: float | None
    label_percent: float | None


@dataclass(frozen=True, kw_only=True)
class AdverseEvents:
    """The rows, the label they are set beside (None: no label figures) and the counts of sessions
    rated and left out (summary keys of the report's JSON)."""

    rows: list[EventRow]
    label_source: str | None
    counts: dict[str, int]


def adverse_events(frames: CohortFrames, kb: KnowledgeBase, today: date) -> AdverseEvents:
    """Adverse events per session over sessions dated at least pathway.adverse_event_window_days
    before ``today`` (their 6-week visit is due); the counts say how many were left out."""
    window = int(kb.files.pathway.adverse_event_window_days.value)
    sessions = frames.sessions
    rated = sessions[sessions["date"] <= pd.Timestamp(today) - pd.Timedelta(days=window)]
    counts = {
        "adverse_event_window_days": window,
        "sessions_rated_for_adverse_events": len(rated),
        "sessions_too_recent_for_adverse_events": len(sessions) - len(rated),
    }
    if len(rated) == 0:
        return AdverseEvents(rows=[], label_source=None, counts=counts)
    products = rated["product"].value_counts()
    label = kb.files.label_adverse_reactions.get(str(products.index[0])) if len(products) else None
    rates = adverse_event_rates(frames.adverse_events, rated[["patient_id", "session_id"]])
    shown = len(rated) >= MIN_JUDGED
    rows = [
        EventRow(
            event=str(r["event"]),
            cycles=int(r["cycles"]),
            n_cycles=int(r["n_cycles"]),
            k=int(r["k"]),
            n_eff=value(r["n_eff"]),
            rate=value(r["rate"]) if shown else None,
            low=value(r["low"]) if shown else None,
            high=value(r["high"]) if shown else None,
            label_percent=label.percent.get(str(r["event"])) if label is not None else None,
        )
        for r in records(rates)
    ]
    source = None
    if label is not None:
        source = f"{products.index[0]} label ({label.indication}): {kb.cite(label)}"
    return AdverseEvents(rows=rows, label_source=source, counts=counts)
