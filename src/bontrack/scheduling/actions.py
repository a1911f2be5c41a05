"""What clinicians did about worklist items, stored append-only (worklist_action records), and
the worklist as it stands once they are applied.

* done, cancelled (with a reason): the item leaves the list;
* snoozed to a date: the item leaves the list until that date, then comes back;
* contacted: the item stays, with the day the patient was contacted;
* review done (a stop-and-review flag), with the decision: continue, change product or dose,
  stop. The flag leaves the list until a later session is judged again. Only a physician records
  it (bontrack.scheduling.deciders); the other roles see the flag, not the decision's form.

The latest action of an item counts (by the day of the action, then the time it was recorded);
a correction is a new version of the action (the old one stays in its history) and a withdrawn
action no longer counts. Every write and read is audited (bontrack.records, bontrack.queries).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, false, func, literal, or_, select, true
from sqlalchemy.orm import Session

from bontrack import record_reads, records
from bontrack.actor import list_scope
from bontrack.errors import FieldError, InputError
from bontrack.patients.service import get_patient
from bontrack.queries import audit_reads, current_frame
from bontrack.scheduling.deciders import check_decider
from bontrack.scheduling.derive import Latest, latest_of
from bontrack.scheduling.due_query import (
    DAY,
    EVENT,
    REVIEW,
    Dates,
    T,
    early,
    flag_on,
    in_scope,
    is_event,
    items_of,
    listed_rows,
    meet,
    not_reviewed,
    page_rows,
    review_rows,
    reviews_of,
    segments,
    within,
)
from bontrack.scheduling.kind import WORKLIST_ACTION
from bontrack.scheduling.models import DueItemRow, WorklistActionRow
from bontrack.scheduling.schemas import (
    ACTION_WORDS,
    DECISION_WORDS,
    KIND_WORDS,
    DueItem,
    ReviewItem,
    Status,
    WorklistActionCreate,
    WorklistActionRead,
)
from bontrack.scheduling.window import Window
from bontrack.writers import check_writer

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
        choices = ", ".join(DECISION_WORDS.values())
        errors.append(FieldError("decision", f"is required: choose one of {choices}"))
    if data.action != "reviewed" and data.decision is not None:
        errors.append(FieldError("decision", "only a review done has a decision"))
    if errors:
        raise InputError(errors)


def record_action(*, db: Session, actor: str, data: WorklistActionCreate) -> WorklistActionRead:
    """Save what was done about an item of a patient the actor sees (else: patient not found); a
    stop-and-review decision only by a role that may make it (bontrack.scheduling.deciders)."""
    check_decider(actor, data)
    _check(data)
    patient = get_patient(db=db, actor=actor, patient_id=data.patient_id)
    row = records.create(db, row_cls=WorklistActionRow, data=data, clinic_id=patient.clinic_id, actor=actor)
    return records.to_read(row, WorklistActionCreate)


def correct_action(
    *, db: Session, actor: str, action_id: str, data: WorklistActionCreate, reason: str
) -> WorklistActionRead:
    """A corrected version of an action (same patient and item); the earlier one stays in its
    history. By a role that may record it as it was and as corrected (a stop-and-review decision:
    a physician; bontrack.scheduling.deciders), else 403 on every face."""
    check_decider(actor, data, action="update")
    _check(data)
    current = records.get(db, row_cls=WorklistActionRow, record_id=action_id, actor=actor, field="action_id")
    check_decider(actor, current.data, action="update")  # nor undo a physician's decision
    check_writer(actor, WORKLIST_ACTION, current.data, action="update", record_id=action_id)
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
    reads = record_reads.find_current_read(
        db,
        row_cls=WorklistActionRow,
        schema=WorklistActionCreate,
        actor=actor,
        purpose="chart",
        patient_id=patient_id,
    )
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
    columns = ("item_key", "action", "on", "snooze_until", "decision", "reason", "recorded_at")
    return latest_of(list(zip(*(frame[c] for c in columns), strict=True)))


@dataclass
class Worked:
    """The worklist on a day once the actions are applied, within the window."""

    items: list[DueItem]  # listed: open, not snoozed, due within the window (the page asked for)
    older: int  # open, due before the look-back (not an adverse event's): counted, not listed
    closed: int  # done or cancelled (not listed)
    snoozed: int  # snoozed to a later day (not listed)
    reviews: list[ReviewItem] = field(default_factory=list)  # stop-and-review flags not yet reviewed
    total: int = 0  # items listed (those the filters keep), of which ``items`` is the page asked for
    overdue: int = 0  # of those, overdue
    review_total: int = 0  # stop-and-review flags not yet reviewed, of which ``reviews`` are shown
    by_status: dict[Status, int] = field(default_factory=dict)  # ``total`` by status (overdue, due, ...)


@dataclass(frozen=True)
class Filters:
    """The worklist page's filters, applied in the query: a kind, overdue only, a clinician."""

    kind: str = ""
    overdue: bool = False
    clinician_id: str = ""


