"""The decision engine: one proposed session in, a sourced allow / warn / block out."""

from __future__ import annotations

from typing import Any

from bontrack.clinical.dosing import dilution, dose_findings, preparation_findings
from bontrack.clinical.eligibility import eligibility_findings
from bontrack.clinical.findings import Decision, one_per_code, ordered, verdict
from bontrack.clinical.plan import CheckRequest, parse_check_request
from bontrack.clinical.preparation import lot_findings, reconstitution_findings
from bontrack.clinical.retreatment import cumulative_findings, label_interval_findings
from bontrack.clinical.standing import standing_findings
from bontrack.knowledge import KnowledgeBase, load_knowledge


def decide(req: CheckRequest, kb: KnowledgeBase) -> Decision:
    """Judge a validated request. Pure: the result depends only on ``req`` and ``kb``."""
    product_id = kb.product_id(req.plan.product)
    if product_id is None:  # parse_check_request rejects this; a hand-built request may not
        raise ValueError(f"unknown product {req.plan.product!r}")
    product = kb.product(product_id)
    vial = product.vial(req.plan.vial_units)
    if vial is None:
        raise ValueError(f"{product_id} has no {req.plan.vial_units:g} U vial")
    dil = dilution(req.plan, product_id, vial)
    findings = [
        *standing_findings(req, kb, product_id),  # screening, interval, stop-and-review
        *preparation_findings(req.plan, dil, product, vial, kb),
        *dose_findings(req.plan, product_id, product, kb, toxin_naive=not req.history),
        *cumulative_findings(req, product_id, kb),
        *label_interval_findings(req, product_id, kb),
        *lot_findings(req, product, kb),
        *reconstitution_findings(req, product, kb),
        *eligibility_findings(req, product_id, kb),
    ]
    findings = ordered(one_per_code(findings))
    return Decision.model_construct(
        decision=verdict(findings),
        findings=findings,
        knowledge_version=kb.version,
        product=product_id,
        dilution=dil,
    )


def check(data: Any, kb: KnowledgeBase | None = None) -> Decision:
    """Validate a check document (as parsed JSON) and decide; raises PlanInputError if invalid."""
    kb = kb or load_knowledge()
    return decide(parse_check_request(data, kb), kb)
