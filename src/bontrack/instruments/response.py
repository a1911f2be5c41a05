"""Did an injection cycle bring a response? A pure rule over scores, thresholds from the knowledge base."""

from __future__ import annotations

from collections.abc import Iterable


def cycle_responded(
    baseline: float | None, followups: Iterable[float | None], *, min_improvement_percent: float
) -> bool | None:
    """True if any follow-up improved on the baseline by at least the threshold; None if unjudgeable.

    Lower is better (pain intensity). A zero baseline cannot improve, so it is not judged.

    Examples
    --------
    >>> cycle_responded(6, [5, 4], min_improvement_percent=30)
    True
    >>> cycle_responded(6, [5], min_improvement_percent=30)
    False
    >>> cycle_responded(None, [2], min_improvement_percent=30) is None
    True
    """
    scores = [f for f in followups if f is not None]
    if baseline is None or baseline <= 0 or not scores:
        return None
    # Compare in integers of basis points so 7 -> 4.9 counts as exactly 30%.
    return any(
        round((baseline - f) * 10000) >= round(baseline * min_improvement_percent * 100) for f in scores
    )
