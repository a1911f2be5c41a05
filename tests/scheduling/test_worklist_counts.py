"""The worklist's counts (the home page's and the worklist page's: closed, snoozed, older, the
stop-and-review flags, the items listed by status), read from the due items' indexes in one query
(bontrack.scheduling.actions._counts, migration 0017's partial indexes), against the same counts
made here in Python from every due item, after random worklist actions of every kind, on several
days, windows, filters, and with the older items listed. Real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine, event

from bontrack.scheduling import due
from bontrack.scheduling.actions import CLOSING, Filters, record_action, work_list
from bontrack.scheduling.due_query import REVIEW, status_of
from bontrack.scheduling.schemas import WorklistActionCreate
from bontrack.scheduling.window import Window
from bontrack.storage.engine import transaction
from bontrack.synth.generator import generate
from bontrack.synth.loader import load
from factories import ACTOR

DAY = dt.date(2026, 11, 23)


def _act(rng: random.Random, row: dict[str, Any]) -> WorklistActionCreate:
    base = {"patient_id": row["patient_id"], "item_key": row["item_key"], "kind": row["kind"], "on": DAY}
    if row["kind"] == REVIEW:
        return WorklistActionCreate.model_validate(base | {"action": "reviewed", "decision": "change"})
    action = rng.choice(["done", "cancelled", "snoozed", "snoozed", "contacted"])
    extra = {"snooze_until": DAY + dt.timedelta(days=rng.randrange(1, 40))} if action == "snoozed" else {}
    if action == "cancelled":
        extra = {"reason": "no longer needed"}
    return WorklistActionCreate.model_validate(base | {"action": action} | extra)


def _expected(
    rows: list[dict[str, Any]], today: dt.date, window: Window, everything: bool, filters: Filters
) -> dict[str, Any]:
    since, until = window.since(today), window.until(today)
    flags = [r for r in rows if r["kind"] == REVIEW]
    items = [r for r in rows if r["kind"] != REVIEW]

    def closed(r: dict[str, Any]) -> bool:
        return r["last_action"] in CLOSING

    def snoozed(r: dict[str, Any]) -> bool:
        return r["last_action"] == "snoozed" and r["snooze_until"] is not None and r["snooze_until"] > today

    first = None if everything else since
    event = "adverse_event"  # listed whatever its due date while open
    last = min(until, today - dt.timedelta(days=1)) if filters.overdue else until
    listed = [
        r
        for r in items
        if not closed(r)
        and not snoozed(r)
        and (first is None or r["due_date"] >= first or r["kind"] == event)
        and r["due_date"] <= last
        and (not filters.kind or r["kind"] == filters.kind)
        and (not filters.overdue or r["kind"] != "reinjection")
    ]
    older = [
        r for r in items if r["due_date"] < since and not closed(r) and not snoozed(r) and r["kind"] != event
    ]
    early = [r for r in listed if r["kind"] == event and r["due_date"] < since]
    return {
        "closed": sum(1 for r in items if r["due_date"] <= until and closed(r)),
        "snoozed": sum(1 for r in items if r["due_date"] <= until and snoozed(r)),
        "older": 0 if everything else len(older),
        # a flag that a cycle's missed visits turn on is shown from that day (its shown_from)
        "flags": sum(
            1 for r in flags if r["last_action"] != "reviewed" and (r["shown_from"] or today) <= today
        ),
        "by_status": Counter(status_of(r["due_date"], today, r["kind"]) for r in listed),
        "early events": 0 if everything else len(early),
    }


@pytest.fixture
def acted(engine: Engine) -> list[dict[str, Any]]:
    """A synthetic clinic of 40 patients whose due items got random actions (about one in three)."""
    rng = random.Random(18)
    with transaction(engine) as db:
        load(db, actor="test:setup", batches=generate(40, seed=3))
    with transaction(engine) as db:
        rows = due.kept(db, None)
    for row in rng.sample(rows, len(rows) // 3):
        with transaction(engine) as db:
            record_action(db=db, actor=ACTOR, data=_act(rng, row))
    with transaction(engine) as db:
        return due.kept(db, None)


def test_counts__equal_to_counting_every_due_item(engine: Engine, acted: list[dict[str, Any]]) -> None:
    kinds = Counter(r["last_action"] for r in acted)
    assert {"done", "cancelled", "snoozed", "contacted", "reviewed"} <= set(kinds), kinds
    days = [DAY + dt.timedelta(days=n) for n in (-30, 0, 12, 60)]
    windows = [Window(look_back_days=28, look_ahead_days=7), Window(look_back_days=3, look_ahead_days=0)]
    cases = [
        (today, window, everything, filters)
        for today in days
        for window in windows
        for everything in (False, True)
        for filters in (Filters(), Filters(kind="outcome_visit"), Filters(overdue=True))
    ]
    seen: Counter[str] = Counter()
    for today, window, everything, filters in cases:
        with transaction(engine) as db:
            asked = {"today": today, "window": window, "everything": everything, "filters": filters}
            worked = work_list(db=db, actor=ACTOR, limit=0, **asked)
        want = _expected(acted, today, window, everything, filters)
        got = {
            "closed": worked.closed,
            "snoozed": worked.snoozed,
            "older": worked.older,
            "flags": worked.review_total,
            "by_status": Counter({s: n for s, n in worked.by_status.items() if n}),
        }
        early = want.pop("early events")
        assert got == want, (today, window, everything, filters)
        seen.update(k for k in ("closed", "snoozed", "older", "flags") if want[k])
        seen.update(["early events"] if early else [])
    counted = {"closed", "snoozed", "older", "flags", "early events"}
    assert set(seen) == counted, "each count is non-zero in some case, and adverse events listed early"


def _counts_statement(engine: Engine) -> tuple[str, Any]:
    """The counts' query as the worklist sends it to the database, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "flags_before" in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", note)
    try:
        with transaction(engine) as db:
            work_list(
                db=db, actor=ACTOR, limit=0, today=DAY, window=Window(look_back_days=28, look_ahead_days=7)
            )
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert len(sent) == 1
    return sent[0]


def test_counts__read_through_the_partial_indexes(engine: Engine, acted: list[dict[str, Any]]) -> None:
    """The flags' and the acted items' counts are ranges of migration 0017's partial indexes, on
    SQLite and on PostgreSQL: each index's condition is written in the query as the index has it
    (a bound value would keep PostgreSQL's generic plans from seeing that the index applies).
    On PostgreSQL sequential scans are turned off for the plan, so that the plan shows which
    indexes can serve the query (on a table this small a scan of it costs less). On SQLite the
    flags' index alone answers (it holds the day each flag is shown from: migration 0021)."""
    statement, parameters = _counts_statement(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("analyze due_items")
            conn.exec_driver_sql("set local enable_seqscan = off")
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("explain " + statement, parameters))
        else:
            rows = conn.exec_driver_sql("explain query plan " + statement, parameters)
            plan = "\n".join(str(r[-1]) for r in rows)
    assert "ix_due_items_flags" in plan, plan
    assert "ix_due_items_acted" in plan, plan
    assert "ix_due_items_events" in plan, plan
    if engine.dialect.name == "sqlite":
        assert "COVERING INDEX ix_due_items_flags" in plan, plan
