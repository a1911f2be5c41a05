"""Preparing a dose plan's vials: the one vial size and count that hold the session total with the
least discarded units (``choose_vials``), and the least diluent in the vial's labelled range that
gives every site a volume of whole syringe graduations (``choose_dilution``; steps 4 and 5 of
bontrack.planning.dose, the planner that calls these).

Pure: the result depends only on the units and the knowledge (the product's vials, the syringe
graduations of knowledge/planning.toml).
"""

from __future__ import annotations

import math

from bontrack.knowledge.models import Vial
from bontrack.planning.knowledge import PlanningKnowledge

_EPS = 1e-6


def _ceil_div(a: float, b: float) -> int:
    return math.ceil(a / b - _EPS)


def choose_vials(total: float, vials: list[Vial]) -> tuple[Vial, int]:
    """The vial size and count holding ``total`` with the least discarded units, then fewest vials."""
    best = min(
        vials, key=lambda v: (_ceil_div(total, v.units) * v.units - total, _ceil_div(total, v.units), v.units)
    )
    return best, _ceil_div(total, best.units)


_DILUENTS: dict[int, tuple[Vial, list[float]]] = {}


def _diluents(vial: Vial) -> list[float]:
    """Diluent volumes to try, in 0.05 mL steps across the labelled range (cached per vial)."""
    cached = _DILUENTS.get(id(vial))
    if cached is not None and cached[0] is vial:
        return cached[1]
    n = round((vial.diluent_ml_max - vial.diluent_ml_min) / 0.05)
    values = [round(vial.diluent_ml_min + 0.05 * i, 2) for i in range(n + 1)]
    out = sorted({*values, vial.diluent_ml_max})
    _DILUENTS[id(vial)] = (vial, out)
    return out


def choose_dilution(units: list[float], vial: Vial, pk: PlanningKnowledge) -> tuple[float, float | None]:
    """The least diluent (mL) giving whole-graduation volumes in range; the graduation used."""
    g = pk.planning.graduations
    candidates = _diluents(vial)
    for bounded in (True, False):
        for grad in g.ml:
            for diluent in candidates:
                conc = vial.units / (vial.solution_ml + diluent)
                ok = True
                for u in units:
                    vol = u / conc
                    k = vol / grad
                    if abs(k - round(k)) > 1e-6 or round(k) < 1:
                        ok = False
                        break
                    if bounded and not g.min_site_ml - _EPS <= vol <= g.max_site_ml + _EPS:
                        ok = False
                        break
                if ok:
                    return diluent, grad
    return candidates[0], None
