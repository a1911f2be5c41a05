"""Stop and review: the pathway's rule on a patient's latest cycles, the one form of it.

The decision engine's warning (``retreatment.stop_review_findings``), the worklist's flags kept as
records are written (``scheduling.derive``, through ``analytics.patient_rules``) and the report's
cohort form (``analytics.response_rules.stop_and_review``, checked against this on every patient
of the demo registry) all ask it. It imports nothing: a command that writes a record loads it
without numpy or pandas.

A cycle not judged (no baseline, no week-6 or week-12 score) once its last judging visit has
passed (pathway.cycle_response.judged_at_weeks: week 12) can no longer be judged: its visits were
missed. It is skipped, so that two documented non-responses are not forgotten because a later
cycle went unscored. A cycle still awaiting its visits breaks the run: it may yet be a response.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

DAYS_PER_WEEK = 7


def lapsed(day: dt.date, today: dt.date, judged_at_weeks: Sequence[int]) -> bool:
    """Whether the judging visits of the cycle of ``day`` have all passed on ``today`` (the last
    judging week's visit day is still in time).

    >>> day = dt.date(2026, 1, 1)  # its week-12 visit: 2026-03-26
    >>> lapsed(day, dt.date(2026, 3, 26), [6, 12]), lapsed(day, dt.date(2026, 3, 27), [6, 12])
    (False, True)
    """
    return (today - day).days > DAYS_PER_WEEK * max(judged_at_weeks)


def lapses_on(day: dt.date, judged_at_weeks: Sequence[int]) -> dt.date:
    """The first day on which the cycle of ``day`` can no longer be judged (``lapsed``)."""
    return day + dt.timedelta(days=DAYS_PER_WEEK * max(judged_at_weeks) + 1)


def review_run(
    judged: Sequence[bool | None], cycles_without_response: int, missed: Sequence[bool] = ()
) -> list[int] | None:
    """The rule on one patient's cycles, oldest first: ``judged`` (True responded, False no
    response, None not judged) and ``missed`` (per cycle: not judged and its visits have passed;
    none when empty). None when the patient is not to review; else the positions of the missed
    cycles skipped inside the run (empty when the latest cycles were all judged).

    >>> review_run([True, False, False], 2), review_run([False, False, None], 2, [False, False, True])
    ([], [2])
    >>> review_run([False, False, None], 2, [False, False, False]) is None  # awaiting its visits
    True
    """
    n = cycles_without_response
    if n <= 0:
        return None
    skipped: list[int] = []
    found = 0
    for i in range(len(judged) - 1, -1, -1):
        if judged[i] is None:
            if i < len(missed) and missed[i]:
                skipped.append(i)
                continue
            return None
        if judged[i]:
            return None
        found += 1
        if found == n:
            return sorted(skipped)
    return None


def stops_for_review(
    judged: Sequence[bool | None], cycles_without_response: int, missed: Sequence[bool] = ()
) -> bool:
    """Whether a patient's latest ``cycles_without_response`` judged cycles (one judgement each,
    oldest first: True responded, False no response, None not judged) brought no response
    (knowledge: pathway.stop_review_cycles_without_response), skipping cycles whose visits were
    missed (``missed``, see ``review_run``). Fewer judged cycles than that, or an unjudged cycle
    still awaiting its visits among the latest, never call for review.

    A count of 0 (or less) turns the rule off: no patient is flagged, not even one never injected
    (a rule of "the last 0 cycles brought no response" would flag everyone).

    >>> stops_for_review([True, False, False], 2)
    True
    >>> stops_for_review([False, None], 2), stops_for_review([False], 2), stops_for_review([], 0)
    (False, False, False)
    >>> stops_for_review([False, False, None], 2, [False, False, True])
    True
    """
    return review_run(judged, cycles_without_response, missed) is not None


def flagged_from(
    cycles: Sequence[tuple[dt.date, bool | None]],
    cycles_without_response: int,
    judged_at_weeks: Sequence[int],
) -> dt.date | None:
    """The day from which a patient's cycles (date, judgement; oldest first) call for review, as
    long as nothing more is recorded: the last session's day, or the day the last awaited cycle
    inside the run lapses (``lapses_on``); None when they never will. The rule only turns on as
    days pass (a cycle awaiting its visits becomes missed), so one day says it all."""
    judged = [j for _, j in cycles]
    run = review_run(judged, cycles_without_response, [j is None for j in judged])
    if run is None:
        return None
    last = cycles[-1][0] if cycles else None
    days = [lapses_on(cycles[i][0], judged_at_weeks) for i in run]
    return max([d for d in [last, *days] if d is not None])
