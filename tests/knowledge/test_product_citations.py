"""The screening facts' per-product citations (``sources``) and the labels' products
(``label_of``): loading refuses an entry it cannot trust, naming the place."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from bontrack.knowledge import KnowledgeError, load_knowledge
from bontrack.knowledge.loader import _read_files, build_knowledge

LABELS = {
    "onabotulinumtoxinA": "botox_fda_label",
    "abobotulinumtoxinA": "dysport_fda_label",
    "incobotulinumtoxinA": "xeomin_fda_label",
    "rimabotulinumtoxinB": "myobloc_fda_label",
    "daxibotulinumtoxinA": "daxxify_fda_label",
}


@pytest.fixture
def raw() -> dict[str, Any]:
    return copy.deepcopy(_read_files())


def _entry(
    raw: dict[str, Any], group: str, item: str, pid: str, source: str, where: str = "section 4"
) -> None:
    raw[group][item]["sources"] = {pid: {"source": source, "where": where}}


def test_every_product_has_its_own_label() -> None:
    sources = load_knowledge().files.sources
    assert {s.label_of: sid for sid, s in sources.items() if s.label_of} == LABELS


def test_an_entry_for_the_products_own_label_loads(raw: dict[str, Any]) -> None:
    _entry(raw, "drug_classes", "aminoglycosides", "incobotulinumtoxinA", "xeomin_fda_label", "section 7: x")
    kb = build_knowledge(raw)
    cited = kb.files.drug_classes["aminoglycosides"].sources["incobotulinumtoxinA"]
    assert kb.cite_for(kb.files.drug_classes["aminoglycosides"], "incobotulinumtoxinA") == kb.cite(cited)


@pytest.mark.parametrize(
    ("group", "item"),
    [
        ("states", "infection_at_injection_site"),
        ("conditions", "myasthenia_gravis"),
        ("drug_classes", "aminoglycosides"),
    ],
)
def test_an_unknown_product_is_refused(raw: dict[str, Any], group: str, item: str) -> None:
    _entry(raw, group, item, "dysport", "dysport_fda_label")  # a brand, not a product id
    with pytest.raises(
        KnowledgeError, match=re.escape(f"{group}.{item}.sources.dysport: unknown product 'dysport'")
    ):
        build_knowledge(raw)


def test_an_unknown_source_is_refused(raw: dict[str, Any]) -> None:
    _entry(raw, "states", "infection_at_injection_site", "abobotulinumtoxinA", "dysport_label")
    with pytest.raises(KnowledgeError, match=re.escape("unknown source 'dysport_label'")):
        build_knowledge(raw)


def test_another_products_label_is_refused(raw: dict[str, Any]) -> None:
    _entry(raw, "states", "infection_at_injection_site", "abobotulinumtoxinA", "botox_fda_label")
    message = "cites 'botox_fda_label', not the product's own label (dysport_fda_label)"
    with pytest.raises(KnowledgeError, match=re.escape(message)):
        build_knowledge(raw)


def test_a_label_entry_without_a_section_is_refused(raw: dict[str, Any]) -> None:
    _entry(raw, "conditions", "myasthenia_gravis", "abobotulinumtoxinA", "dysport_fda_label", "Warnings")
    with pytest.raises(KnowledgeError, match=re.escape("myasthenia_gravis.sources.abobotulinumtoxinA.where")):
        build_knowledge(raw)


def test_an_entry_for_a_product_the_rule_skips_is_refused(raw: dict[str, Any]) -> None:
    _entry(raw, "allergies", "cows_milk_protein", "incobotulinumtoxinA", "xeomin_fda_label")
    with pytest.raises(KnowledgeError, match=re.escape("the rule applies only to abobotulinumtoxinA")):
        build_knowledge(raw)


def test_a_label_of_an_unknown_product_is_refused(raw: dict[str, Any]) -> None:
    raw["sources"]["daxxify_fda_label"]["label_of"] = "daxxify"
    with pytest.raises(
        KnowledgeError, match=re.escape("sources.daxxify_fda_label.label_of: unknown product")
    ):
        build_knowledge(raw)


def test_two_labels_of_one_product_are_refused(raw: dict[str, Any]) -> None:
    raw["sources"]["daxxify_ndc"]["label_of"] = "daxibotulinumtoxinA"
    with pytest.raises(KnowledgeError, match=re.escape("already has its label, daxxify_fda_label")):
        build_knowledge(raw)


def test_only_a_label_names_a_product(raw: dict[str, Any]) -> None:
    raw["sources"]["pathway_policy"]["label_of"] = "onabotulinumtoxinA"
    with pytest.raises(KnowledgeError, match=re.escape("sources.pathway_policy.label_of: only a label")):
        build_knowledge(raw)
