"""Which follow-up visit the dates make (scheduling.visits, pure): the knowledge base's visit
weeks, nearest visit (halfway: the later), nothing in the first days or well after the last."""

from __future__ import annotations

import datetime as dt

import pytest

from bontrack.knowledge import load_knowledge
from bontrack.scheduling.visits import (
    baseline_instruments,
    first_follow_up_day,
    follow_up,
    last_follow_up_day,
)

KB = load_knowledge()
SCHEDULE = KB.files.pathway.outcome_visit_weeks
SESSION = dt.date(2026, 3, 2)


@pytest.mark.parametrize(
    ("days", "week"),
    [
        (-1, None),
        (6, None),
        (7, 2),
        (14, 2),
        (27, 2),
        (28, 6),
        (44, 6),
        (62, 6),
        (63, 12),
        (84, 12),
        (105, 12),
        (106, None),
    ],
)
def test_the_visit_a_date_makes(days: int, week: int | None) -> None:
    assert SCHEDULE.weeks == [2, 6, 12]  # the cases above are written for this schedule
    visit = follow_up(SESSION, SESSION + dt.timedelta(days=days), KB)
    assert (visit.week if visit else None) == week
    if visit:
        assert visit.days == days and visit.instruments == SCHEDULE.due_at(week)


def test_the_window_comes_from_the_schedule() -> None:
    assert first_follow_up_day(KB) == 7 * SCHEDULE.weeks[0] // 2
    assert (
        last_follow_up_day(KB) == 7 * SCHEDULE.weeks[-1] + 7 * (SCHEDULE.weeks[-1] - SCHEDULE.weeks[-2]) // 2
    )


def test_each_visits_questionnaires_and_a_baselines() -> None:
    assert [SCHEDULE.due_at(w) for w in SCHEDULE.weeks] == [
        ["nprs"],
        ["nprs", "ndi"],
        ["nprs", "ndi", "rand36"],
    ]
    assert baseline_instruments(KB) == ["nprs", "ndi", "rand36"]


@pytest.mark.parametrize(
    ("days", "words"), [(14, "2 weeks"), (44, "6 weeks and 2 days"), (8, "1 week and 1 day")]
)
def test_elapsed_in_words(days: int, words: str) -> None:
    visit = follow_up(SESSION, SESSION + dt.timedelta(days=days), KB)
    assert visit is not None and visit.elapsed == words
