"""An outcome visit's item lapses once a later visit of the same cycle is recorded (a 2-week visit
missed and the 6-week one made: the 2-week measurement can no longer be taken), as it lapses once
the next session comes before it (bontrack.scheduling.derive). Pure: facts in, rows out."""

from __future__ import annotations

import datetime as dt

from bontrack.knowledge import load_knowledge
from bontrack.scheduling.derive import Facts, derive

DAY = dt.date(2025, 3, 3)
AT = dt.datetime(2025, 3, 3, 9)


def _visits(follow_ups: set[tuple[str, int]]) -> list[str]:
    facts = Facts(patients={"p": ("c", "SYN-1")})
    facts.sessions = [("s", "p", DAY, "onabotulinumtoxinA", AT, "d")]
    facts.follow_ups = set(follow_ups)
    rows = derive(facts, load_knowledge())
    return [r["what"] for r in rows if r["kind"] == "outcome_visit"]


def test_every_visit_is_due_while_none_is_recorded() -> None:
    weeks = load_knowledge().files.pathway.outcome_visit_weeks.weeks
    assert list(weeks) == [2, 6, 12]
    assert _visits(set()) == [f"{w}-week outcome visit after {DAY}" for w in weeks]


def test_a_missed_visit_lapses_once_a_later_one_of_the_cycle_is_recorded() -> None:
    assert _visits({("s", 6)}) == [f"12-week outcome visit after {DAY}"]  # week 2 lapsed
    assert _visits({("s", 12)}) == []  # weeks 2 and 6 lapsed
    assert _visits({("s", 2)}) == [f"{w}-week outcome visit after {DAY}" for w in (6, 12)]
    # a visit of another session's cycle changes nothing here
    assert len(_visits({("other", 12)})) == 3
