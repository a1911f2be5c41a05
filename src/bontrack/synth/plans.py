"""Injection plans a clinician would write: products and doses within the knowledge base's limits."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter

from bontrack.injections.schemas import SessionCreate
from bontrack.knowledge import KnowledgeBase
from bontrack.knowledge.models import Product, Vial
from bontrack.synth.calibration import Calibration
from bontrack.synth.lots import demo_lot

Site = tuple[str, str]  # muscle, side


def weighted(rng: random.Random, weights: dict[str, float]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def dose_step(product: Product) -> float:
    """Round doses as clinics do: 5 U for type A products, 10 U for larger unit scales, 100 U for B."""
    high = product.typical_cervical_session_units.high
    return 100.0 if high >= 2000 else 10.0 if high >= 400 else 5.0


def session_ceiling(product: Product, first: bool) -> float:
    """The most a routine plan gives: the typical upper dose, the session limit, the initial dose."""
    ceiling = min(product.typical_cervical_session_units.high, product.max_session_units.value)
    initial = product.initial_session_units
    if first and initial is not None:
        # below the value when the label asks for a lower dose than it (MYOBLOC)
        ceiling = min(ceiling, initial.value - (dose_step(product) if initial.lower_than else 0.0))
    return ceiling


def site_units(product: Product, sites: list[Site], total: float) -> list[float]:
    """Split a total over the sites, rounded, within the per-site and per-muscle limits."""
    step = dose_step(product)
    per_site = max(step, math.floor(total / len(sites) / step) * step)
    if product.max_units_per_site is not None:
        per_site = min(per_site, product.max_units_per_site.value)
    counts = Counter(m for m, _side in sites)
    units = []
    for muscle, _side in sites:
        u = per_site
        for cap in product.muscle_caps:
            if cap.muscle == muscle:
                share = cap.value / (counts[muscle] if cap.scope == "both_sides" else 1)
                u = min(u, math.floor(share / step) * step)
        units.append(max(u, step))
    return units


def choose_vial(product: Product, total: float) -> tuple[Vial, int]:
    """The smallest vial that holds the dose, else several of the largest."""
    vials = sorted(product.vials, key=lambda v: v.units)
    for vial in vials:
        if vial.units >= total:
            return vial, 1
    largest = vials[-1]
    return largest, math.ceil(total / largest.units)


def diluent_for(vial: Vial) -> float:
    """A volume inside the label's range: the usual 1, 2, 2.5 or 4 mL where allowed."""
    for ml in (2.0, 2.5, 1.0, 4.0, 5.0):
        if vial.diluent_ml_min <= ml <= vial.diluent_ml_max:
            return ml
    return vial.diluent_ml_min


def plan_session(
    rng: random.Random,
    kb: KnowledgeBase,
    cal: Calibration,
    *,
    ids: dict[str, str],
    product_id: str,
    sites: list[Site],
    day: dt.date,
    first: bool,
    batch: int,
    lot_draw: int,
) -> SessionCreate:
    """A session plan for the trigger-point sites; doses stay within every knowledge-base limit.
    Its vials come from one of the quarter's lots of the product and vial size (``lot_draw``
    chooses which: bontrack.synth.lots)."""
    product = kb.product(product_id)
    typical_high = product.typical_cervical_session_units.high
    fraction = rng.uniform(cal.num("dose.fraction_of_typical_low"), cal.num("dose.fraction_of_typical_high"))
    total = min(typical_high * fraction, session_ceiling(product, first))
    units = site_units(product, sites, total)
    while sum(units) > session_ceiling(product, first) and max(units) > dose_step(product):
        i = units.index(max(units))
        units[i] -= dose_step(product)
    vial, count = choose_vial(product, sum(units))
    prepared = dt.datetime.combine(day, dt.time(8, 0)) + dt.timedelta(minutes=rng.randint(0, 120))
    lot = demo_lot(kb, cal, batch=batch, product_id=product_id, vial_units=vial.units, day=day, draw=lot_draw)
    # before the demo had lots in stock, each session drew an expiry of its own here; the number
    # is still drawn (and unused), so that every later draw of the patient's stream stays the same
    rng.randint(60, 540)
    return SessionCreate.model_validate(
        {
            "patient_id": ids["patient"],
            "episode_id": ids["episode"],
            "date": day,
            "injector_id": ids["injector"],
            "product": product_id,
            "vial_units": vial.units,
            "vial_count": count,
            "lot": lot.name,
            "lot_expiry": lot.expiry,
            "diluent_ml": diluent_for(vial),
            "reconstituted_at": prepared,
            "administered_at": prepared + dt.timedelta(minutes=rng.randint(10, 90)),
            "guidance": weighted(rng, cal.weights("guidance.share")),
            "sites": [{"muscle": m, "side": s, "units": u} for (m, s), u in zip(sites, units, strict=True)],
        }
    )
