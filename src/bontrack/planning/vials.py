"""Vials of mixed sizes: the combination of a product's vial sizes that holds a dose with the
fewest discarded units, then the fewest vials (then the fewest sizes, then the larger vials).

A product comes in at most a few sizes, so every count of every size up to the one that alone
holds the dose is tried (BOTOX 50/100/200 U for 400 U: 9 x 5 x 3 combinations).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from pydantic import BaseModel

MAX_VIALS = 20  # the check input's and the registry's vial_count limit (SessionCreate.vial_count)


class VialCount(BaseModel):
    vial_units: float
    count: int


class VialMix(BaseModel):
    """The vials to open: each size with its count, the units opened and those left over."""

    vials: list[VialCount]
    vial_count: int
    opened_units: float
    discarded_units: float


def choose_vial_mix(total: float, sizes: Sequence[float]) -> VialMix | None:
    """The least-waste combination of vial sizes holding ``total`` units (None: none within
    MAX_VIALS vials)."""
    sizes = sorted(set(sizes), reverse=True)
    bounds = [range(min(MAX_VIALS, math.ceil(total / s - 1e-9)) + 1) for s in sizes]
    best: tuple[float, int, int, tuple[int, ...]] | None = None
    for counts in itertools.product(*bounds):
        n = sum(counts)
        if n == 0 or n > MAX_VIALS:
            continue
        opened = sum(c * s for c, s in zip(counts, sizes, strict=True))
        if opened + 1e-9 < total:
            continue
        # fewest discarded, then fewest vials, then fewest sizes, then the larger vials first
        key = (round(opened - total, 6), n, sum(1 for c in counts if c), tuple(-c for c in counts))
        if best is None or key < best:
            best = key
    if best is None:
        return None
    counts = tuple(-c for c in best[3])
    vials = [VialCount(vial_units=s, count=c) for s, c in zip(sizes, counts, strict=True) if c]
    opened = sum(v.vial_units * v.count for v in vials)
    return VialMix(
        vials=vials, vial_count=best[1], opened_units=opened, discarded_units=round(opened - total, 6)
    )
