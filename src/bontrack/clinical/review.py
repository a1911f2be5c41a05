"""Stop and review: the pathway's rule on a patient's latest cycles, the one form of it.

The decision engine's warning (``retreatment.stop_review_findings``), the worklist's flags kept as
records are written (``scheduling.derive``, through ``analytics.patient_rules``) and the report's
cohort form (``analytics.response_rules.stop_and_review``, checked against this on every patient
of the demo registry) all ask it. It imports nothing: a command that writes a record loads it
without numpy or pandas.
"""

from __future__ import annotations

from collections.abc import Sequence


def stops_for_review(judged: Sequence[bool | None], cycles_without_response: int) -> bool:
    """Whether a patient's latest ``cycles_without_response`` cycles (one judgement each, oldest
    first: True responded, False no response, None not judged) were each judged and brought no
    response (knowledge: pathway.stop_review_cycles_without_response). Fewer cycles than that, or
    an unjudged one among the latest, never call for review.

    A count of 0 (or less) turns the rule off: no patient is flagged, not even one never injected
    (a rule of "the last 0 cycles brought no response" would flag everyone).

    >>> stops_for_review([True, False, False], 2)
    True
    >>> stops_for_review([False, None], 2), stops_for_review([False], 2), stops_for_review([], 0)
    (False, False, False)
    """
    n = cycles_without_response
    return 0 < n <= len(judged) and all(j is False for j in judged[-n:])
