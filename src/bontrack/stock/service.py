"""Stock services: deliveries, openings and discards of toxin vials by lot, scoped by the actor's
clinic and audited like every record (bontrack.records); the recall of a lot. A session's vial
openings (taken out when it is saved, again when corrected, back when withdrawn) are written by
bontrack.stock.openings, from the stock lines here.

A lot's stock in a clinic is what was received, less the vials opened for sessions and the vials
discarded unopened. The units left in an opened vial after a session are not a discard record:
the session itself holds them (its vials less the units given), as its billing JW line does.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bontrack import records
from bontrack.actor import clinic_of
from bontrack.clinical.plan import lot_expiry_problem
from bontrack.errors import FieldError, InputError, NotFoundError
from bontrack.injections.models import InjectionSessionRow
from bontrack.knowledge import load_knowledge
from bontrack.patients.models import PatientRow
from bontrack.patients.service import get_clinic
from bontrack.planning.knowledge import load_planning
from bontrack.queries import current_frame
from bontrack.stock.models import StockReceiptRow, VialDiscardRow, VialOpeningRow
from bontrack.stock.schemas import (
    DiscardRequest,
    Recall,
    RecallLine,
    StockLine,
    StockReceiptCreate,
    StockReceiptRead,
    VialDiscardCreate,
    VialDiscardRead,
)
from bontrack.storage.audit_log import log
from bontrack.storage.buffered import BufferedWriter
from bontrack.storage.record_json import json_of
from bontrack.storage.unit import writer_of


def expiry_warning_days() -> int:
    """Days before expiry a lot is flagged (knowledge: planning.stock.expiry_warning_days)."""
    return load_planning().planning.stock.expiry_warning_days


def _product_errors(product: str, vial_units: float) -> tuple[str, list[FieldError]]:
    kb = load_knowledge()
    pid = kb.product_id(product)
    if pid is None:
        return product, [
            FieldError("product", f"unknown product {product!r}; allowed: {kb.product_choices()}")
        ]
    sizes = [v.units for v in kb.product(pid).vials]
    if vial_units not in sizes:
        allowed = ", ".join(f"{s:g}" for s in sizes)
        return pid, [FieldError("vial_units", f"{pid} comes in vials of {allowed} units, not {vial_units:g}")]
    return pid, []


def _brand(pid: str) -> str:
    return load_knowledge().product(pid).brands[0].upper()


def same_lot(a: str, b: str) -> bool:
    """Whether two lot numbers as written name the same lot: case and spaces aside (as the
    recall matches them)."""
    return lot_key(a) == lot_key(b)


def lot_key(lot: str) -> str:
    """A lot number as compared: capitals, no spaces ("ab 12 " -> "AB12")."""
    return "".join(lot.upper().split())


def _lot_as_received(db: Session, actor: str, clinic_id: str | None, lot: str) -> str:
    """The lot as written when it was first received at the clinic, when ``lot`` names it in
    another case or with spaces (one physical lot is one stock line); else ``lot``.
    ``clinic_id`` None: any clinic the actor sees. Reads only lot numbers of the actor's clinics
    (no record content: not audited)."""
    scope = clinic_of(actor)
    if scope is not None and clinic_id not in (None, scope):
        return lot
    if type(writer_of(db)) is not BufferedWriter:  # inside a bulk block (the demo's workers read
        return lot  # nothing of the registry: their lots are written as the stock has them)
    clinic_id = clinic_id or scope
    wanted = [func.replace(func.upper(StockReceiptRow.lot), " ", "") == lot_key(lot)]
    if clinic_id is not None:
        wanted.append(StockReceiptRow.clinic_id == clinic_id)
    found = db.scalar(
        select(StockReceiptRow.lot)
        .where(*wanted)
        .order_by(StockReceiptRow.recorded_at, StockReceiptRow.id, StockReceiptRow.version)
        .limit(1)
    )
    return found if found is not None else lot


def receive_vials(
    *, db: Session, actor: str, data: StockReceiptCreate, clinic_id: str | None = None
) -> StockReceiptRead:
    """Record a delivery of vials of one lot at the actor's clinic (or ``clinic_id``, for an actor
    who sees every clinic). A lot received before (in any case: the same lot) must have the same
    product, size and expiry; the delivery joins it, stored as the lot was first written."""
    clinic_id = clinic_id or clinic_of(actor)
    if clinic_id is None:
        raise InputError.one("clinic_id", "name the clinic that received the vials")
    get_clinic(db=db, actor=actor, clinic_id=clinic_id)
    pid, errors = _product_errors(data.product, data.vial_units)
    if (wrong := lot_expiry_problem(data.expiry)) is not None:
        errors.append(FieldError("expiry", wrong))
    if errors:
        raise InputError(errors)
    lot = _lot_as_received(db, actor, clinic_id, data.lot)
    earlier = records.find_current(db, row_cls=StockReceiptRow, actor=actor, lot=lot, clinic_id=clinic_id)
    named = lot if lot == data.lot else f"{lot} (the same lot, written so when first received)"
    for row in earlier:
        if row.data["product"] != pid:
            errors.append(
                FieldError("lot", f"lot {named} was received before as {_brand(row.data['product'])}")
            )
        elif row.data["expiry"] != data.expiry.isoformat():
            errors.append(
                FieldError("expiry", f"lot {named} was received before expiring on {row.data['expiry']}")
            )
        elif float(row.data["vial_units"]) != data.vial_units:
            errors.append(
                FieldError(
                    "vial_units", f"lot {named} was received before in {row.data['vial_units']:g} U vials"
                )
            )
        if errors:
            raise InputError(errors[:1])
    stored = data.model_copy(update={"product": pid, "lot": lot})
    row = records.create(db, row_cls=StockReceiptRow, data=stored, clinic_id=clinic_id, actor=actor)
    return records.to_read(row, StockReceiptCreate)


def receipt_warnings(data: StockReceiptCreate) -> list[str]:
    """What a person should know about a delivery just saved (an expired lot is kept, to be
    discarded, but never offered for a session)."""
    if data.expiry < data.received_on:
        return [
            f"Lot {data.lot} expired on {data.expiry}, before it was received on {data.received_on}: "
            "it is never offered for a session; record its vials as discarded."
        ]
    return []


def _lines(
    db: Session, actor: str, on: dt.date, *, clinic_id: str | None = None, lot: str | None = None
) -> list[StockLine]:
    equal: dict[str, str] = {}
    if clinic_id is not None:
        equal["clinic_id"] = clinic_id
    if lot is not None:
        equal["lot"] = lot
    receipts = records.find_current(db, row_cls=StockReceiptRow, actor=actor, purpose="stock", **equal)
    openings = records.find_current(db, row_cls=VialOpeningRow, actor=actor, purpose="stock", **equal)
    discards = records.find_current(db, row_cls=VialDiscardRow, actor=actor, purpose="stock", **equal)
    kb = load_knowledge()
    warn_days = expiry_warning_days()
    received: dict[tuple[str, str, str], list[StockReceiptRow]] = defaultdict(list)
    for r in receipts:
        received[(r.clinic_id, r.data["product"], r.data["lot"])].append(r)
    used: dict[tuple[str, str, str], int] = defaultdict(int)
    thrown: dict[tuple[str, str, str], int] = defaultdict(int)
    for o in openings:
        used[(o.clinic_id, o.data["product"], o.data["lot"])] += int(o.data["vial_count"])
    for d in discards:
        thrown[(d.clinic_id, d.data["product"], d.data["lot"])] += int(d.data["vial_count"])
    lines = []
    for key, rows in received.items():
        first = rows[0].data
        expiry = dt.date.fromisoformat(first["expiry"])
        count = sum(int(r.data["vial_count"]) for r in rows)
        days = (expiry - on).days
        product = kb.product(key[1])
        lines.append(
            StockLine(
                clinic_id=key[0],
                product=key[1],
                lot=key[2],
                expiry=expiry,
                vial_units=float(first["vial_units"]),
                received=count,
                opened=used[key],
                discarded=thrown[key],
                remaining=count - used[key] - thrown[key],
                suppliers=sorted({str(r.data["supplier"]) for r in rows}),
                first_received_on=min(dt.date.fromisoformat(str(r.data["received_on"])) for r in rows),
                days_to_expiry=days,
                expiring_soon=0 <= days <= warn_days,
                expired=days < 0,
                usable_hours_after_reconstitution=product.usable_hours_after_preparation.value,
            )
        )
    return sorted(lines, key=lambda x: (x.product, x.expiry, x.lot, x.clinic_id))


def stock_on_hand(
    *,
    db: Session,
    actor: str,
    on: dt.date,
    clinic_id: str | None = None,
    product: str | None = None,
    include_empty: bool = False,
) -> list[StockLine]:
    """The stock by product and expiry (soonest first) on day ``on``: each lot's vials received,
    opened, discarded and left, flagged when it expires within the warning days. Audited reads."""
    lines = _lines(db, actor, on, clinic_id=clinic_id)
    if product is not None:
        pid = load_knowledge().product_id(product)
        if pid is None:
            raise InputError.one(
                "product", f"unknown product {product!r}; allowed: {load_knowledge().product_choices()}"
            )
        lines = [x for x in lines if x.product == pid]
    return lines if include_empty else [x for x in lines if x.remaining > 0]


def lots_for_session(*, db: Session, actor: str, clinic_id: str, on: dt.date) -> list[StockLine]:
    """The lots a session on ``on`` may use: vials left and not expired, soonest expiry first."""
    return [x for x in stock_on_hand(db=db, actor=actor, on=on, clinic_id=clinic_id) if not x.expired]


def _one_line(db: Session, actor: str, lot: str, clinic_id: str | None, on: dt.date, field: str) -> StockLine:
    lot = _lot_as_received(db, actor, clinic_id, lot)
    lines = _lines(db, actor, on, clinic_id=clinic_id, lot=lot)
    if not lines:
        raise NotFoundError.one(field, f"no lot {lot!r} in stock")
    if len(lines) > 1:
        raise InputError.one("clinic_id", f"lot {lot} is in stock at {len(lines)} clinics: name the clinic")
    return lines[0]


def discard_vials(
    *, db: Session, actor: str, data: DiscardRequest, clinic_id: str | None = None
) -> VialDiscardRead:
    """Record unopened vials of a lot thrown away, with the reason; never more than are left."""
    if clinic_id is not None:  # a clinic named: one the actor sees, else not found as a missing one
        get_clinic(db=db, actor=actor, clinic_id=clinic_id)
    line = _one_line(db, actor, data.lot, clinic_id or clinic_of(actor), data.discarded_on, "lot")
    if data.discarded_on < line.first_received_on:
        raise InputError.one(
            "discarded_on",
            f"lot {line.lot} was received on {line.first_received_on}, after the discard's date "
            f"{data.discarded_on}",
        )
    if data.vial_count > line.remaining:
        raise InputError.one(
            "vial_count", f"only {line.remaining} unopened vial(s) of lot {data.lot} are left in stock"
        )
    record = VialDiscardCreate(
        product=line.product,
        lot=line.lot,
        vial_units=line.vial_units,
        vial_count=data.vial_count,
        units=line.vial_units * data.vial_count,
        reason=data.reason,
        discarded_on=data.discarded_on,
    )
    row = records.create(db, row_cls=VialDiscardRow, data=record, clinic_id=line.clinic_id, actor=actor)
    return records.to_read(row, VialDiscardCreate)


def lot_mismatch(line: StockLine, product: str, on: dt.date) -> str | None:
    """Why a session (or a plan) on day ``on`` with ``product`` cannot take vials of this lot in
    stock (None: it may): another product, or a lot received after the session's date."""
    if line.product != product:
        return f"lot {line.lot} in stock is {_brand(line.product)}, not {_brand(product)}"
    if line.first_received_on > on:
        return f"lot {line.lot} was received on {line.first_received_on}, after the session's date {on}"
    return None


