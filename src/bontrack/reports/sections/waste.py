"""Report section 10: toxin waste per month and product: units bought, administered, discarded.

Discarded units are those left in the vials opened for a session (the session's vials less the
units given: what its billing JW line reports) plus the units of unopened vials thrown away
(`bontrack stock discard`). The share discarded is discarded / (administered + discarded): of the
units that left the stock, how many reached no patient. Units are the product's own and are never
added across products.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date
from typing import cast

import pandas as pd

from bontrack.csv_cells import safe_row
from bontrack.reports.data import CohortFrames


@dataclass(frozen=True, kw_only=True)
class WasteRow:
    """One month (YYYY-MM) of one product, in that product's units."""

    month: str
    product: str
    bought_units: float
    administered_units: float
    discarded_in_sessions_units: float
    discarded_unopened_units: float
    discarded_units: float
    share_discarded: float | None  # None: nothing administered or discarded that month


WASTE_COLUMNS = tuple(WasteRow.__dataclass_fields__)


def _by_month(frame: pd.DataFrame, units: pd.Series, today: date) -> pd.Series:
    """Units summed by (month, product) over rows dated on or before ``today``."""
    if len(frame) == 0:
        return pd.Series(dtype=float)
    dates = frame["date"]
    if not pd.api.types.is_datetime64_dtype(dates):  # (dates already, as the sessions': no copy)
        dates = pd.to_datetime(dates, errors="coerce")
    keep = dates.notna() & (dates <= pd.Timestamp(today))
    kept = dates[keep]
    code = kept.dt.year * 100 + kept.dt.month  # YYYYMM (grouped as a number, in the texts' order)
    summed = units[keep].groupby([code, frame.loc[keep, "product"]]).sum()
    # each month written as its text once ("2026-05"), in the groups' index
    index = cast(pd.MultiIndex, summed.index)  # (grouped by two keys)
    months = [f"{c // 100:04d}-{c % 100:02d}" for c in index.levels[0]]
    summed.index = index.set_levels([months], level=[0])
    return summed


def waste(frames: CohortFrames, today: date) -> list[WasteRow]:
    """The waste table, one row per month and product with anything bought, given or discarded."""
    sessions = frames.sessions
    given = pd.to_numeric(sessions["total_units"], errors="coerce").fillna(0.0)
    if "vial_units" in sessions:
        opened = pd.to_numeric(sessions["vial_units"], errors="coerce").fillna(0.0) * pd.to_numeric(
            sessions["vial_count"], errors="coerce"
        ).fillna(1.0)
        left = (opened - given).clip(lower=0.0)
    else:
        left = given * 0.0
    stock = frames.stock
    received = stock[stock["kind"] == "received"]
    thrown = stock[stock["kind"] == "discarded"]
    parts = {
        "bought_units": _by_month(received, pd.to_numeric(received["units"], errors="coerce"), today),
        "administered_units": _by_month(sessions, given, today),
        "discarded_in_sessions_units": _by_month(sessions, left, today),
        "discarded_unopened_units": _by_month(thrown, pd.to_numeric(thrown["units"], errors="coerce"), today),
    }
    table = pd.DataFrame(parts).fillna(0.0)
    rows = []
    for key, r in table.sort_index().iterrows():
        month, product = (str(part) for part in key)  # type: ignore[attr-defined]  # (month, product)
        discarded = float(r["discarded_in_sessions_units"] + r["discarded_unopened_units"])
        used = float(r["administered_units"]) + discarded
        rows.append(
            WasteRow(
                month=str(month),
                product=str(product),
                bought_units=float(r["bought_units"]),
                administered_units=float(r["administered_units"]),
                discarded_in_sessions_units=float(r["discarded_in_sessions_units"]),
                discarded_unopened_units=float(r["discarded_unopened_units"]),
                discarded_units=discarded,
                share_discarded=round(discarded / used, 4) if used > 0 else None,
            )
        )
    return rows


def waste_csv(rows: list[WasteRow]) -> str:
    """The waste table as CSV (a header, then one line per month and product; cells made safe)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(WASTE_COLUMNS)
    for row in rows:
        values = asdict(row)
        writer.writerow(safe_row("" if values[c] is None else values[c] for c in WASTE_COLUMNS))
    return out.getvalue()