def window_conditions(
    scope: str | None, today: dt.date, window: Window
) -> tuple[list[ColumnElement[bool]], ColumnElement[bool], ColumnElement[bool], ColumnElement[bool]]:
    """In SQL, on the due items: (in the clinic and up to the look-ahead, not a stop-and-review
    flag; open; closed: done or cancelled; snoozed to a later day). Each condition is true or
    false, never NULL, so that its negation is the rest."""
    closed = and_(T.last_action.is_not(None), T.last_action.in_(sorted(CLOSING)))
    snoozed = and_(T.last_action.is_not(None), T.last_action == "snoozed", T.snooze_until.is_not(None))
    snoozed = and_(snoozed, T.snooze_until > today)
    in_window = [*in_scope(scope), T.kind != "stop_review", T.due_date <= window.until(today)]
    return in_window, and_(~closed, ~snoozed), closed, snoozed


def listed_conditions(
    scope: str | None,
    today: dt.date,
    window: Window,
    *,
    everything: bool = False,
    filters: Filters = Filters(),
) -> tuple[Dates, list[ColumnElement[bool]]]:
    """What the list holds, in SQL: the range of due dates (the window's; from the first with
    ``everything``) and the other conditions (the clinic, open items, the filters). Open
    adverse-event items due before the range's first date are listed too, whatever their due
    date (an unreviewed serious event must not drop into a count): due_query.parts reads them
    as a range of their own partial index (migration 0024), before the overdue."""
    _, open_, _, _ = window_conditions(scope, today, window)
    dates: Dates = (None if everything else window.since(today), window.until(today))
    listed = [*in_scope(scope), T.kind != REVIEW, open_]
    if filters.kind:
        listed.append(is_event() if filters.kind == EVENT else T.kind == filters.kind)
    if filters.clinician_id:
        listed.append(T.clinician_id == filters.clinician_id)
    if filters.overdue:
        listed.append(T.kind != "reinjection")
        dates = meet(dates, (None, today - DAY))
    return dates, listed


@dataclass(frozen=True)
class Counts:
    closed: int  # done or cancelled, up to the look-ahead
    snoozed: int  # snoozed to a later day, up to the look-ahead
    older: int  # open, due before the look-back, not an adverse event (0 with ``everything``)
    flags: int  # stop-and-review flags not yet reviewed
    by_status: dict[Status, int]  # the items listed (the filters kept), by status


def _counts(
    db: Session,
    scope: str | None,
    today: dt.date,
    window: Window,
    dates: Dates,
    listed: list[ColumnElement[bool]],
    *,
    everything: bool,
) -> Counts:
    """Every count of the worklist in one query, each part a range of an index and no row read:
    the clinic's items due before the look-back (the one part that grows with its history: a
    plain count of one index range), the stop-and-review flags (their own partial index), the
    items with an action (theirs: the few whose counts need conditions), and the items listed
    (``dates``, ``listed``) by status, with the open adverse events due before the look-back
    (their own partial index, 0024: listed, not older). Evaluating the actions' and kinds'
    conditions for every item of the clinic's history, in one scan, cost most of the home
    page's query."""
    # the flags' index is partial: its condition written as it is (PostgreSQL's generic plans do
    # not look into a bound value)
    flag = T.kind == literal(REVIEW, literal_execute=True)
    until, since = window.until(today), window.since(today)
    closed = T.last_action.in_(sorted(CLOSING))
    snoozed = and_(T.last_action == "snoozed", T.snooze_until.is_not(None), T.snooze_until > today)
    table = DueItemRow.__table__
    scoped = in_scope(scope)
    history = (  # every kind: the flags' share is taken off below
        select(func.count().label("all_before"))
        .select_from(table)
        .where(*scoped, T.due_date < since)
        .cte("history")
    )
    on = flag_on(today)  # (a flag shown from a later day is not on yet)
    flags = (  # ix_due_items_flags (migration 0017; with the day each flag is shown from, 0021)
        select(
            func.count().filter(on).label("flags"),
            func.count().filter(T.due_date < since).label("flags_before"),  # every flag: history's
            func.count().filter(and_(on, T.last_action == "reviewed")).label("reviewed"),
        )
        .select_from(table)
        .where(*scoped, flag)
        .cte("flags")
    )
    acted = (  # ix_due_items_acted (migration 0017)
        select(
            func.count().filter(and_(T.due_date <= until, closed)).label("closed"),
            func.count().filter(and_(T.due_date <= until, snoozed)).label("snoozed"),
            func.count().filter(and_(T.due_date < since, or_(closed, snoozed))).label("put_by"),
        )
        .select_from(table)
        .where(*scoped, T.last_action.is_not(None), T.kind != REVIEW)
        .cte("acted")
    )
    _, open_, _, _ = window_conditions(scope, today, window)
    ahead = early(dates)  # the adverse events listed before the list's dates (None: none)
    events = (  # ix_due_items_events (migration 0024): listed whatever their due date while open
        select(
            func.count().filter(and_(T.due_date < since, open_)).label("events_before"),
            func.count().filter(and_(*listed, *within(ahead)) if ahead else false()).label("early"),
        )
        .select_from(table)
        .where(*scoped, is_event())
        .cte("events")
    )
    statuses = segments(today)
    shown = (
        select(*(func.count().filter(and_(*k, *within(span))).label(s) for s, (k, span) in statuses.items()))
        .select_from(table)
        .where(T.kind != REVIEW, *listed, *within(dates))
        .cte("shown")
    )
    parts = history.join(flags, true()).join(acted, true()).join(events, true()).join(shown, true())
    row = db.execute(select(history, flags, acted, events, shown).select_from(parts)).one()._mapping
    n = {k: int(v or 0) for k, v in row.items()}
    # due before the look-back, not a flag, nor an open adverse event's follow-up (listed)
    before = n["all_before"] - n["flags_before"] - n["events_before"]
    return Counts(
        closed=n["closed"],
        snoozed=n["snoozed"],
        older=0 if everything else before - n["put_by"],
        flags=n["flags"] - n["reviewed"],
        by_status={s: n[s] + (n["early"] if s == "overdue" else 0) for s in statuses},
    )


