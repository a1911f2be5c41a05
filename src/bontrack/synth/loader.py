"""Write the generated clinic through the domain services, in the caller's transaction.

Every session goes through the decision engine and every write and read is audited, exactly as
for a clinician's input. Plans the engine blocks (a contraindication, without an override) are
refused and not saved, as in a real clinic; the loader counts them. Each saved session records
the vials it opened; after the patients, the clinic's stock (deliveries of the lots its sessions
used, discards of the vials left over) is derived from them and written through the stock
services (``write_stock``, bontrack.synth.stock).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bontrack.assessments.service import create_assessment
from bontrack.errors import RefusedError
from bontrack.injections.schemas import SessionRead
from bontrack.injections.service import create_session, report_adverse_event
from bontrack.outcomes.service import record_outcome
from bontrack.patients import service as patients
from bontrack.records import ids_from
from bontrack.screening.service import create_screening
from bontrack.stock.kind import VIAL_OPENING
from bontrack.stock.openings import record_opening
from bontrack.stock.service import discard_vials, receive_vials
from bontrack.storage.bulk import bulk
from bontrack.storage.times import recorded_by_clock
from bontrack.synth.items import Item
from bontrack.synth.stock import LotUse, stock_items
from bontrack.therapy.service import create_plan, record_visit


@dataclass
class DemoSummary:
    """What the loader wrote."""

    clinic_id: str = ""
    records: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    overrides: int = 0
    refused: int = 0
    lots: dict[str, LotUse] = field(default_factory=dict)

    def add(self, other: DemoSummary) -> None:
        """Count what another part of the same load wrote (the parallel loader's workers)."""
        self.records.update(other.records)
        self.decisions.update(other.decisions)
        self.overrides += other.overrides
        self.refused += other.refused
        for lot, use in other.lots.items():
            self._use(lot, use)

    def _use(self, lot: str, use: LotUse) -> None:
        held = self.lots.get(lot)
        if held is None:
            self.lots[lot] = LotUse(use.product, use.vial_units, use.expiry, use.first, use.last)
            held = self.lots[lot]
        held.add(use)

    def opened(self, session: SessionRead) -> None:
        """Count the vials a saved session opened, by lot."""
        data = session.data
        self._use(
            data.lot,
            LotUse(data.product, data.vial_units, data.lot_expiry, data.date, data.date, data.vial_count),
        )


class Pending:
    """The id and time the next record takes (set by the loader before each service call)."""

    def __init__(self) -> None:
        self.id: str | None = None
        self.at = dt.datetime(2000, 1, 1)

    def take_id(self) -> str:
        if self.id is None:
            raise RuntimeError("a service created two records for one generated item")
        record_id, self.id = self.id, None
        return record_id

    def now(self) -> dt.datetime:
        return self.at


def _write(db: Session, actor: str, item: Item, summary: DemoSummary) -> None:
    data: Any = item.data
    match item.kind:
        case "clinic":
            summary.clinic_id = patients.create_clinic(db=db, actor=actor, data=data).id
        case "clinician":
            patients.create_clinician(db=db, actor=actor, clinic_id=item.clinic_id, data=data)
        case "patient":
            patients.create_patient(db=db, actor=actor, clinic_id=item.clinic_id, data=data)
        case "episode":
            patients.create_episode(db=db, actor=actor, data=data)
        case "screening":
            create_screening(db=db, actor=actor, data=data)
        case "assessment":
            create_assessment(db=db, actor=actor, data=data)
        case "therapy_plan":
            create_plan(db=db, actor=actor, data=data)
        case "therapy_visit":
            record_visit(db=db, actor=actor, data=data)
        case "adverse_event":
            report_adverse_event(db=db, actor=actor, data=data)
        case "outcome":
            record_outcome(db=db, actor=actor, data=data)
        case "session":
            session = create_session(db=db, actor=actor, data=data)
            summary.decisions[session.data.decision.decision] += 1
            summary.overrides += session.data.override is not None
            # its vials opened, as a session's saving records them when its lot is in stock (the
            # demo's stock is derived from its sessions once they are all written: write_stock)
            record_opening(
                db=db,
                actor=actor,
                session=session,
                product=session.data.product,
                lot=session.data.lot,
                record_id=item.opening_id,
            )
            summary.opened(session)
            summary.records[VIAL_OPENING.name] += 1
        case "stock_receipt":
            receive_vials(db=db, actor=actor, data=data, clinic_id=item.clinic_id)
        case "vial_discard":
            discard_vials(db=db, actor=actor, data=data, clinic_id=item.clinic_id)
    summary.records[item.kind] += 1


def write_batch(db: Session, actor: str, batch: list[Item], summary: DemoSummary, pending: Pending) -> None:
    """Write one batch's items in order (inside a bulk block whose ids and clock read ``pending``)."""
    for item in batch:
        pending.id, pending.at = item.id, item.at
        try:
            _write(db, actor, item, summary)
        except RefusedError:
            if not item.expect_refusal:
                raise
            summary.refused += 1
            pending.id = None
            continue
        if item.expect_refusal:
            raise RuntimeError(f"the engine saved a plan the generator expected it to block: {item.id}")


def load(
    db: Session,
    *,
    actor: str,
    batches: Iterable[list[Item]],
    progress: Callable[[], None] | None = None,
    as_of: dt.date | None = None,
) -> DemoSummary:
    """Write each batch of generated items (the clinic, then one batch per patient), then the
    stock as it stands on ``as_of``, the day they were generated for (default: the calibrated
    day)."""
    summary = DemoSummary()
    pending = Pending()
    with bulk(db), ids_from(pending.take_id), recorded_by_clock(pending.now):
        for batch in batches:
            write_batch(db, actor, batch, summary, pending)
            if progress is not None:
                progress()
    write_stock(db, actor, summary, as_of=as_of)
    return summary


def write_stock(db: Session, actor: str, summary: DemoSummary, *, as_of: dt.date | None = None) -> None:
    """After the patients: the deliveries of the lots their sessions opened, and the discards of
    vials left over (bontrack.synth.stock), through the stock services, in a bulk block of their
    own (the patients' block may have merged rows it cannot read back)."""
    pending = Pending()
    items = stock_items(summary.lots, clinic_id=summary.clinic_id, as_of=as_of)
    with bulk(db), ids_from(pending.take_id), recorded_by_clock(pending.now):
        write_batch(db, actor, items, summary, pending)
