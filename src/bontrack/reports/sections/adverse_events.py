"""Report section 7: adverse events per session, beside the label's rates for the main product, and
the serious ones per product.

Events written differently are one event as ``analytics.event_terms`` says (case, white space,
a known reaction's other names from the knowledge base)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from bontrack.analytics.cohort import adverse_event_rates, serious_events
from bontrack.analytics.event_terms import known_names
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
class SeriousRow:
    """One product's serious adverse events over its rated sessions: events reported, patients
    with one (of those treated), sessions with one (of the rated) and that rate with its 95%
    interval as the event rows have them (None: too few sessions to estimate)."""

    product: str
    events: int
    patients: int
    n_patients: int
    cycles: int
    n_cycles: int
    k: int
    n_eff: float | None
    rate: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True, kw_only=True)
class AdverseEvents:
    """The rows, the label they are set beside (None: no label figures), the serious events per
    product and the counts of sessions rated and left out (summary keys of the report's JSON)."""

    rows: list[EventRow]
    serious: list[SeriousRow]
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
        return AdverseEvents(rows=[], serious=[], label_source=None, counts=counts)
    products = rated["product"].value_counts()
    label = kb.files.label_adverse_reactions.get(str(products.index[0])) if len(products) else None
    rates = adverse_event_rates(frames.adverse_events, rated[["patient_id", "session_id"]], known_events(kb))
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
    per_product = serious_events(frames.adverse_events, rated[["patient_id", "session_id", "product"]])
    serious = [
        SeriousRow(
            product=str(r["product"]),
            events=int(r["events"]),
            patients=int(r["patients"]),
            n_patients=int(r["n_patients"]),
            cycles=int(r["cycles"]),
            n_cycles=int(r["n_cycles"]),
            k=int(r["k"]),
            n_eff=value(r["n_eff"]),
            rate=value(r["rate"]) if r["n_cycles"] >= MIN_JUDGED else None,
            low=value(r["low"]) if r["n_cycles"] >= MIN_JUDGED else None,
            high=value(r["high"]) if r["n_cycles"] >= MIN_JUDGED else None,
        )
        for r in records(per_product)
    ]
    return AdverseEvents(rows=rows, serious=serious, label_source=source, counts=counts)


def known_events(kb: KnowledgeBase) -> dict[str, str]:
    """The reactions the labels list and their other names (adverse_event_aliases), by key
    (``analytics.event_terms.known_names``): what the report counts as each reaction."""
    names = [term for label in kb.files.label_adverse_reactions.values() for term in label.percent]
    return known_names(dict.fromkeys(names), kb.files.adverse_event_aliases)