def stock_line_for(*, db: Session, actor: str, clinic_id: str, lot: str, on: dt.date) -> StockLine | None:
    """The clinic's stock line of a lot as written on a session (any case), or None when the lot
    is not kept in stock."""
    lot = _lot_as_received(db, actor, clinic_id, lot)
    lines = _lines(db, actor, on, clinic_id=clinic_id, lot=lot)
    return lines[0] if lines else None


def discards_of_lot(*, db: Session, actor: str, lot: str) -> list[VialDiscardRead]:
    """The discards of a lot (audited)."""
    rows = records.find_current(db, row_cls=VialDiscardRow, actor=actor, lot=lot)
    return [records.to_read(r, VialDiscardCreate) for r in rows]


_SESSION_PATHS = ("patient_id", "date", "product", "total_units", "vial_count", "lot")


def recall(*, db: Session, actor: str, lot: str) -> Recall:
    """Every current session that used ``lot`` (the lot as written on the session, ignoring case
    and spaces: "AB 12" typed on a session is lot AB12, and a recall must not miss its patient)
    with its patient's contact details, in the clinics the actor sees. Each session and patient
    read is audited with the purpose "recall of lot ..."."""
    wanted = lot.strip()
    if not wanted:
        raise InputError.one("lot", "give the lot number printed on the carton")
    purpose = f"recall of lot {wanted}"
    written = func.upper(json_of(InjectionSessionRow.data)["lot"].as_string())
    condition = func.replace(written, " ", "") == lot_key(wanted)
    frame = current_frame(
        db,
        InjectionSessionRow,
        clinic_of(actor),
        _SESSION_PATHS,
        columns=("clinic_id", "version"),
        where=[condition],
    )
    for rid, clinic_id, version in zip(frame["id"], frame["clinic_id"], frame["version"], strict=True):
        log(
            db,
            actor=actor,
            action="read",
            record_type=InjectionSessionRow.record_type,
            record_id=str(rid),
            version=int(version),
            clinic_id=str(clinic_id),
            detail=purpose,
        )
    patients = records.get_many(
        db, row_cls=PatientRow, record_ids=[str(p) for p in frame["patient_id"]], actor=actor, purpose=purpose
    )
    lines = []
    for s in frame.to_dict("records"):
        p = patients.get(str(s["patient_id"]))
        pdata = p.data if p is not None else {}
        lines.append(
            RecallLine(
                clinic_id=str(s["clinic_id"]),
                session_id=str(s["id"]),
                date=dt.date.fromisoformat(str(s["date"])),
                product=str(s["product"]),
                total_units=float(s["total_units"]),
                vial_count=int(s["vial_count"] or 1),
                patient_id=str(s["patient_id"]),
                record_number=str(pdata.get("record_number", "")),
                name=str(pdata.get("name", "(patient record withdrawn)")),
                phone=str(pdata.get("phone") or ""),
                email=str(pdata.get("email") or ""),
            )
        )
    lines.sort(key=lambda x: (x.clinic_id, x.date, x.record_number, x.session_id))
    return Recall(
        lot=wanted,
        sessions=lines,
        patients=len({x.patient_id for x in lines}),
        clinics=len({x.clinic_id for x in lines}),
    )
