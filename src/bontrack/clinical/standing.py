"""The findings that stand before any plan: what the screening answers and the earlier sessions
already decide, whatever product and dose are then chosen.

A clinician asks "can I inject today?" before planning: the chart's banner and the opening
injection form show these. They are the decision engine's own rules, not a copy: ``decide`` takes
its screening, interval and stop-and-review findings from ``standing_findings`` for the planned
product, so the words before and after planning are the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

    With ``product_id``: exactly those ``decide`` gives a plan of that product, each screening
    finding citing that product's own label where recorded. Without: those of a plan of any
    product, citing the class's facts. An allergy names the products it contraindicates
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
        *screen_states(patient, kb, product_id),
        *screen_conditions(patient, kb, product_id),
        *screen_medications(patient, kb, product_id),
        *stop_review_findings(ctx, kb),
    ]
    if product_id is not None:
        found += interval_findings(ctx, product_id, kb)
    else:
        given = sorted({pid for p in ctx.history if (pid := kb.product_id(p.product)) is not None})
        found += [f for pid in given for f in interval_findings(ctx, pid, kb) if f.code == TOO_SOON]
    return ordered(one_per_code(found))


@dataclass(frozen=True)
class Standing:
    """What stands before planning, for the page that asks "can I inject today?".

    ``findings``: ``standing_findings`` without a product, except that a block of every product
    (pregnancy) comes before a block of some (a cow's milk allergy, too soon after Botox), so the
    first line read is the one that stops any injection. ``blocked``: the products a plan of which
    the engine blocks today, in the knowledge base's order.
    """

    findings: list[Finding]
    blocked: tuple[str, ...]
    every_product_blocked: bool
    # a block that stops a plan of some products only (a cow's milk allergy, too soon after
    # Botox): its code -> those products, in the knowledge base's order. A block not here stops
    # every product (pregnancy).
    only_for: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def blocks_every_product(self) -> list[Finding]:
        """The blocks that stop any injection today, in order: the reasons "Injection blocked
        today" counts."""
        return [f for f in self.findings if f.severity == "block" and f.code not in self.only_for]

    @property
    def blocks_some_products(self) -> list[tuple[Finding, tuple[str, ...]]]:
        """The blocks of some products only, each with those products, in order."""
        return [(f, self.only_for[f.code]) for f in self.findings if f.code in self.only_for]


def before_planning(ctx: Context, kb: KnowledgeBase) -> Standing:
    """Judge the patient before a plan: the findings, and which products they block.

    >>> from datetime import date
    >>> from bontrack.clinical.plan import PatientContext
    >>> from bontrack.knowledge import load_knowledge
    >>> ctx = PatientContext.model_validate({"date": date(2026, 3, 2), "patient": {
    ...     "birth_date": date(1980, 1, 1), "sex": "male", "screened_on": date(2026, 3, 2),
    ...     "infection_at_injection_site": False, "allergies": ["milk"]}})
    >>> judged = before_planning(ctx, load_knowledge())
    >>> judged.blocked, judged.every_product_blocked
    (('abobotulinumtoxinA',), False)
    >>> [(f.code, products) for f, products in judged.blocks_some_products]
    [('allergy.cows_milk_protein', ('abobotulinumtoxinA',))]
    """
    by_product = {
        pid: {f.code for f in standing_findings(ctx, kb, pid) if f.severity == "block"}
        for pid in kb.files.products
    }
    everywhere = set.intersection(*by_product.values()) if by_product else set()
    found = standing_findings(ctx, kb)
    # a stable sort: within each group, the order ``ordered`` gave (the patient before the plan)
    found.sort(key=lambda f: (("block", "warn", "info").index(f.severity), f.code not in everywhere))
    blocked = tuple(pid for pid, codes in by_product.items() if codes)
    only_for = {
        f.code: tuple(pid for pid, codes in by_product.items() if f.code in codes)
        for f in found
        if f.severity == "block"
        and f.code not in everywhere
        and any(f.code in c for c in by_product.values())
    }
    return Standing(found, blocked, bool(blocked) and len(blocked) == len(by_product), only_for)
