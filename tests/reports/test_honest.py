"""The report's definitions on small hand-made registries, each answer worked out by hand here.

Frames are built as ``reports.data.cohort_frames`` shapes them, so the report is the pure
``build_report``; the one rule for a cycle's response is also checked through the services.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from bontrack import reports
from bontrack.injections.service import cycle_responses
from bontrack.knowledge.loader import load_knowledge
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.outcomes.service import record_outcome
from bontrack.reports.content import MIN_JUDGED, build_report
from bontrack.reports.data import CohortFrames
from bontrack.reports.plots import render_figures
from bontrack.reports.render import render_html, report_json
from bontrack.storage.engine import transaction
from factories import ACTOR, DAY, clinic_world, saved_session

KB = load_knowledge()
D = dt.date(2026, 4, 20)
T = pd.Timestamp


def frames(
    sessions: list[tuple[str, str, str]],
    scores: list[tuple[str, str | None, int | None, str, float]],
    events: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    patients: tuple[str, ...] = (),
) -> CohortFrames:
    """sessions: (patient, session, date); scores: NPRS (patient, session, week, date, value);
    events: (session, event, reported date)."""
    ids = sorted({p for p, _, _ in sessions} | {p for p, *_ in scores} | set(patients))
    pat = pd.DataFrame(
        {
            "patient_id": ids,
            "record_number": [f"R-{p}" for p in ids],
            "sex": "female",
            "birth_date": "1970-01-01",
        }
    )
    ses = pd.DataFrame(
        {
            "patient_id": [p for p, _, _ in sessions],
            "session_id": [s for _, s, _ in sessions],
            "date": pd.to_datetime([d for _, _, d in sessions]),
            "product": "onabotulinumtoxinA",
            "total_units": 100.0,
            "physical_therapy": True,
            "decision": "allow",
            "override": False,
        }
    )
    mea = pd.DataFrame(
        {
            "patient_id": [p for p, *_ in scores],
            "session_id": pd.Series([s for _, s, *_ in scores], dtype=object),
            "weeks_after_session": pd.Series([w for _, _, w, _, _ in scores], dtype=float),
            "date": pd.to_datetime([d for *_, d, _ in scores]),
            "instrument": "nprs",
            "score": "pain_intensity",
            "value": [v for *_, v in scores],
        }
    )
    ev = pd.DataFrame(
        {
            "session_id": [s for s, _, _ in events],
            "event": [e for _, e, _ in events],
            "severity": "mild",
            "serious": False,
            "reported_date": pd.to_datetime([d for *_, d in events]),
        }
    )
    return CohortFrames(pat, ses, mea, ev)


SESSIONS = [
    ("A", "a1", "2026-01-05"),
    ("B", "b1", "2026-03-02"),
    ("C", "c1", "2026-04-06"),
    ("E", "e1", "2026-05-01"),  # after D
]
SCORES = [
    ("A", None, None, "2026-01-05", 8.0),
    ("A", "a1", 2, "2026-01-19", 6.0),
    ("A", "a1", 6, "2026-02-16", 4.0),
    ("A", "a1", 12, "2026-03-30", 5.0),
    ("B", None, None, "2026-03-02", 6.0),
    ("B", "b1", 2, "2026-03-16", 5.0),
    ("B", "b1", 6, "2026-04-25", 3.0),  # a late week-6 visit, after D
    ("C", None, None, "2026-04-06", 7.0),
    ("E", None, None, "2026-04-30", 9.0),  # E's first record is after D
]
EVENTS = [
    ("a1", "headache", "2026-01-20"),
    ("b1", "dysphagia", "2026-04-25"),
    ("c1", "headache", "2026-04-10"),
]


def report(f: CohortFrames, day: dt.date = D) -> Any:
    return build_report(f, KB, today=day)


def test_as_of__records_after_the_date_are_left_out_and_patients_counted_by_their_records() -> None:
    r = report(frames(SESSIONS, SCORES, EVENTS, patients=("F",)))
    s = r.summary
    assert r.generated_on == "2026-04-20"
    # A, B, C have a record by D; E's are all later; F has none
    assert (s["patients"], s["patients_treated"], s["sessions"]) == (3, 3, 3)
    assert s["last_session"] == "2026-04-06"
    # b1's week-6 score (04-25) is after D: b1 is judged on nothing but week 2 -> not judged
    assert s["cycles_judged_for_response"] == 1  # a1 only: week 6, 8 -> 4, 50% lower
    assert s["cycles_responded"] == 1


def test_as_of__equals_the_report_of_a_registry_holding_only_records_up_to_the_date() -> None:
    full = report(frames(SESSIONS, SCORES, EVENTS, patients=("F",)))
    kept_sessions = [x for x in SESSIONS if x[2] <= D.isoformat()]
    kept_scores = [x for x in SCORES if x[3] <= D.isoformat()]
    kept_events = [x for x in EVENTS if x[2] <= D.isoformat()]
    copy = report(frames(kept_sessions, kept_scores, kept_events, patients=("E", "F")))
    assert report_json(full) == report_json(copy)


def test_completeness__scored_visits_over_visits_due_by_the_date() -> None:
    s = report(frames(SESSIONS, SCORES, EVENTS)).summary
    # due by 04-20: a1 weeks 2, 6, 12 (03-30); b1 weeks 2 (03-16), 6 (04-13); c1 week 2 (04-20)
    # scored: a1 x3, b1 week 2 -> 4 of 6; not yet due: b1 week 12, c1 weeks 6 and 12 (e1 is after D)
    assert (s["outcome_visits_with_pain_score"], s["outcome_visits_due"]) == (4, 6)
    assert s["outcome_visits_not_yet_due"] == 3


def test_adverse_events__rated_over_sessions_at_least_the_window_old_and_the_rest_counted() -> None:
    window = int(KB.files.pathway.adverse_event_window_days.value)
    assert window == 42
    r = report(frames(SESSIONS, SCORES, EVENTS))
    # D - 42 days = 03-09: a1 (01-05) and b1 (03-02) are rated; c1 (04-06) is too recent;
    # b1's dysphagia was reported after D, so only a1's headache counts: 1 of 2 sessions
    assert r.summary["sessions_rated_for_adverse_events"] == 2
    assert r.summary["sessions_too_recent_for_adverse_events"] == 1
    any_event = next(e for e in r.adverse_events if e.event == "any")
    assert (any_event.cycles, any_event.n_cycles, any_event.k) == (1, 2, 2)
    assert any_event.rate is None and any_event.low is None  # fewer than 10: counts only
    # one session left out: said in the singular, on the page and in the caveats
    html = render_html(r, render_figures(r))
    assert "1 more recent session was left out because its events may not be reported yet" in html
    assert "(1 more recent session left out: its events may not be reported yet)" in html
    assert "(s)" not in re.sub(r"<[^>]+>", "", html)
    # the cohort's counts in words: a, b and c had one cycle each (3 sessions, all allowed)
    assert "<td>1 cycle: 3 patients</td>" in html
    assert "<td>3 sessions allowed</td>" in html  # a decision in words, not its code ("allow: 3")


def test_headline__a_median_not_reached_is_said_in_words() -> None:
    """Before: "Benefit, when it came, lasted a median of not reached."."""
    import dataclasses

    from bontrack.reports.render import headline
    from bontrack.reports.sections.duration import Duration

    r = report(frames(SESSIONS, SCORES, EVENTS))
    kept = Duration(
        cycles_judged=30, cycles_with_benefit=20, events=3, censored=17, median_days=None,
        median_low=None, median_high=None, turnbull_median_low=None, turnbull_median_high=None,
        timeline=[0.0, 42.0, 84.0], survival=[1.0, 0.9, 0.8], ci_low=[1.0, 0.7, 0.6],
        ci_high=[1.0, 1.0, 0.95], censored_days=[84] * 17, event_days=[42] * 3, loss_intervals=[],
    )  # fmt: skip
    said = headline(dataclasses.replace(r, duration=kept))
    words = "Benefit, when it came, had not worn off in half of the cycles by the last visits, 84 days"
    assert f"{words} after the injection (median not reached)." in said
    assert "median of not reached" not in said
    lost = dataclasses.replace(r, duration=dataclasses.replace(kept, median_days=63.0))
    assert "Benefit, when it came, lasted a median of 63 days." in headline(lost)


def test_small_numbers__counts_only_no_bar_and_no_nan_anywhere() -> None:
    r = report(frames(SESSIONS, SCORES, EVENTS))
    assert r.responders and all(x.n < MIN_JUDGED for x in r.responders)
    assert all(x.rate is None and x.low is None and x.high is None for x in r.responders)
    assert all(x.mean is None for x in r.changes)
    assert r.evidence.clinic_change is None and all(a.source != "This clinic" for a in r.evidence.arms)
    figures = render_figures(r)
    assert "responders" not in figures and "adverse_events" not in figures  # no bar for too few
    html = render_html(r, figures)
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    assert "too few to estimate" in text and "as of 2026-04-20" in text.lower()
    assert not re.search(r"\b(nan|inf|NaN|None)\b", text)
    # on a phone each cell is a "Column: value" line: none has an empty column name (a lone ": ")
    template = (Path(reports.__file__).parent / "templates" / "report.html.j2").read_text()
    assert 'data-label=""' not in template and 'data-label=""' not in html

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the JSON")

    data = json.loads(report_json(r), parse_constant=refuse)
    week2 = next(x for x in data["responders"] if x["weeks"] == 2 and x["scope"] == "first cycles")
    assert (week2["n"], week2["responders"], week2["k"], week2["rate"]) == (2, 0, 2, None)
    assert set(data["definitions"]) >= {"as_of", "each_score_once", "completeness", "all_cycles"}


def test_one_response_rule__the_decision_engine_judges_week_6_not_week_2(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)

        def nprs(day: dt.date, value: int, session_id: str | None = None, weeks: int | None = None) -> None:
            record_outcome(
                db=db,
                actor=ACTOR,
                data=OutcomeCreate(
                    patient_id=world.patient_id,
                    episode_id=world.episode_id,
                    instrument="nprs",
                    date=day,
                    answers={"1": value},
                    session_id=session_id,
                    weeks_after_session=weeks,
                ),
            )

        nprs(DAY, 8)
        s1 = saved_session(db, world)
        nprs(DAY + dt.timedelta(weeks=2), 2, s1.id, 2)  # 75% lower at week 2 ...
        nprs(DAY + dt.timedelta(weeks=6), 7, s1.id, 6)  # ... but only 12.5% at week 6: no response
        s2 = saved_session(db, world, day=DAY + dt.timedelta(weeks=13))
        nprs(DAY + dt.timedelta(weeks=15), 2, s2.id, 2)  # week 2 alone: not judged
        got = cycle_responses(db=db, actor=ACTOR, patient_id=world.patient_id, sessions=[s1, s2])
    assert got == {s1.id: False, s2.id: None}
