"""What the generator produces: records to write, each with a pre-drawn id and recording time."""

from __future__ import annotations

import datetime as dt
import random
import uuid
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
]


@dataclass(frozen=True)
class Item:
    """One record to write: its kind, pre-drawn id, when it is recorded, and its content.

    ``expect_refusal``: the plan holds a contraindication; the engine must block it and nothing
    is saved (the loader counts it as refused).
    """

    kind: ItemKind
    id: str
    at: dt.datetime
    data: BaseModel
    clinic_id: str = ""
    expect_refusal: bool = False


@dataclass(frozen=True)
class Staff:
    clinic_id: str
    physicians: list[str]
    therapists: list[str]


def draw_id(rng: random.Random) -> str:
    """A version-4 UUID drawn from the seeded stream (so ids repeat for a seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
