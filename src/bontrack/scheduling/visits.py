"""Which follow-up visit a measurement completes, from the dates alone (pure: no database).

The schedule is the knowledge base's (pathway.outcome_visit_weeks: the visit weeks after a
session and the questionnaires of each). A visit on another day than the scheduled one completes
the scheduled visit nearest to it; halfway between two, the later; well after the last one
(``last_follow_up_day``) or in the first days after the session (``first_follow_up_day``),
none: the visit follows up no session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bontrack.knowledge import KnowledgeBase


@dataclass(frozen=True)
class FollowUp:
    """A visit ``days`` after a session: the scheduled ``week`` it completes and its questionnaires."""

    days: int
    week: int
    instruments: list[str]

    @property
    def elapsed(self) -> str:
        """ "6 weeks and 2 days": the time since the session, in words."""
        weeks, days = divmod(self.days, 7)
        parts = [f"{weeks} week{'s' if weeks != 1 else ''}"] if weeks else []
        if days or not weeks:
            parts.append(f"{days} day{'s' if days != 1 else ''}")
        return " and ".join(parts)


def last_follow_up_day(kb: KnowledgeBase) -> int:
    """The latest day after a session that still counts as its last visit: that visit's week plus
    half the gap from the visit before it (12-week visit after 6: up to day 105)."""
    weeks = sorted(kb.files.pathway.outcome_visit_weeks.weeks)
    gap = weeks[-1] - (weeks[-2] if len(weeks) > 1 else 0)
    return 7 * weeks[-1] + (7 * gap) // 2


def first_follow_up_day(kb: KnowledgeBase) -> int:
    """The earliest day after a session that counts as its first visit: half that visit's week
    (the 2-week visit: from day 7; earlier, a measurement is the next cycle's baseline at most)."""
    return (7 * min(kb.files.pathway.outcome_visit_weeks.weeks)) // 2


def follow_up(session_date: dt.date, on: dt.date, kb: KnowledgeBase) -> FollowUp | None:
    """The scheduled visit a measurement on ``on`` completes for a session on ``session_date``;
    None outside ``first_follow_up_day`` .. ``last_follow_up_day`` (it follows up no session)."""
    days = (on - session_date).days
    if not first_follow_up_day(kb) <= days <= last_follow_up_day(kb):
        return None
    schedule = kb.files.pathway.outcome_visit_weeks
    week = min(schedule.weeks, key=lambda w: (abs(7 * w - days), -w))
    return FollowUp(days, week, schedule.due_at(week))


def baseline_instruments(kb: KnowledgeBase) -> list[str]:
    """The questionnaires of a visit that follows no session (a baseline): every one the schedule
    asks at any visit, in its order."""
    return list(kb.files.pathway.outcome_visit_weeks.instruments)
