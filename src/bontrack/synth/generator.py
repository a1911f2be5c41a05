"""The synthetic clinic as plain Create schemas: pure, deterministic for a seed, no database.

Each patient has its own random stream (seeded by the clinic seed, the batch and the patient's
number), so patient 17 is the same whether the demo has 20 patients or 10,000. Ids are drawn from
the same streams and every record carries the moment it is recorded (``Item.at``), so a demo
exports identically for a seed. Clinical choices read their limits from the knowledge base and
their frequencies from calibration.toml; this package holds no clinical limits.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

from bontrack.knowledge import load_knowledge
from bontrack.patients.schemas import ClinicCreate, ClinicianCreate
from bontrack.synth.calibration import load_calibration, timeline
from bontrack.synth.items import Item, Staff, draw_id
from bontrack.synth.names import CLINICIANS
from bontrack.synth.pathway import PatientWalk, walk


def _stream(seed: int, batch: int, key: str) -> random.Random:
    return random.Random(f"bontrack-demo:{seed}:{batch}:{key}")


def clinic_items(seed: int, batch: int = 0, *, as_of: dt.date | None = None) -> tuple[Staff, list[Item]]:
    """The clinic and its (fictional) staff, recorded on the timeline's first day (ending on
    ``as_of``, default the calibrated day: bontrack.synth.calibration.timeline)."""
    rng = _stream(seed, batch, "clinic")
    at = dt.datetime.combine(timeline(as_of).first_referral, dt.time(7, 0))
    clinic_id = draw_id(rng)
    name = "Synthetic Demo Clinic" + (f" {batch + 1}" if batch else "") + " (fictional)"
    items = [Item("clinic", clinic_id, at, ClinicCreate(name=name))]
    physicians, therapists = [], []
    for person, role in CLINICIANS:
        cid = draw_id(rng)
        data = ClinicianCreate.model_validate(
            {"name": person, "role": role, "registration": f"SYN-REG-{rng.randint(10000, 99999)}"}
        )
        items.append(Item("clinician", cid, at, data, clinic_id=clinic_id))
        if role == "physician":
            physicians.append(cid)
        elif role == "physiotherapist":
            therapists.append(cid)
    return Staff(clinic_id, physicians, therapists), items


def patient_items(
    number: int, *, seed: int, staff: Staff, batch: int = 0, as_of: dt.date | None = None
) -> list[Item]:
    """Every record of one patient up to ``as_of``, in the order the clinic records them."""
    first, last = timeline(as_of)
    stream = _stream(seed, batch, f"patient:{number}")
    w = PatientWalk(stream, load_knowledge(), load_calibration(), staff, last, first)
    walk(w, number, batch)
    return sorted(w.items, key=lambda item: item.at)


def generate(
    patients: int, *, seed: int, batch: int = 0, as_of: dt.date | None = None
) -> Iterator[list[Item]]:
    """The clinic and its staff first, then one list of records per patient; the clinic as of
    ``as_of`` (default: the calibrated day)."""
    staff, items = clinic_items(seed, batch, as_of=as_of)
    yield items
    for number in range(1, patients + 1):
        yield patient_items(number, seed=seed, staff=staff, batch=batch, as_of=as_of)
