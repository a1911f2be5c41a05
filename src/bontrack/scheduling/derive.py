"""Due items from a set of patients' records: the one derivation shared by the table kept as records
are written (bontrack.scheduling.due, one patient at a time) and the from-scratch rebuild of a
clinic (all its patients at once). Pure: facts in, rows out; no database.

* outcome visits at the knowledge base's weeks after each session (pathway.outcome_visit_weeks);
  a visit is done when an outcome names that session and week; it lapses once a later session
  took place on or before its date, or once a later visit of the same cycle was recorded (a
  2-week visit missed and the 6-week one made: the 2-week measurement can no longer be taken);
* the earliest re-injection date after a patient's latest session (the product's
  min_retreatment_days);
* the next planned physical-therapy visit of each plan (start date, visits per week, weeks); it
  lapses once the plan is superseded: a newer plan of the patient (by start date, then recording
  time, then id) starts on or before its date or has a visit recorded, or an injection session is
  dated after the plan's last day (a new cycle began after the plan's period). So a plan whose
  last visit was never recorded does not stay overdue once the patient moved on, and two plans of
  one period (history imported as it was) give one item, the newer plan's;
* stop-and-review: patients whose latest judged cycles brought no response (the clinic report's
  rule, bontrack.analytics.review; pathway.stop_review_cycles_without_response and
  pathway.cycle_response), dated by their last session. A flag that holds only once the last
  cycle awaiting its visits inside the run lapses (clinical.review.flagged_from) keeps that day
  in ``shown_from``, and the list shows it from then: a flag that time alone turns on needs no
  write. Over data frames for many patients (the rebuild, a bulk block's thousands), over each
  patient's plain lists for a few (a write: frames cost more than the write itself); the two
  forms of the rule are analytics.response_rules', and give the same items
  (tests/scheduling/test_due_items_kept.py checks every demo patient);
* adverse-event follow-up (kind ``adverse_event``): one item per adverse event that is open
  (bontrack.injections.ae_terms.is_open: status recovering, ongoing or unknown; a record without
  a status judged by its outcome note's first word) or serious (``serious`` ticked, or status
  fatal: a death is a serious event by definition). Due on the day the event was reported
  (``reported_date``: the day the clinic learnt of it, so it is not shown as overdue for days
  it could not have been followed up; its onset is in the words), so it stays overdue until dealt
  with: no clinical number is needed. Keyed by the event alone (a corrected date keeps the item
  and its actions), assigned to the session's injector. It lapses once the event is neither open
  nor serious (a correction to resolved); a serious event stays, whatever its status, until a
  worklist action closes it (Done, or cancelled with a reason): someone must review every
  serious event, and whether it was already resolved when recorded or corrected to resolved
  later cannot be told from the current records alone. A withdrawn event gives no item.

Every item carries the latest worklist action on it (by the day of the action, then the time it
was recorded). Items are kept whatever their date: the window is applied when they are read.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bontrack.analytics.patient_rules import Score, cycle_judgements, review_cycles
from bontrack.clinical.review import flagged_from
from bontrack.dates import clamp_text, shift
from bontrack.injections.ae_terms import is_open, words
from bontrack.knowledge import KnowledgeBase
from bontrack.scheduling.schemas import ACTION_WORDS, DECISION_WORDS, item_key


def planned_dates(start: dt.date, per_week: int, weeks: int) -> list[dt.date]:
    """Visit dates spread evenly over each week of a therapy plan."""
    return [
        shift(start, 7 * week + (7 * i) // per_week)  # stops at the calendar's end (year 9999)
        for week in range(weeks)
        for i in range(per_week)
    ]


@dataclass(frozen=True)
class Latest:
    """The latest action of one item."""

    action: str
    on: dt.date
    snooze_until: dt.date | None
    words: str


@dataclass(frozen=True)
class Event:
    """An adverse event as its follow-up item reads it (ae_terms.Judged: ``status``, ``outcome``)."""

    id: str
    patient_id: str
    session_id: str | None
    onset: dt.date
    reported: dt.date
    event: str
    serious: bool
    status: str | None
    outcome: str


EVENT_WORDS = 120  # an event's own words in the item, at most (the action form keeps 300 of "what")


def event_words(e: Event) -> str:
    """The follow-up in words: "Follow up dysphagia (serious), began 2026-05-03, still ongoing"."""
    name = " ".join(e.event.split())
    name = name if len(name) <= EVENT_WORDS else name[: EVENT_WORDS - 1] + "…"
    if e.status == "ongoing":
        state = "still ongoing"
    elif e.status is None:
        state = "status not recorded"
    else:
        state = words("status", e.status).lower()
        state = f"status {state}" if e.status == "unknown" else state
    return f"Follow up {name}{' (serious)' if e.serious else ''}, began {e.onset}, {state}"


def needs_follow_up(e: Event) -> bool:
    """Open, or serious (ticked, or fatal): see the module's docstring."""
    return e.serious or e.status == "fatal" or is_open(e)


