"""What clinicians did about worklist items, stored append-only (worklist_action records), and
the worklist as it stands once they are applied.

* done, cancelled (with a reason): the item leaves the list;
* snoozed to a date: the item leaves the list until that date, then comes back;
* contacted: the item stays, with the day the patient was contacted;
* review done (a stop-and-review flag), with the decision: continue, change product or dose,
  stop. The flag leaves the list until a later session is judged again.

The latest action of an item counts (by the day of the action, then the time it was recorded);
a correction is a new version of the action (the old one stays in its history) and a withdrawn
action no longer counts. Every write and read is audited (bontrack.records, bontrack.queries).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bontrack import records
from bontrack.actor import list_scope
from bontrack.errors import FieldError, InputError
from bontrack.patients.service import get_patient
from bontrack.queries import audit_reads, current_frame
from bontrack.scheduling.models import WorklistActionRow
from bontrack.scheduling.schemas import (
    ACTION_WORDS,
    DECISION_WORDS,
    KIND_WORDS,
    DueItem,
    ReviewItem,
    WorklistActionCreate,
    WorklistActionRead,
)
from bontrack.scheduling.window import Window

CLOSING = frozenset({"done", "cancelled", "reviewed"})


def _check(data: WorklistActionCreate) -> None:
    """Each action carries what it needs, and nothing it does not; errors name the field."""
    errors: list[FieldError] = []
    if data.action == "cancelled" and not data.reason:
        errors.append(FieldError("reason", "say why the item is cancelled"))
    if data.action == "snoozed" and (data.snooze_until is None or data.snooze_until <= data.on):
        errors.append(FieldError("snooze_until", "give a date after the day of the action to snooze to"))
    if data.action != "snoozed" and data.snooze_until is not None:
        errors.append(FieldError("snooze_until", "only a snoozed item has a date to snooze to"))
    if (data.action == "reviewed") != (data.kind == "stop_review"):
        errors.append(
            FieldError("action", "a stop-and-review flag is marked 'review done'; other items are not")
        )
    if data.action == "reviewed" and data.decision is None:
        errors.append(FieldError("decision", "choose continue, change product or dose, or stop"))
    if data.action != "reviewed" and data.decision is not None:
        errors.append(FieldError("decision", "only a review done has a decision"))
    if errors:
        raise InputError(errors)


def record_action(*, db: Session, actor: str, data: WorklistActionCreate) -> WorklistActionRead:
    """Save what was done about an item of a patient the actor sees (else: patient not found)."""
    _check(data)
    patient = get_patient(db=db, actor=actor, patient_id=data.patient_id)
    row = records.create(db, row_cls=WorklistActionRow, data=data, clinic_id=patient.clinic_id, actor=actor)
    return records.to_read(row, WorklistActionCreate)


def correct_action(
    *, db: Session, actor: str, action_id: str, data: WorklistActionCreate, reason: str
) -> WorklistActionRead:
    """A corrected version of an action (same patient and item); the earlier one stays in its history."""
    _check(data)
    current = records.get(db, row_cls=WorklistActionRow, record_id=action_id, actor=actor, field="action_id")
    if (current.data["patient_id"], current.data["item_key"]) != (data.patient_id, data.item_key):
        raise InputError.one("item_key", "a correction stays with the same patient and item")
    row = records.update(
        db, row_cls=WorklistActionRow, record_id=action_id, data=data, actor=actor, reason=reason
    )
    return records.to_read(row, WorklistActionCreate)


def action_history(*, db: Session, actor: str, action_id: str) -> list[WorklistActionRead]:
    rows = records.history(db, row_cls=WorklistActionRow, record_id=action_id, actor=actor)
    return [records.to_read(r, WorklistActionCreate) for r in rows]


def actions_of_patient(*, db: Session, actor: str, patient_id: str) -> list[WorklistActionRead]:
    """A patient's current actions, oldest first (for the chart's timeline); audited."""
    rows = records.find_current(
        db, row_cls=WorklistActionRow, actor=actor, purpose="chart", patient_id=patient_id
    )
    reads = [records.to_read(r, WorklistActionCreate) for r in rows]
    return sorted(reads, key=lambda a: (a.data.on, a.recorded_at))


def action_words(action: WorklistActionCreate) -> str:
    """The action in words, as the chart's timeline shows it: "Stop and review: review done,
    decision: change product or dose"; "Outcome visit (2-week outcome visit after ...): done"."""
    text = ACTION_WORDS[action.action]
    if action.decision:
        text += f", decision: {DECISION_WORDS[action.decision]}"
    if action.snooze_until:
        text += f" until {action.snooze_until}"
    if action.reason:
        text += f" ({action.reason})"
    item = KIND_WORDS[action.kind] + (
        f" ({action.what})" if action.what and action.kind != "stop_review" else ""
    )
    return f"{item}: {text}"


