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
OUTCOMES = ("resolved", "resolved", "resolved", "improving", "resolved with soft diet")


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
        outcome = rng.choice(OUTCOMES)
        if reported > as_of:
            continue
        found.append(
            AdverseEventCreate(
                patient_id=plan.patient_id,
                session_id=session_id,
                event=name,
                onset_date=onset,
                reported_date=reported,
                severity=severity,
                serious=serious,
                outcome=outcome,
            )
        )
    return found


def override_reason(rng: random.Random) -> str:
    return rng.choice(OVERRIDE_REASONS)
