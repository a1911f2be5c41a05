"""The demo clinic's toxin lots: a few per product and vial size each calendar quarter.

A session's lot follows from its product, vial size and date, and from one number the patient's
stream draws (which of the quarter's lots the vial was taken from): no clinic-wide state, so each
patient is still generated on its own (and in parallel). All the sessions of a lot agree on its
expiry, which is what the stock's delivery of the lot records (bontrack.synth.stock).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from bontrack.knowledge import KnowledgeBase
from bontrack.synth.calibration import Calibration
from bontrack.synth.names import demo_prefix


@dataclass(frozen=True)
class DemoLot:
    name: str
    expiry: dt.date


def quarter_start(day: dt.date) -> dt.date:
    """The first day of the day's calendar quarter."""
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def next_quarter(day: dt.date) -> dt.date:
    """The first day of the quarter after the day's."""
    start = quarter_start(day)
    return dt.date(start.year + (start.month + 3 > 12), (start.month + 2) % 12 + 1, 1)


def lot_expiry(cal: Calibration, start: dt.date) -> dt.date:
    """A quarter's lots expire at the end of the month stock.expiry_months_after_quarter after
    the quarter's first month (expiry printed as a month, valid to its last day)."""
    months = start.year * 12 + start.month - 1 + int(cal.num("stock.expiry_months_after_quarter"))
    year, month = divmod(months, 12)
    return dt.date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def demo_lot(
    kb: KnowledgeBase,
    cal: Calibration,
    *,
    batch: int,
    product_id: str,
    vial_units: float,
    day: dt.date,
    draw: int,
) -> DemoLot:
    """The lot a session on ``day`` takes its vials from: ``SYN-BOT100-26Q4-2`` (the brand's first
    three letters, the vial's units, the quarter, which lot; SYN2- for a second demo clinic), one
    of stock.lots_per_quarter lots, chosen by ``draw``. Short, as a carton's lot number is: the
    stock list's lot column stays narrow."""
    start = quarter_start(day)
    brand = kb.product(product_id).brands[0][:3].upper()
    k = draw % int(cal.num("stock.lots_per_quarter")) + 1
    name = f"{demo_prefix(batch)}-{brand}{vial_units:g}-{start.year % 100:02d}Q{(start.month + 2) // 3}-{k}"
    return DemoLot(name, lot_expiry(cal, start))
