"""The demo clinic's toxin stock, derived from the sessions it saved.

Each session takes its vials from a lot of its quarter (bontrack.synth.lots) and records their
opening when it is saved (bontrack.synth.loader). Once every patient is written, what the lots'
sessions opened (``LotUse``, summed over every worker) gives each lot its delivery, and the vials
left over their discards (the rules and numbers: calibration.toml, ``[stock]``). Each lot draws
from a stream of its own, seeded by the clinic's id and the lot, so the stock depends on the
sessions saved and on nothing else: the same for one process or several.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from bontrack.stock.schemas import MAX_VIALS_PER_RECORD, DiscardRequest, StockReceiptCreate
from bontrack.synth.calibration import load_calibration, timeline
from bontrack.synth.items import Item, draw_id
from bontrack.synth.lots import next_quarter, quarter_start
from bontrack.synth.names import SUPPLIER

WEEK = dt.timedelta(weeks=1)
EXPIRED = "expired: unopened vials past the expiry date on the carton"
DAMAGED = "damaged: vial dropped and cracked before it was opened"


@dataclass
class LotUse:
    """What a lot's saved sessions took from it."""

    product: str
    vial_units: float
    expiry: dt.date
    first: dt.date
    last: dt.date
    vials: int = 0

    def add(self, other: LotUse) -> None:
        self.first, self.last = min(self.first, other.first), max(self.last, other.last)
        self.vials += other.vials


def _ordered(use: LotUse, as_of: dt.date) -> int:
    """The vials a lot was ordered for: those opened, or for a lot in use on ``as_of`` those
    opened so far scaled to its whole quarter."""
    start = quarter_start(use.last)
    if start != quarter_start(as_of):
        return use.vials
    gone = max((as_of - start).days + 1, WEEK.days)
    return math.ceil(use.vials * (next_quarter(start) - start).days / gone)


def stock_items(lots: dict[str, LotUse], *, clinic_id: str, as_of: dt.date | None = None) -> list[Item]:
    """The deliveries of the clinic's lots (by first use), then the discards (by date), as the
    stock stands on ``as_of`` (default: the calibrated day)."""
    cal = load_calibration()
    as_of = timeline(as_of).as_of
    receipts: list[Item] = []
    discards: list[tuple[dt.date, str, Item]] = []
    for lot, use in sorted(lots.items(), key=lambda kv: (kv[1].first, kv[0])):
        rng = random.Random(f"bontrack-demo-stock:{clinic_id}:{lot}")
        weeks = rng.randint(
            int(cal.num("stock.received_weeks_before_first_use_low")),
            int(cal.num("stock.received_weeks_before_first_use_high")),
        )
        received_on = use.first - weeks * WEEK
        spare = 0
        if rng.random() < cal.num("stock.spare_lot_share"):
            spare = rng.randint(int(cal.num("stock.spare_vials_low")), int(cal.num("stock.spare_vials_high")))
        damaged = rng.random() < cal.num("stock.damaged_lot_share")
        total = _ordered(use, as_of) + spare + damaged
        at = dt.datetime.combine(received_on, dt.time(8, 0))
        for n, first in enumerate(range(0, total, MAX_VIALS_PER_RECORD)):
            data = StockReceiptCreate(
                product=use.product,
                lot=lot,
                expiry=use.expiry,
                vial_units=use.vial_units,
                vial_count=min(MAX_VIALS_PER_RECORD, total - first),
                supplier=SUPPLIER,
                received_on=received_on,
            )
            receipts.append(
                Item("stock_receipt", draw_id(rng), at + dt.timedelta(seconds=n), data, clinic_id)
            )
        if damaged:
            day = use.first + dt.timedelta(days=rng.randint(0, (use.last - use.first).days))
            discards.append((day, lot, _discard(rng, clinic_id, lot, 1, DAMAGED, day)))
        left = total - use.vials - damaged
        if left and use.expiry < as_of:
            day = use.expiry + dt.timedelta(days=1)
            for first in range(0, left, MAX_VIALS_PER_RECORD):
                count = min(MAX_VIALS_PER_RECORD, left - first)
                discards.append((day, lot, _discard(rng, clinic_id, lot, count, EXPIRED, day)))
    return receipts + [item for _day, _lot, item in sorted(discards, key=lambda d: d[:2])]


def _discard(rng: random.Random, clinic_id: str, lot: str, count: int, reason: str, day: dt.date) -> Item:
    data = DiscardRequest(lot=lot, vial_count=count, reason=reason, discarded_on=day)
    return Item("vial_discard", draw_id(rng), dt.datetime.combine(day, dt.time(17, 0)), data, clinic_id)
