"""A session's vials in stock: taken out when the session is saved (``open_for_session``: the
lot must match the stock's product, vial size and expiry, with vials left), taken out again when
a correction changes what it took (``reopen_for_session``), put back when it is withdrawn
(``withdraw_openings``); and read back (``openings_of_session``). Each opening is a record of its
own, scoped by the actor's clinic and audited like every record (bontrack.records).

Split from ``bontrack.stock.service`` (deliveries, discards, the stock on hand and the recall of a
lot), whose stock lines and lot look-ups these use. The injection services call these after
saving, correcting or withdrawing a session.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bontrack import records
from bontrack.errors import InputError
from bontrack.injections.schemas import SessionRead, SessionRecord
from bontrack.knowledge import load_knowledge
from bontrack.stock.models import StockReceiptRow, VialOpeningRow
from bontrack.stock.schemas import VialOpeningCreate, VialOpeningRead
from bontrack.stock.service import _lot_as_received, _one_line, lot_key, lot_mismatch


def open_for_session(*, db: Session, actor: str, session: SessionRead) -> VialOpeningRead | None:
    """Take a saved session's vials out of stock when its lot is in the clinic's stock (a lot not
    in stock, e.g. bought before stock was kept, is left alone). The lot must match the stock's
    product, vial size and expiry and have the vials left, else an error naming the field."""
    data = session.data
    lot = _lot_as_received(db, actor, session.clinic_id, data.lot)
    receipts = records.find_current(
        db, row_cls=StockReceiptRow, actor=actor, lot=lot, clinic_id=session.clinic_id, purpose="stock"
    )
    if not receipts:
        return None
    line = _one_line(db, actor, lot, session.clinic_id, data.date, "lot")
    if (wrong := lot_mismatch(line, data.product, data.date)) is not None:
        raise InputError.one("lot", wrong)
    if line.vial_units != data.vial_units:
        raise InputError.one("vial_units", f"lot {data.lot} in stock holds {line.vial_units:g} U vials")
    if line.expiry != data.lot_expiry:
        raise InputError.one("lot_expiry", f"lot {data.lot} expires on {line.expiry} (the stock's record)")
    if data.vial_count > line.remaining:
        raise InputError.one(
            "vial_count", f"only {line.remaining} unopened vial(s) of lot {data.lot} are left in stock"
        )
    return record_opening(db=db, actor=actor, session=session, product=line.product, lot=line.lot)


def record_opening(
    *, db: Session, actor: str, session: SessionRead, product: str, lot: str, record_id: str | None = None
) -> VialOpeningRead:
    """Write the opening of a saved session's vials of ``lot`` (as the stock names the product and
    lot), usable for the product's hours after reconstitution (knowledge: products.toml), without
    the stock's checks: ``open_for_session`` makes them first; the demo clinic, whose stock is
    derived from its sessions afterwards (bontrack.synth.stock), records its openings here."""
    data = session.data
    opened_at = _opening_of(data)[4]
    hours = load_knowledge().product(product).usable_hours_after_preparation.value
    record = VialOpeningCreate(
        product=product,
        lot=lot,
        vial_units=data.vial_units,
        vial_count=data.vial_count,
        session_id=session.id,
        patient_id=data.patient_id,
        opened_at=opened_at,
        usable_until=opened_at + dt.timedelta(hours=hours) if hours is not None else None,
    )
    row = records.create(
        db, row_cls=VialOpeningRow, data=record, clinic_id=session.clinic_id, actor=actor, record_id=record_id
    )
    return records.to_read(row, VialOpeningCreate)


def _opening_of(data: SessionRecord) -> tuple[str, str, float, int, dt.datetime]:
    """What a session takes from stock: product, lot, vial size, vials, and when they were opened."""
    opened_at = data.reconstituted_at or data.administered_at or dt.datetime.combine(data.date, dt.time())
    return data.product, data.lot, float(data.vial_units), data.vial_count, opened_at


def reopen_for_session(*, db: Session, actor: str, session: SessionRead, reason: str) -> int:
    """After a session is corrected: when its product, lot, vial size, vial count or opening time
    changed, its earlier openings are withdrawn (the vials back in stock, the openings kept in the
    history) and the corrected session's vials are taken out again, with the same checks as when it
    was saved. Returns how many openings were withdrawn (0: nothing that stock counts changed)."""
    rows = records.find_current(db, row_cls=VialOpeningRow, actor=actor, session_id=session.id)
    kept = [
        (
            r.data["product"],
            lot_key(r.data["lot"]),
            float(r.data["vial_units"]),
            int(r.data["vial_count"]),
            dt.datetime.fromisoformat(str(r.data["opened_at"])),
        )
        for r in rows
    ]
    product, lot, units, count, opened_at = _opening_of(session.data)
    if kept == [(product, lot_key(lot), units, count, opened_at)]:
        return 0
    for row in rows:
        records.withdraw(
            db, row_cls=VialOpeningRow, record_id=row.id, actor=actor, reason=f"session corrected: {reason}"
        )
    open_for_session(db=db, actor=actor, session=session)
    return len(rows)


def openings_of_session(*, db: Session, actor: str, session_id: str) -> list[VialOpeningRead]:
    """The vials taken from stock for a session (audited)."""
    rows = records.find_current(db, row_cls=VialOpeningRow, actor=actor, session_id=session_id)
    return [records.to_read(r, VialOpeningCreate) for r in rows]


def withdraw_openings(*, db: Session, actor: str, session_id: str, reason: str) -> int:
    """Withdraw the openings of a session that is withdrawn (entered in error): its vials count as
    in stock again. The openings stay in the history. Returns how many were withdrawn."""
    rows = records.find_current(db, row_cls=VialOpeningRow, actor=actor, session_id=session_id)
    for row in rows:
        records.withdraw(db, row_cls=VialOpeningRow, record_id=row.id, actor=actor, reason=reason)
    return len(rows)