def work_list(
    *,
    db: Session,
    actor: str,
    today: dt.date,
    window: Window,
    clinic_id: str | None = None,
    everything: bool = False,
    filters: Filters = Filters(),
    limit: int | None = None,
    offset: int = 0,
    review_limit: int | None = None,
) -> Worked:
    """The worklist the pages, ``bontrack due`` and the summary show: due items up to the
    window's look-ahead and stop-and-review flags, with the clinicians' latest actions applied
    (done or cancelled: closed; snoozed to a later day: snoozed; due before the look-back: older,
    unless ``everything`` or an adverse event's follow-up; all three counted, not listed). Read
    from the due items kept as records are written, with the window and the actions as
    conditions of indexed range queries; the items listed (``limit`` from ``offset``, and
    ``review_limit`` flags) are then made rows, their patients read and audited."""
    from bontrack.scheduling import due

    scope = list_scope(actor, clinic_id)
    due.current(db)
    dates, listed = listed_conditions(scope, today, window, everything=everything, filters=filters)
    n = _counts(db, scope, today, window, dates, listed, everything=everything)  # one query
    by_status = n.by_status
    total = sum(by_status.values())
    if limit is None:
        rows = listed_rows(db, today, dates, *listed, offset=offset)
    else:
        rows = page_rows(db, today, by_status, dates, *listed, limit=limit, offset=offset)
    flags = (
        review_rows(db, *in_scope(scope), not_reviewed(today), limit=review_limit)
        if review_limit != 0
        else []
    )
    read = {"due_item": total + n.closed + n.snoozed + n.older + n.flags}
    audit_reads(db, actor=actor, clinic_id=scope, purpose="worklist: due items", read=read)
    items = items_of(db, actor, rows, today, "worklist")
    reviews = reviews_of(db, actor, flags, "worklist: stop-and-review")
    n_overdue = by_status["overdue"]
    return Worked(
        items, n.older, n.closed, n.snoozed, reviews, total, n_overdue, n.flags, by_status=dict(by_status)
    )


def item_of(
    *, db: Session, actor: str, clinic_id: str | None, patient_id: str, item_key: str, today: dt.date
) -> DueItem | ReviewItem | None:
    """One item of the worklist (a due item or a stop-and-review flag) of a patient the actor
    sees, as its own page shows it (None: no such item, not the actor's, or done, cancelled or
    reviewed already); read and audited."""
    from bontrack.scheduling import due

    scope = list_scope(actor, clinic_id)
    due.current(db)
    query = select(DueItemRow.__table__).where(
        *in_scope(scope), T.patient_id == patient_id, T.item_key == item_key
    )
    row = db.execute(query).first()
    if row is None or row.last_action in CLOSING:
        return None
    audit_reads(db, actor=actor, clinic_id=scope, purpose="worklist: one item", read={"due_item": 1})
    found: list[DueItem] | list[ReviewItem]
    if row.kind == REVIEW:
        found = reviews_of(db, actor, [row], "worklist: one item")
    else:
        found = items_of(db, actor, [row], today, "worklist: one item")
    return found[0] if found else None
