"""The pathway's response and stop-and-review rules over one patient's plain sequences: what the
due items kept as each record is written need (bontrack.scheduling.derive), where building frames
cost more than the write itself. No numpy or pandas here, so a command that writes records does
not load them (about 95 MB and 0.3 s of its start).

The cohort's form over data frames, the report's, is ``analytics.response_rules``, which
re-exports these; the two are checked against each other on every patient of the demo registry
(tests/scheduling/test_due_items_kept.py). A cycle is judged by
``instruments.response.cycle_responded`` in both. Whether a patient's judged cycles call for
review is the decision engine's own rule (``clinical.review.stops_for_review``), re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

from bontrack.clinical.review import stops_for_review as stops_for_review
from bontrack.instruments.response import cycle_responded as one_cycle_responded
from bontrack.knowledge.loader import KnowledgeBase

# one score of a patient, as ``cycle_judgements`` reads it: (date as ISO text, the session it
# follows up or None, weeks after that session or None, value)
Score = tuple[str, str | None, int | None, float]


def cycle_judgements(
    cycles: Sequence[tuple[str, str]],
    scores: Sequence[Score],
    *,
    min_improvement_percent: float,
    judged_at_weeks: Sequence[int],
) -> list[bool | None]:
    """One patient's cycles judged as ``cycle_responded`` judges a cohort's frames: True, False,
    or None (not judged), one per cycle in the order given.

    ``cycles``: (session id, date as ISO text), in cycle order (``cycles.number_cycles``').
    ``scores``: the patient's values of the rule's score, in the order they were read (by record
    id, as the frames are). A cycle's baseline is the last score dated on or before its session
    (of scores on one day, the last read), as ``cycles.cycle_outcomes``' as-of merge finds it; its
    follow-up at a week is the last score linked to its session at that week; the cycle is judged
    by ``instruments.response.cycle_responded`` (week 6, else week 12).
    """
    judged: list[bool | None] = []
    for session_id, day in cycles:
        baseline: float | None = None
        baseline_day = ""
        followups: dict[int, float | None] = {}
        for date, linked, week, value in scores:
            if date <= day and date >= baseline_day:
                baseline, baseline_day = value, date
            if linked == session_id and week is not None:
                followups[week] = value
        judged.append(
            one_cycle_responded(
                baseline,
                followups,
                min_improvement_percent=min_improvement_percent,
                judged_at_weeks=judged_at_weeks,
            )
            if followups
            else None
        )
    return judged


def review_cycles(kb: KnowledgeBase) -> int:
    """How many latest cycles without a response call for review (pathway)."""
    return int(kb.files.pathway.stop_review_cycles_without_response.value)
