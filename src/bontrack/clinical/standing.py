"""The findings that stand before any plan: what the screening answers and the earlier sessions
already decide, whatever product and dose are then chosen.

A clinician asks "can I inject today?" before planning: the chart's banner and the opening
injection form show these. They are the decision engine's own rules, not a copy: ``decide`` takes
its screening, interval and stop-and-review findings from ``standing_findings`` for the planned
product, so the words before and after planning are the same.
"""

from __future__ import annotations

from bontrack.clinical.findings import Finding, one_per_code, ordered
from bontrack.clinical.plan import Context
from bontrack.clinical.retreatment import interval_findings, stop_review_findings
from bontrack.clinical.screening import (
    screen_allergies,
    screen_conditions,
    screen_currency,
    screen_medications,
    screen_states,
)
from bontrack.knowledge import KnowledgeBase

TOO_SOON = "retreatment.too_soon"


def standing_findings(ctx: Context, kb: KnowledgeBase, product_id: str | None = None) -> list[Finding]:
    """The screening, re-treatment interval and stop-and-review findings, most severe first.

    With ``product_id``: exactly those ``decide`` gives a plan of that product. Without: those of
    a plan of any product. An allergy names the products it contraindicates
    (``screen_allergies``); the interval is judged for each product given before, and only its
    block counts (Last ... session was 20 days ago): another product inside the interval only
    warns, and whether one is chosen is not known yet.

    >>> from datetime import date
    >>> from bontrack.clinical.plan import PatientContext
    >>> from bontrack.knowledge import load_knowledge
    >>> ctx = PatientContext.model_validate({"date": date(2026, 3, 2), "patient": {
    ...     "birth_date": date(1980, 1, 1), "sex": "female", "screened_on": date(2026, 3, 2),
    ...     "pregnant": True, "breastfeeding": False, "infection_at_injection_site": False}})
    >>> [(f.severity, f.code) for f in standing_findings(ctx, load_knowledge())]
    [('block', 'screening.pregnant')]
    """
    patient = ctx.patient
    found = [
        *screen_currency(ctx, kb),
        *screen_allergies(patient, product_id, kb),
        *screen_states(patient, kb),
        *screen_conditions(patient, kb),
        *screen_medications(patient, kb),
        *stop_review_findings(ctx, kb),
    ]
    if product_id is not None:
        found += interval_findings(ctx, product_id, kb)
    else:
        given = sorted({pid for p in ctx.history if (pid := kb.product_id(p.product)) is not None})
        found += [f for pid in given for f in interval_findings(ctx, pid, kb) if f.code == TOO_SOON]
    return ordered(one_per_code(found))
