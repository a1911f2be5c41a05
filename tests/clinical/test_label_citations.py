"""A screening finding cites the planned product's own label section where it was read, else says
plainly that the fact is the class's, taken from another product's label (QA 4, finding 12).

The per-product sections read so far are listed with their quotes in
tests/reference/screening_label_sections.json; none of the DYSPORT, XEOMIN, MYOBLOC or DAXXIFY
sections could be read, so their plans cite the BOTOX label as the class's fact."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bontrack.clinical.decision import check
from bontrack.clinical.plan import PatientContext
from bontrack.clinical.standing import before_planning
from bontrack.knowledge import KnowledgeBase, load_knowledge
from bontrack.knowledge.citing import screening_facts
from bontrack.knowledge.loader import _read_files, build_knowledge
from tests.clinical.conftest import make

REFERENCE = json.loads(
    (Path(__file__).parents[1] / "reference" / "screening_label_sections.json").read_text(encoding="utf-8")
)
PRODUCTS = [
    "onabotulinumtoxinA",
    "abobotulinumtoxinA",
    "incobotulinumtoxinA",
    "rimabotulinumtoxinB",
    "daxibotulinumtoxinA",
]
# finding code -> (knowledge group, item id, what the patient says, the BOTOX section)
RULES = {
    "screening.infection_at_injection_site": (
        "states",
        "infection_at_injection_site",
        {"infection_at_injection_site": True},
        "section 4.2",
    ),
    "condition.myasthenia_gravis": ("conditions", "myasthenia_gravis", {"conditions": ["MG"]}, "section 5.5"),
    "medication.aminoglycosides": (
        "drug_classes",
        "aminoglycosides",
        {"medications": ["gentamicin"]},
        "section 7.1",
    ),
}
NOT_READ = "label's own section not checked"


def _plan(kb: KnowledgeBase, pid: str, patient: dict[str, Any]) -> dict[str, Any]:
    """A plan of one product (its first vial, 1 U at one site) for a patient saying ``patient``."""
    doc = make(patient=patient)
    vial = kb.product(pid).vials[0]
    doc["plan"].update(
        {"product": pid, "vial_units": vial.units, "diluent_ml": max(vial.diluent_ml_min, 0.5)}
    )
    doc["plan"]["sites"] = [{"muscle": "upper_trapezius", "side": "left", "units": 1}]
    return doc


def _source(kb: KnowledgeBase, pid: str, code: str) -> str:
    found = {f.code: f for f in check(_plan(kb, pid, RULES[code][2]), kb).findings}
    return found[code].source


def _item(kb: KnowledgeBase, code: str) -> Any:
    group, item_id, _, _ = RULES[code]
    return getattr(kb.files, group)[item_id]


@pytest.mark.parametrize("code", RULES)
def test_a_botox_plan_cites_the_botox_label_itself(kb: KnowledgeBase, code: str) -> None:
    source = _source(kb, "onabotulinumtoxinA", code)
    assert source == kb.cite(_item(kb, code))
    assert source.startswith("BOTOX label") and RULES[code][3] in source


@pytest.mark.parametrize("code", RULES)
@pytest.mark.parametrize("pid", PRODUCTS[1:])
def test_another_products_plan_says_the_fact_is_the_class_and_its_own_section_unread(
    kb: KnowledgeBase, pid: str, code: str
) -> None:
    """Before: a DYSPORT plan cited "BOTOX label ..., section 4.2" as though it were DYSPORT's."""
    source = _source(kb, pid, code)
    assert source.startswith("Class fact, from the onabotulinumtoxinA (Botox) label")
    assert f"the {kb.product_name(pid)} {NOT_READ}" in source
    assert source.endswith(kb.cite(_item(kb, code)))  # the BOTOX citation itself is kept whole
    assert RULES[code][3] in source


def test_each_product_cites_its_own_label_where_recorded() -> None:
    """The engine picks the planned product's entry (test data: sections of the products' own
    labels, not read facts) and keeps the class's citation for products without one."""
    raw = copy.deepcopy(_read_files())
    labels = {
        pid: f"{name}_fda_label"
        for pid, name in zip(PRODUCTS[1:], ["dysport", "xeomin", "myobloc", "daxxify"], strict=True)
    }
    for code, (group, item_id, _, _) in RULES.items():
        raw[group][item_id]["sources"] = {
            pid: {"source": sid, "where": f"section 9.{n}: test entry for {code}"}
            for n, (pid, sid) in enumerate(list(labels.items())[:3])
        }
    kb = build_knowledge(raw)
    for code in RULES:
        for pid in PRODUCTS[1:4]:
            source = _source(kb, pid, code)
            assert source == kb.cite(_item(kb, code).sources[pid])
            assert source.startswith(kb.files.sources[labels[pid]].title) and "test entry" in source
        assert NOT_READ in _source(kb, "daxibotulinumtoxinA", code)
        assert _source(kb, "onabotulinumtoxinA", code) == kb.cite(_item(kb, code))


def test_the_chart_banner_cites_the_class_and_every_recorded_label() -> None:
    """Judged before a plan, for every product at once, the finding cites the class's fact, then
    each product's own label where recorded."""
    raw = copy.deepcopy(_read_files())
    raw["states"]["infection_at_injection_site"]["sources"] = {
        "abobotulinumtoxinA": {"source": "dysport_fda_label", "where": "section 9: test entry"}
    }
    ctx = PatientContext.model_validate(
        {
            "date": date(2026, 3, 2),
            "patient": {
                "birth_date": date(1980, 1, 1),
                "sex": "male",
                "screened_on": date(2026, 3, 2),
                "infection_at_injection_site": True,
                "conditions": ["MG"],
            },
        }
    )
    for kb, recorded in ((load_knowledge(), False), (build_knowledge(raw), True)):
        found = {f.code: f.source for f in before_planning(ctx, kb).findings}
        for code in ("screening.infection_at_injection_site", "condition.myasthenia_gravis"):
            assert found[code].startswith("Class fact, from the onabotulinumtoxinA")
            assert NOT_READ not in found[code]
        dysport = "; the abobotulinumtoxinA (Dysport) label: DYSPORT label"
        assert (dysport in found["screening.infection_at_injection_site"]) is recorded


def test_a_rule_for_some_products_or_from_the_pathway_is_cited_as_it_is(kb: KnowledgeBase) -> None:
    milk = kb.files.allergies["cows_milk_protein"]
    pregnant = kb.files.states["pregnant"]
    for pid in [None, *PRODUCTS]:
        assert kb.cite_for(milk, pid) == kb.cite(milk)
        assert kb.cite_for(pregnant, pid) == kb.cite(pregnant)


def test_every_recorded_product_section_has_its_verified_quote(kb: KnowledgeBase) -> None:
    """A per-product citation enters screening.toml only with the label's words, read in the label
    itself, in tests/reference/screening_label_sections.json (and a quote there is entered)."""
    recorded = {
        (path, pid, cited.source, cited.where.split(":")[0])
        for path, fact in screening_facts(kb.files)
        for pid, cited in fact.sources.items()
    }
    quoted = {(q["rule"], q["product"], q["source"], q["section"]) for q in REFERENCE["quotes"]}
    assert recorded == quoted
    for q in REFERENCE["quotes"]:
        assert q["quote"] and q["set_id"] == kb.files.sources[q["source"]].set_id
    for pid, label in REFERENCE["labels"].items():
        assert kb.files.sources[label["source"]].label_of == pid
        assert kb.files.sources[label["source"]].set_id == label["set_id"]
