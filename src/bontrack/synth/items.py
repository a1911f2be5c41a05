"""What the generator produces: records to write, each with a pre-drawn id and recording time."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

ItemKind = Literal[
    "clinic",
    "clinician",
    "patient",
    "episode",
    "screening",
    "assessment",
    "therapy_plan",
    "session",
    "adverse_event",
    "therapy_visit",
    "outcome",
    "stock_receipt",
    "vial_discard",
]


@dataclass(frozen=True)
class Item:
    """One record to write: its kind, pre-drawn id, when it is recorded, and its content.

    ``expect_refusal``: the plan holds a contraindication; the engine must block it and nothing
    is saved (the loader counts it as refused). ``opening_id``: a session's record of the vials
    it opened (``opening_id_of``).
    """

    kind: ItemKind
    id: str
    at: dt.datetime
    data: BaseModel
    clinic_id: str = ""
    expect_refusal: bool = False
    opening_id: str = ""


@dataclass(frozen=True)
class Staff:
    clinic_id: str
    physicians: list[str]
    therapists: list[str]


_VARIANT_AND_VERSION_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_VARIANT_AND_VERSION_SET = (0x8000 << 48) | (4 << 76)


def draw_id(rng: random.Random) -> str:
    """A version-4 UUID drawn from the seeded stream (so ids repeat for a seed).

    The same text as ``str(uuid.UUID(int=rng.getrandbits(128), version=4))`` (RFC 4122 variant
    and version bits set the way uuid.UUID sets them), written out directly: about 45 ids are
    drawn per patient.
    """
    n = (rng.getrandbits(128) & _VARIANT_AND_VERSION_CLEAR) | _VARIANT_AND_VERSION_SET
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def opening_id_of(session_id: str) -> str:
    """The id of the vial opening a session records: drawn from a stream of its own, seeded by the
    session's id, so the patient's stream (and every figure drawn from it) is as before openings."""
    return draw_id(random.Random(f"bontrack-demo-opening:{session_id}"))