@dataclass(frozen=True)
class Latest:
    """The latest action of one item."""

    action: str
    on: dt.date
    snooze_until: dt.date | None
    words: str


def latest_actions(*, db: Session, actor: str, clinic_id: str | None, purpose: str) -> dict[str, Latest]:
    """The latest current action of every item of the clinic (one read, audited with its count)."""
    scope = list_scope(actor, clinic_id)
    frame = current_frame(
        db,
        WorklistActionRow,
        scope,
        ("item_key", "action", "on", "snooze_until", "decision", "reason"),
        columns=("recorded_at",),
    )
    audit_reads(db, actor=actor, clinic_id=scope, purpose=purpose, read={"worklist_action": len(frame)})
    found: dict[str, tuple[Any, Latest]] = {}
    for key, action, on, until, decision, reason, recorded_at in zip(
        frame["item_key"],
        frame["action"],
        frame["on"],
        frame["snooze_until"],
        frame["decision"],
        frame["reason"],
        frame["recorded_at"],
        strict=True,
    ):
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


@dataclass
class Worked:
    """The worklist on a day once the actions are applied, within the window."""

    items: list[DueItem]  # listed: open, not snoozed, due within the window
    older: int  # open, due before the window's look-back (overdue or eligible): counted, not listed
    closed: int  # done or cancelled (not listed)
    snoozed: int  # snoozed to a later day (not listed)
    reviews: list[ReviewItem] = field(default_factory=list)  # stop-and-review flags not yet reviewed


def _verdict(last: Latest | None, due: dt.date, today: dt.date, since: dt.date, everything: bool) -> str:
    """Whether an item is listed, or left out as closed, snoozed or older than the look-back."""
    if last is not None and last.action in CLOSING:
        return "closed"
    if last is not None and last.action == "snoozed" and last.snooze_until and last.snooze_until > today:
        return "snoozed"
    if due < since and not everything:  # overdue, or a re-injection allowed long ago
        return "older"
    return "listed"


def _noted(item: DueItem, last: Latest | None) -> DueItem:
    if last is None:
        return item
    return item.model_copy(
        update={"last_action": last.action, "last_action_on": last.on, "last_action_note": last.words}
    )


def apply_actions(
    items: list[DueItem],
    reviews: list[ReviewItem],
    latest: dict[str, Latest],
    *,
    today: dt.date,
    window: Window,
    everything: bool = False,
) -> Worked:
    """Drop what is done, cancelled or snoozed; count the open items older than the look-back
    (``everything``: list them too); note the last action on what stays."""
    since = window.since(today)
    counts = {"closed": 0, "snoozed": 0, "older": 0}
    listed: list[DueItem] = []
    for item in items:
        verdict = _verdict(latest.get(item.key), item.due_date, today, since, everything)
        if verdict == "listed":
            listed.append(_noted(item, latest.get(item.key)))
        else:
            counts[verdict] += 1
    open_reviews = [r for r in reviews if r.key not in latest or latest[r.key].action != "reviewed"]
    return Worked(listed, counts["older"], counts["closed"], counts["snoozed"], open_reviews)


def work_list(
    *,
    db: Session,
    actor: str,
    today: dt.date,
    window: Window,
    clinic_id: str | None = None,
    everything: bool = False,
) -> Worked:
    """The worklist the pages, ``bontrack due`` and the summary show: due items up to the
    window's look-ahead and stop-and-review flags, with the clinicians' actions applied. What is
    left out is decided before the patients are read, so only the patients listed are read (and
    audited); an item of a withdrawn patient left out is still counted."""
    from bontrack.scheduling.service import stop_and_review, worklist

    latest = latest_actions(db=db, actor=actor, clinic_id=clinic_id, purpose="worklist: actions")
    since = window.since(today)
    counts = {"closed": 0, "snoozed": 0, "older": 0}

    def keep(key: str, due: dt.date) -> bool:  # decided before any patient is read
        verdict = _verdict(latest.get(key), due, today, since, everything)
        if verdict != "listed":
            counts[verdict] += 1
        return verdict == "listed"

    items = worklist(
        db=db, actor=actor, today=today, horizon_days=window.look_ahead_days, clinic_id=clinic_id, keep=keep
    )
    reviews = stop_and_review(db=db, actor=actor, clinic_id=clinic_id)
    worked = apply_actions(items, reviews, latest, today=today, window=window, everything=everything)
    worked.older, worked.closed, worked.snoozed = counts["older"], counts["closed"], counts["snoozed"]
    return worked
