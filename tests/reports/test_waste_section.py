"""The waste section: units bought, given and discarded per month and product, from the registry."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import Engine

from bontrack.injections.service import create_session
from bontrack.reports.data import cohort_frames
from bontrack.reports.sections.waste import waste, waste_csv
from bontrack.stock import service as stock
from bontrack.stock.schemas import DiscardRequest, StockReceiptCreate
from bontrack.storage.engine import transaction
from factories import ACTOR, DAY, clinic_world, session_input


def test_waste__bought_given_left_in_vials_and_discarded_unopened(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        stock.receive_vials(
            db=db,
            actor=ACTOR,
            clinic_id=world.clinic_id,
            data=StockReceiptCreate(
                product="botox",
                lot="W1",
                expiry=DAY + dt.timedelta(days=300),
                vial_units=100,
                vial_count=4,
                supplier="McKesson",
                received_on=dt.date(2026, 2, 10),
            ),
        )
        # 2 x 20 U from one 100 U vial: 60 U left in it
        create_session(db=db, actor=ACTOR, data=session_input(world, lot="W1", units=20))
        stock.discard_vials(
            db=db,
            actor=ACTOR,
            data=DiscardRequest(lot="W1", vial_count=1, reason="dropped", discarded_on=DAY),
        )
        frames = cohort_frames(db=db, actor=ACTOR)
    rows = waste(frames, DAY)
    assert [(r.month, r.product) for r in rows] == [
        ("2026-02", "onabotulinumtoxinA"),
        ("2026-03", "onabotulinumtoxinA"),
    ]
    feb, mar = rows
    assert (feb.bought_units, feb.administered_units, feb.share_discarded) == (400, 0, None)
    assert (mar.administered_units, mar.discarded_in_sessions_units, mar.discarded_unopened_units) == (
        40,
        60,
        100,
    )
    assert mar.discarded_units == 160
    assert mar.share_discarded == 0.8  # 160 of the 200 units that left the stock
    assert waste(frames, dt.date(2026, 2, 28))[-1].month == "2026-02"  # later months not yet
    lines = list(csv.DictReader(io.StringIO(waste_csv(rows))))
    assert lines[1]["discarded_units"] == "160.0" and lines[0]["share_discarded"] == ""


def test_waste__nothing_recorded_is_an_empty_table(engine: Engine) -> None:
    with transaction(engine) as db:
        frames = cohort_frames(db=db, actor=ACTOR)
    assert waste(frames, DAY) == []
    assert waste_csv([]).startswith("month,product,bought_units")
