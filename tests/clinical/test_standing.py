"""The findings that stand before any plan (clinical.standing): the engine's own screening,
interval and stop-and-review rules, judged without a product, in the words ``decide`` uses."""

from __future__ import annotations

import doctest
from typing import Any

import pytest

from bontrack.clinical.decision import check
from bontrack.clinical.plan import PatientContext, PlanInputError, parse_patient_context
from bontrack.clinical.standing import before_planning, standing_findings
from bontrack.knowledge import KnowledgeBase
from clinical.conftest import make

SEVERE = {"block", "warn"}


def context(doc: dict[str, Any], kb: KnowledgeBase) -> PatientContext:
    """A check document's patient context: the same document without its episode and plan."""
    return parse_patient_context({k: v for k, v in doc.items() if k in ("date", "patient", "history")}, kb)


def test_standing__pregnancy_infection_and_myasthenia_each_block_before_any_product(
    kb: KnowledgeBase,
) -> None:
    doc = make(
        patient={
            "pregnant": True,
            "infection_at_injection_site": True,
            "conditions": ["myasthenia_gravis"],
            "medications": ["paracetamol", "warfarin 5 mg"],
        }
    )
    found = standing_findings(context(doc, kb), kb)
    severities = [f.severity for f in found]
    assert severities == sorted(severities, key=["block", "warn", "info"].index)  # blocks first
    blocks = [f.code for f in found if f.severity == "block"]
    assert sorted(blocks) == [
        "condition.myasthenia_gravis",
        "screening.infection_at_injection_site",
        "screening.pregnant",
    ]
    assert [f.code for f in found if f.severity == "warn"] == ["medication.anticoagulants"]
    assert len({f.code for f in found}) == len(found) and all(f.source for f in found)


@pytest.mark.parametrize("product", ["onabotulinumtoxinA", "abobotulinumtoxinA", "incobotulinumtoxinA"])
@pytest.mark.parametrize(
    "edit",
    [
        {"patient": {"pregnant": True, "allergies": ["milk"], "medications": ["Advil"]}},
        {"patient": {"screened_on": "2026-09-01", "conditions": ["MG"], "breastfeeding": None}},
        {"history": [{"date": "2026-10-20", "product": "Botox", "total_units": 100, "responded": False}]},
        {"history": [{"date": "2026-08-01", "product": "Dysport", "total_units": 300, "responded": False}]},
    ],
)
def test_standing__for_a_product_are_the_words_decide_gives_its_plan(
    kb: KnowledgeBase, product: str, edit: dict[str, Any]
) -> None:
    """Nothing judged twice, nothing reworded: each finding before planning is one of the plan's."""
    doc = make(**edit)
    doc["plan"]["product"] = product
    doc["plan"]["diluent_ml"] = 2.5
    doc["plan"]["vial_units"] = {"abobotulinumtoxinA": 500}.get(product, 100)
    decided = check(doc, kb).findings
    assert set(standing_findings(context(doc, kb), kb, product)) <= set(decided)


def test_standing__without_a_product_an_allergy_names_the_products_it_contraindicates(
    kb: KnowledgeBase,
) -> None:
    doc = make(patient={"allergies": ["Botox", "cow's milk"]})
    found = {f.code: f for f in standing_findings(context(doc, kb), kb)}
    assert found["allergy.botulinum_toxin"].severity == "block"
    assert "contraindicates every botulinum toxin product." in found["allergy.botulinum_toxin"].message
    milk = found["allergy.cows_milk_protein"]
    assert milk.severity == "block" and milk.message.endswith("contraindicates abobotulinumtoxinA.")


def test_standing__too_soon_blocks_for_the_product_given_and_no_other_product_warning(
    kb: KnowledgeBase,
) -> None:
    doc = make(history=[{"date": "2026-11-03", "product": "Botox", "total_units": 100}])
    found = standing_findings(context(doc, kb), kb)
    assert [(f.severity, f.code) for f in found] == [("block", "retreatment.too_soon")]
    assert found[0].message.startswith("Last onabotulinumtoxinA session was 20 days ago (2026-11-03)")


def test_standing__a_clean_current_screening_stands_in_no_way(kb: KnowledgeBase) -> None:
    doc = make(history=[{"date": "2026-06-01", "product": "Botox", "total_units": 100}])
    assert not [f for f in standing_findings(context(doc, kb), kb) if f.severity in SEVERE]


def test_parse_patient_context__names_the_bad_field(kb: KnowledgeBase) -> None:
    doc = make(history=[{"date": "2026-12-01", "product": "Botox", "total_units": 100}])
    with pytest.raises(PlanInputError) as raised:
        context(doc, kb)
    assert [e.field for e in raised.value.errors] == ["history[0].date"]


def test_before_planning__a_block_of_every_product_reads_before_a_block_of_some(kb: KnowledgeBase) -> None:
    """Sorted by the engine, the cow's milk allergy (allergy topic) would come before pregnancy;
    the first line read must be the one that stops any injection."""
    judged = before_planning(context(make(patient={"allergies": ["milk"], "pregnant": True}), kb), kb)
    assert [f.code for f in judged.findings] == ["screening.pregnant", "allergy.cows_milk_protein"]
    assert judged.every_product_blocked and judged.blocked == tuple(kb.files.products)


def test_before_planning__a_block_of_one_product_names_it(kb: KnowledgeBase) -> None:
    judged = before_planning(context(make(patient={"allergies": ["milk"]}), kb), kb)
    assert judged.blocked == ("abobotulinumtoxinA",) and not judged.every_product_blocked
    clean = before_planning(context(make(), kb), kb)
    assert clean.blocked == () and not clean.every_product_blocked and clean.findings == []


def test_standing__docstring_examples_run() -> None:
    import bontrack.clinical.standing as module

    failed, tried = doctest.testmod(module)
    assert tried and not failed
