"""Adverse events after a session and the written reasons of clinician overrides."""

from __future__ import annotations

import datetime as dt
import random

from bontrack.injections.schemas import AdverseEventCreate, SessionCreate
from bontrack.knowledge import KnowledgeBase
from bontrack.synth.calibration import Calibration

OVERRIDE_REASONS = (
    "Patient leaves the country for four months next week; early retreatment discussed, risks accepted.",
    "Severe relapse with sleep loss; a week short of the interval. Lower dose agreed, patient informed.",
    "Scheduling conflict with surgery; retreat now rather than wait 5 months. Consent documented.",
)
# (status, notes on the outcome): drawn with one random number, as the notes alone once were
OUTCOMES = (
    ("resolved", ""),
    ("resolved", "within a few days"),
    ("resolved", "no treatment needed"),
    ("recovering", "improving"),
    ("resolved", "with a soft diet"),
)
RECENT_DAYS = 28  # an event reported this close to the as-of date may still be going on
LONG_AGO_DAYS = 90  # one reported longer ago than this, recovering then, has resolved since
# how likely the injection caused each event (WHO-UMC): the label's reactions mostly probable
RELATEDNESS = {
    "dysphagia": (("probable", 60), ("possible", 30), ("certain", 10)),
    "neck weakness": (("probable", 60), ("possible", 40)),
    "injection-site pain": (("certain", 50), ("probable", 50)),
}
OTHER_RELATEDNESS = (("possible", 55), ("probable", 20), ("unlikely", 20), ("unassessable", 5))


def event_probabilities(kb: KnowledgeBase, cal: Calibration, plan: SessionCreate) -> dict[str, float]:
    """Per-session probability of each event, scaled by the dose relative to the typical upper dose."""
    product_id = kb.product_id(plan.product) or plan.product
    product = kb.product(product_id)
    total = sum(s.units for s in plan.sites)
    scale = max(0.5, min(1.0, total / product.typical_cervical_session_units.high))
    scm = any(s.muscle == kb.files.pathway.bilateral_scm.muscle for s in plan.sites)
    probs = {name: p * scale for name, p in cal.weights("adverse_events.events").items()}
    factor = "adverse_events.scm_dysphagia_factor" if scm else "adverse_events.no_scm_dysphagia_factor"
    probs["dysphagia"] = probs["dysphagia"] * cal.num(factor)
    extra = cal.get("adverse_events.product_events").get(product_id, {})
    for name, p in extra.items():
        probs[name] = float(p) * scale
    return probs


def adverse_events(
    rng: random.Random,
    kb: KnowledgeBase,
    cal: Calibration,
    plan: SessionCreate,
    *,
    session_id: str,
    as_of: dt.date,
) -> list[AdverseEventCreate]:
    """The events a patient reports after a session (often none), up to ``as_of``.

    Every event draws the same random numbers whether it is reported by ``as_of`` or not, so the
    clinic of a seed stays the same; one reported later is not made (its date would be refused).
    """
    found = []
    for name, p in event_probabilities(kb, cal, plan).items():
        if rng.random() >= p:
            continue
        onset = plan.date + dt.timedelta(days=rng.randint(1, 14))
        severity = rng.choices(["mild", "moderate", "severe"], weights=[70, 25, 5])[0]
        reported = onset + dt.timedelta(days=rng.randint(0, 14))
        serious = severity == "severe" and name == "dysphagia" and rng.random() < 0.3
        status, outcome = rng.choice(OUTCOMES)
        if reported > as_of:
            continue
        # status and relatedness from a generator of their own, so the clinic of a seed is unchanged
        own = random.Random(f"{session_id}:{name}")
        if (as_of - reported).days <= RECENT_DAYS and own.random() < 0.5:
            status, outcome = own.choice(
                (("ongoing", "still present at the last contact"), ("recovering", "improving"))
            )
        elif status == "recovering" and (as_of - reported).days > LONG_AGO_DAYS:
            status, outcome = "resolved", "over some weeks"
        options = RELATEDNESS.get(name, OTHER_RELATEDNESS)
        relatedness = own.choices([o for o, _w in options], weights=[w for _o, w in options])[0]
        found.append(
            AdverseEventCreate(
                patient_id=plan.patient_id,
                session_id=session_id,
                event=name,
                onset_date=onset,
                reported_date=reported,
                severity=severity,
                serious=serious,
                status=status,
                relatedness=relatedness,
                outcome=outcome,
            )
        )
    return found


def override_reason(rng: random.Random) -> str:
    return rng.choice(OVERRIDE_REASONS)