@dataclass
class Facts:
    """What the due items of some patients derive from (current, non-withdrawn records only)."""

    patients: dict[str, tuple[str, str]]  # patient id -> (clinic id, record number)
    # (session id, patient id, date, product, recorded at, injector id)
    sessions: list[tuple[str, str, dt.date, str, Any, str]] = field(default_factory=list)
    follow_ups: set[tuple[str, Any]] = field(default_factory=set)  # (session id, weeks after session)
    # (plan id, patient id, start date, visits per week, weeks, therapist id, recorded at)
    plans: list[tuple[str, str, dt.date, int, int, str, Any]] = field(default_factory=list)
    visits: dict[str, int] = field(default_factory=dict)  # plan id -> therapy visits recorded
    # the review rule's instrument's outcomes, as stored, in the order of their ids: (patient id,
    # session id, weeks after session, date, the rule's score)
    scores: list[tuple[str, Any, Any, Any, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)  # adverse events
    # (item key, action, on, snooze until, decision, reason, recorded at)
    actions: list[tuple[str, str, str, str | None, str | None, str | None, Any]] = field(default_factory=list)


def latest_of(
    actions: list[tuple[str, str, str, str | None, str | None, str | None, Any]],
) -> dict[str, Latest]:
    """The latest action of each item key."""
    found: dict[str, tuple[Any, Latest]] = {}
    for key, action, on, until, decision, reason, recorded_at in actions:
        day = dt.date.fromisoformat(on)
        order = (day, recorded_at)
        if key in found and found[key][0] >= order:
            continue
        snooze = dt.date.fromisoformat(until) if until else None
        words = ACTION_WORDS[action] + (f", decision: {DECISION_WORDS[decision]}" if decision else "")
        words += f" until {snooze}" if snooze else ""
        words += f" ({reason})" if reason else ""
        found[key] = (order, Latest(action, day, snooze, words))
    return {key: latest for key, (_, latest) in found.items()}


def derive(facts: Facts, kb: KnowledgeBase, *, frames: bool = False) -> list[dict[str, Any]]:
    """The due items (rows of the ``due_items`` table) of the patients in ``facts``; ``frames``:
    stop-and-review over data frames (the rebuild from scratch, the report's rule as it runs it)
    or over plain lists (the patients a write touched, however many: an import's parts of 2,000
    too). Measured on the 10,000-patient demo registry, reads and derivation: one patient 1.7 ms
    of CPU plain, 52 ms with frames (building them is the cost); 1,000 patients 0.94 s plain and
    0.85 s with frames (the reads dominate). Plain for every write, so a command that writes
    records never loads pandas (about 95 MB of memory and 0.3 s of start: the import's peak)."""
    weeks = kb.files.pathway.outcome_visit_weeks.weeks
    latest = latest_of(facts.actions)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(
        kind: str,
        patient_id: str,
        due: dt.date,
        what: str,
        shown_from: dt.date | None = None,
        **ids: str | None,
    ) -> None:
        if patient_id not in facts.patients:  # a withdrawn patient has no items
            return
        record_id = ids.get("event_id") or ids.get("session_id") or ids.get("plan_id")
        key = item_key(kind, record_id, None if kind in NO_DATE else due)
        if key in seen:  # dates at the calendar's end (a stored year 9999) fall on one day: one item
            return
        seen.add(key)
        last = latest.get(key)
        clinic_id, record_number = facts.patients[patient_id]
        rows.append(
            {
                "clinic_id": clinic_id,
                "patient_id": patient_id,
                "item_key": key,
                "kind": kind,
                "due_date": due,
                "record_number": record_number,
                "what": what,
                "session_id": ids.get("session_id"),
                "plan_id": ids.get("plan_id"),
                "clinician_id": ids.get("clinician_id"),
                "last_action": last.action if last else None,
                "last_action_on": last.on if last else None,
                "snooze_until": last.snooze_until if last and last.action == "snoozed" else None,
                "last_action_note": last.words if last else "",
                "shown_from": shown_from,  # a flag that time alone turns on: the day it does
            }
        )

    sessions: dict[str, list[tuple[dt.date, Any, str, str, str]]] = defaultdict(list)
    for sid, pid, day, product, recorded_at, by in facts.sessions:
        sessions[pid].append((day, recorded_at, sid, product, by))
    for patient_id, own in sessions.items():
        own.sort(key=lambda s: (s[0], s[1], s[2]))  # date, recording time, id
        for n, (day, _, sid, _, by) in enumerate(own):
            next_day = own[n + 1][0] if n + 1 < len(own) else None
            for week in weeks:
                due = shift(day, 7 * week)
                if (sid, week) in facts.follow_ups or (next_day is not None and next_day <= due):
                    continue
                if any((sid, later) in facts.follow_ups for later in weeks if later > week):
                    continue  # a later visit of the cycle was recorded: this one can no longer be made
                what = f"{week}-week outcome visit after {day}"
                add("outcome_visit", patient_id, due, what, session_id=sid, clinician_id=by)
        day, _, sid, product, by = own[-1]
        gap = int(kb.product(product).min_retreatment_days.value)
        what = f"earliest re-injection ({product}, {gap} days after {day})"
        add("reinjection", patient_id, shift(day, gap), what, session_id=sid, clinician_id=by)

    plans: dict[str, list[tuple[dt.date, Any, str, int, int, str]]] = defaultdict(list)
    for plan_id, patient_id, start, per_week, plan_weeks, therapist, recorded_at in facts.plans:
        plans[patient_id].append((start, recorded_at, plan_id, per_week, plan_weeks, therapist))
    for patient_id, own_plans in plans.items():
        own_plans.sort(key=lambda p: (p[0], p[1], p[2]))  # start date, recording time, id
        session_days = [s[0] for s in sessions.get(patient_id, [])]
        for n, (start, _, plan_id, per_week, plan_weeks, therapist) in enumerate(own_plans):
            planned = planned_dates(start, per_week, plan_weeks)
            done = facts.visits.get(plan_id, 0)
            if done >= len(planned):
                continue
            due = planned[done]
            newer = own_plans[n + 1 :]
            if any(p[0] <= due or facts.visits.get(p[2], 0) for p in newer):
                continue  # superseded by a newer plan under way
            last = shift(start, 7 * plan_weeks - 1)
            if any(day > last for day in session_days):
                continue  # a new cycle began after the plan's period
            what = f"physical therapy visit {done + 1} of {len(planned)}"
            add("therapy_visit", patient_id, due, what, plan_id=plan_id, clinician_id=therapist)

    n = review_cycles(kb)
    to_review = (_to_review if frames else _to_review_plain)(sessions, facts.scores, kb)
    for patient_id, (sid, day, since) in to_review.items():
        what = f"no response in the last {n} judged cycles: stop and review before another injection"
        add("stop_review", patient_id, day, what, since if since > day else None, session_id=sid)

    injector = {sid: by for sid, _, _, _, _, by in facts.sessions}
    for e in facts.events:
        if needs_follow_up(e):
            injected_by = injector.get(e.session_id) if e.session_id else None
            what = event_words(e)
            add(
                "adverse_event",
                e.patient_id,
                e.reported,
                what,
                event_id=e.id,
                session_id=e.session_id,
                clinician_id=injected_by,
            )
    return rows


NO_DATE = frozenset({"reinjection", "stop_review", "adverse_event"})  # keyed by their session alone


Sessions = dict[str, list[tuple[dt.date, Any, str, str, str]]]  # patient id -> (date, recorded at, id, ...)


def _to_review(
    sessions: Sessions, scores: list[tuple[str, Any, Any, Any, Any]], kb: KnowledgeBase
) -> dict[str, tuple[str, dt.date, dt.date]]:
    """Patients to stop and review -> (their last session, its date, the day the flag holds
    from: ``clinical.review.flagged_from``), by analytics.review's rule over data frames (the
    clinic report's), as once every awaited visit has passed."""
    import pandas as pd  # (the frames' form only: a write takes the plain one, below)

    from bontrack.analytics.cycles import number_cycles, sort_rows
    from bontrack.analytics.review import due_for_review, responses
    from bontrack.outcomes.models import OUTCOME_PATHS
    from bontrack.queries import measurements_frame

    n = review_cycles(kb)
    candidates = {pid: own for pid, own in sessions.items() if len(own) >= n}  # fewer cycles: never
    rule = kb.files.pathway.cycle_response
    if not candidates or not scores:
        return {}
    frame = pd.DataFrame(
        [(pid, sid, day.isoformat(), at) for pid, own in candidates.items() for day, at, sid, _, _ in own],
        columns=["patient_id", "session_id", "date", "recorded_at"],
    )
    # as the report reads them (bontrack.queries.dates_series): a date outside 1900..2100 at that edge
    frame["date"] = pd.to_datetime(frame["date"].map(clamp_text), format="%Y-%m-%d")
    numbered = number_cycles(frame).reset_index(drop=True)  # by date, then recording time, then id
    # the outcomes as the report reads them (bontrack.queries.review_frames)
    outcomes = pd.DataFrame(
        [(pid, sid, weeks, day, rule.instrument, value) for pid, sid, weeks, day, value in scores],
        columns=[*OUTCOME_PATHS, rule.score],
        dtype=object,
    )
    measurements = measurements_frame(outcomes, [rule.score])
    wanted = measurements[measurements["patient_id"].isin(candidates)]
    responded = responses(numbered, wanted, kb)
    # flagged once every awaited visit has passed; the item is dated from the day it holds
    due = set(due_for_review(numbered, wanted, kb, today=None, responded=responded))
    judged = dict(zip(responded["session_id"], responded["responded"], strict=True))
    mine = sort_rows(numbered[numbered["patient_id"].isin(due)], ["patient_id", "cycle"])
    own: dict[str, list[tuple[str, dt.date, bool | None]]] = defaultdict(list)
    for pid, sid, day in zip(mine["patient_id"], mine["session_id"], mine["date"], strict=True):
        own[str(pid)].append((str(sid), pd.Timestamp(day).date(), judged.get(sid)))
    found: dict[str, tuple[str, dt.date, dt.date]] = {}
    for pid, cycles in own.items():
        since = flagged_from([(day, j) for _, day, j in cycles], n, rule.judged_at_weeks)
        if since is not None:
            found[pid] = (cycles[-1][0], cycles[-1][1], since)
    return found


def _to_review_plain(
    sessions: Sessions, scores: list[tuple[str, Any, Any, Any, Any]], kb: KnowledgeBase
) -> dict[str, tuple[str, dt.date, dt.date]]:
    """``_to_review`` over each patient's plain lists (analytics.response_rules' plain form)."""
    n = review_cycles(kb)
    candidates = {pid: own for pid, own in sessions.items() if len(own) >= n}  # fewer cycles: never
    if not candidates or not scores:
        return {}
    rule = kb.files.pathway.cycle_response
    own_scores: dict[str, list[Score]] = defaultdict(list)
    for pid, sid, weeks, day, value in scores:
        number = _number(value)
        if pid not in candidates or number is None or not isinstance(day, str):
            continue
        week = _number(weeks)
        linked = sid if week is not None else None
        own_scores[pid].append((clamp_text(day), linked, None if week is None else int(week), number))
    found: dict[str, tuple[str, dt.date, dt.date]] = {}
    for pid, own in candidates.items():
        # the one cycle order (analytics.cycles.number_cycles): date as the report reads it (a
        # date outside 1900..2100 at that edge), then recording time, then id
        cycles = sorted((clamp_text(day.isoformat()), at, sid) for day, at, sid, _, _ in own)
        judged = cycle_judgements(
            [(sid, day) for day, _, sid in cycles],
            own_scores.get(pid, []),
            min_improvement_percent=rule.min_improvement_percent,
            judged_at_weeks=rule.judged_at_weeks,
        )
        dated = [(dt.date.fromisoformat(day), j) for (day, _, _), j in zip(cycles, judged, strict=True)]
        since = flagged_from(dated, n, rule.judged_at_weeks)  # once every awaited visit has passed
        if since is not None:
            found[pid] = (cycles[-1][2], dt.date.fromisoformat(cycles[-1][0]), since)
    return found


def _number(value: Any) -> float | None:
    """A stored value as the frames read it (bontrack.queries.number_series: pandas' to_numeric,
    what is not a number left out)."""
    if isinstance(value, bool | int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return None if math.isnan(number) else number
