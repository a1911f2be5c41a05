"""Did an injection cycle bring a response? The one rule, pure, thresholds and weeks from the knowledge base.

The decision engine's stop-and-review (via ``injections.service.cycle_responses``), the worklist
and the clinic report all judge a cycle here (knowledge: pathway.cycle_response).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def judged_week(followups: Mapping[int, float | None], weeks: Sequence[int]) -> int | None:
    """The visit a cycle is judged at: the first of ``weeks`` (in the order given) with a score.

    Examples
    --------
    >>> judged_week({2: 3.0, 6: None, 12: 5.0}, [6, 12])
    12
    >>> judged_week({2: 3.0}, [6, 12]) is None
    True
    """
    for week in weeks:
        if followups.get(week) is not None:
            return week
    return None


def cycle_responded(
    baseline: float | None,
    followups: Mapping[int, float | None],
    *,
    min_improvement_percent: float,
    judged_at_weeks: Sequence[int],
) -> bool | None:
    """True if the score at the judging visit is at least the threshold below the baseline.

    ``followups``: score by visit week after the injection. The cycle is judged at the first of
    ``judged_at_weeks`` that has a score (week 6, else week 12: pathway.cycle_response), never on
    other visits (week 2 is too early). None (not judged) without a baseline, with a baseline of
    0 (it cannot fall by a percentage), or without a score at any judging week. Lower is better.

    Examples
    --------
    >>> cycle_responded(6, {2: 1, 6: 5, 12: 4}, min_improvement_percent=30, judged_at_weeks=[6, 12])
    False
    >>> cycle_responded(6, {2: 5, 12: 4}, min_improvement_percent=30, judged_at_weeks=[6, 12])
    True
    >>> cycle_responded(6, {2: 1}, min_improvement_percent=30, judged_at_weeks=[6, 12]) is None
    True
    >>> cycle_responded(0, {6: 0}, min_improvement_percent=30, judged_at_weeks=[6, 12]) is None
    True
    """
    week = judged_week(followups, judged_at_weeks)
    if baseline is None or baseline <= 0 or week is None:
        return None
    score = followups[week]
    assert score is not None
    # Compare in integers of basis points so 7 -> 4.9 counts as exactly 30%.
    return round((baseline - score) * 10000) >= round(baseline * min_improvement_percent * 100)
