"""A therapy plan's next-visit item lapses once the plan is superseded (bontrack.scheduling.derive):
a newer plan under way (started by the item's date, or with a visit recorded), or an injection
session after the plan's last day. A plan written ahead of time leaves the running plan's visits
listed. Pure: facts in, rows out."""

from __future__ import annotations

import datetime as dt

from bontrack.knowledge import load_knowledge
from bontrack.scheduling.derive import Facts, derive

START = dt.date(2025, 1, 20)
AT = dt.datetime(2025, 1, 1, 9)


def _facts(
    *plans: tuple[str, dt.date, int], visits: dict[str, int], sessions: tuple[dt.date, ...] = ()
) -> Facts:
    facts = Facts(patients={"p": ("c", "SYN-1")})
    facts.plans = [
        (plan_id, "p", start, 2, weeks, "t", AT + dt.timedelta(minutes=n))
        for n, (plan_id, start, weeks) in enumerate(plans)
    ]
    facts.visits = visits
    facts.sessions = [(f"s{n}", "p", day, "onabotulinumtoxinA", AT, "d") for n, day in enumerate(sessions)]
    return facts


def _therapy(facts: Facts) -> list[tuple[str | None, dt.date, str]]:
    rows = derive(facts, load_knowledge())
    return [(r["plan_id"], r["due_date"], r["what"]) for r in rows if r["kind"] == "therapy_visit"]


def test_last_visit_of_an_old_plan__lapses_once_a_newer_plan_is_under_way() -> None:
    newer = START + dt.timedelta(weeks=20)
    old = _facts(("a", START, 6), visits={"a": 11})
    assert _therapy(old) == [("a", START + dt.timedelta(days=38), "physical therapy visit 12 of 12")]
    under_way = _facts(("a", START, 6), ("b", newer, 6), visits={"a": 11, "b": 1})
    assert _therapy(under_way) == [("b", newer + dt.timedelta(days=3), "physical therapy visit 2 of 12")]


def test_running_plan__keeps_its_visits_while_the_next_plan_is_only_written_ahead() -> None:
    ahead = _facts(("a", START, 6), ("b", START + dt.timedelta(weeks=8), 6), visits={"a": 3})
    assert [plan for plan, _, _ in _therapy(ahead)] == ["a", "b"]


def test_plan__lapses_once_a_session_follows_its_last_day() -> None:
    last = START + dt.timedelta(weeks=6, days=-1)
    within = _facts(("a", START, 6), visits={"a": 11}, sessions=(START - dt.timedelta(days=7), last))
    assert [plan for plan, _, _ in _therapy(within)] == ["a"]
    after = _facts(("a", START, 6), visits={"a": 11}, sessions=(last + dt.timedelta(days=1),))
    assert _therapy(after) == []


def test_two_plans_of_one_period__give_one_item_the_newer_plans() -> None:
    twins = _facts(("a", START, 2), ("b", START, 2), visits={})
    assert _therapy(twins) == [("b", START, "physical therapy visit 1 of 4")]
