"""Stop-and-review, the one rule the clinic report and the worklist share.

Pure (frames and the knowledge base in, patient ids out): the report feeds it ``cohort_frames``
(reports.data), the worklist ``review_frames`` (bontrack.queries), both one read per record
type. Cycles are numbered by ``analytics.cycles.number_cycles`` (the one cycle order); a cycle's
response is judged by ``instruments.response.cycle_responded`` (the NPRS at week 6, else week
12; the decision engine's history uses the same function), the run of cycles without one by
``analytics.response_rules.stop_and_review``, with the numbers from the knowledge base:
pathway.stop_review_cycles_without_response and pathway.cycle_response.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from bontrack.analytics.cycles import ResponseRule, cycle_outcomes, number_cycles
from bontrack.analytics.patient_rules import review_cycles as review_cycles
from bontrack.analytics.response_rules import cycle_responded, stop_and_review
from bontrack.instruments.definitions import load_definition
from bontrack.knowledge.loader import KnowledgeBase


def cycle_response_rule(kb: KnowledgeBase) -> ResponseRule:
    """pathway.cycle_response as the analytics' rule: a response is an improvement of at least
    the percentage in that score, in the direction the instrument's definition calls better."""
    rule = kb.files.pathway.cycle_response
    percent = rule.min_improvement_percent
    better = load_definition(rule.instrument).scores[rule.score].better
    return ResponseRule(rule.instrument, rule.score, better, None, percent, percent)


def due_for_review(
    sessions: pd.DataFrame,
    measurements: pd.DataFrame,
    kb: KnowledgeBase,
    *,
    today: dt.date | None,
    responded: pd.DataFrame | None = None,
) -> list[str]:
    """Patients (sorted ids as text) whose latest judged cycles all brought no response, on
    ``today`` (a cycle not judged whose visits have passed is skipped; None: once every awaited
    visit has passed; ``response_rules.stop_and_review``).

    ``sessions``: ``patient_id``, ``session_id``, ``date`` (and ``recorded_at`` where known),
    numbered by ``number_cycles`` unless they carry ``cycle`` and ``next_session_date`` already.
    ``measurements``: as ``cohort_frames`` shapes them. ``responded``: ``responses`` of these
    frames when the caller has them already (the report does).
    """
    numbered = (
        sessions if {"cycle", "next_session_date"} <= set(sessions.columns) else number_cycles(sessions)
    )
    if numbered.empty:
        return []
    if responded is None:
        responded = responses(numbered, measurements, kb)
    weeks = kb.files.pathway.cycle_response.judged_at_weeks
    return stop_and_review(responded, review_cycles(kb), numbered, today=today, judged_at_weeks=weeks)


def responses(
    sessions: pd.DataFrame,
    measurements: pd.DataFrame,
    kb: KnowledgeBase,
    *,
    rows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per cycle with follow-ups: ``responded`` (True, False, or None: not judged) and
    ``judged_week``, by the pathway's one rule (instruments.response.cycle_responded: the NPRS
    at week 6, else week 12, at least 30% below the cycle's baseline).

    ``rows``: ``cycle_outcomes`` of these frames for the rule's instrument and score, when the
    caller has them already (under any thresholds: the response is judged from the baseline and
    the scores, not from the rows' flags); else they are computed here."""
    rule = kb.files.pathway.cycle_response
    if rows is None and len(measurements):
        rows = cycle_outcomes(sessions, measurements, cycle_response_rule(kb))
    if rows is None or rows.empty:
        return pd.DataFrame(columns=["patient_id", "session_id", "cycle", "responded", "judged_week"])
    return cycle_responded(
        rows, min_improvement_percent=rule.min_improvement_percent, judged_at_weeks=rule.judged_at_weeks
    )
