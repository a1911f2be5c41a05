from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from bontrack.knowledge import KnowledgeError, load_knowledge
from bontrack.knowledge.loader import _read_files, build_knowledge
from bontrack.knowledge.models import Sourced

REQUIRED_PRODUCTS = {
    "onabotulinumtoxinA": "botox",
    "abobotulinumtoxinA": "dysport",
    "incobotulinumtoxinA": "xeomin",
    "rimabotulinumtoxinB": "myobloc",
    "daxibotulinumtoxinA": "daxxify",
}
REQUIRED_MUSCLES = {
    "upper_trapezius",
    "middle_trapezius",
    "levator_scapulae",
    "splenius_capitis",
    "splenius_cervicis",
    "semispinalis_capitis",
    "longissimus_capitis",
    "sternocleidomastoid",
    "scalene_anterior",
    "scalene_medius",
    "rhomboid_major",
    "rhomboid_minor",
    "infraspinatus",
    "supraspinatus",
}


@pytest.fixture
def raw() -> dict[str, Any]:
    return copy.deepcopy(_read_files())


def test_packaged_knowledge_loads_with_a_version() -> None:
    kb = load_knowledge()
    assert kb.version and kb.version[0].isdigit()


@pytest.mark.parametrize(("pid", "brand"), REQUIRED_PRODUCTS.items())
def test_products_by_id_and_brand_in_any_case(pid: str, brand: str) -> None:
    kb = load_knowledge()
    assert kb.product_id(pid) == pid
    assert kb.product_id(pid.upper()) == pid
    assert kb.product_id(brand.upper()) == pid


def test_every_required_muscle_and_both_sides() -> None:
    kb = load_knowledge()
    assert set(kb.files.muscles) >= REQUIRED_MUSCLES
    assert kb.files.sides == ["left", "right"]


def test_screening_items_required_by_the_pathway() -> None:
    files = load_knowledge().files
    assert {"botulinum_toxin", "cows_milk_protein", "human_albumin"} <= set(files.allergies)
    assert {"pregnant", "breastfeeding", "infection_at_injection_site"} <= set(files.states)
    assert {
        "myasthenia_gravis",
        "lambert_eaton_syndrome",
        "amyotrophic_lateral_sclerosis",
        "peripheral_motor_neuropathy",
        "dysphagia",
        "respiratory_compromise",
    } <= set(files.conditions)
    assert files.states["pregnant"].severity == "block"
    assert load_knowledge().drug("aspirin").class_id == "antiplatelets"  # type: ignore[union-attr]


def test_every_fact_cites_a_known_source_with_an_address() -> None:
    kb = load_knowledge()
    from bontrack.knowledge.checks import sourced_facts

    facts = list(sourced_facts(kb.files, ""))
    assert len(facts) > 60
    for _, fact in facts:
        assert isinstance(fact, Sourced)
        citation = kb.cite(fact)
        assert "<" in citation and kb.files.sources[fact.source].url in citation


def test_unknown_source_is_refused(raw: dict[str, Any]) -> None:
    raw["products"]["onabotulinumtoxinA"]["max_session_units"]["source"] = "my_memory"
    with pytest.raises(
        KnowledgeError,
        match=re.escape("products.onabotulinumtoxinA.max_session_units: unknown source 'my_memory'"),
    ):
        build_knowledge(raw)


def test_missing_number_is_refused_naming_the_field(raw: dict[str, Any]) -> None:
    del raw["products"]["abobotulinumtoxinA"]["min_retreatment_days"]["value"]
    with pytest.raises(
        KnowledgeError, match=re.escape("products.abobotulinumtoxinA.min_retreatment_days.value")
    ):
        build_knowledge(raw)


def test_negative_limit_is_refused(raw: dict[str, Any]) -> None:
    raw["products"]["incobotulinumtoxinA"]["max_session_units"]["value"] = -1
    with pytest.raises(KnowledgeError, match=re.escape("max_session_units.value")):
        build_knowledge(raw)


def test_brand_used_twice_is_refused(raw: dict[str, Any]) -> None:
    raw["products"]["incobotulinumtoxinA"]["brands"].append("botox")
    with pytest.raises(KnowledgeError, match=re.escape("'botox' is used by")):
        build_knowledge(raw)


def test_drug_in_two_classes_is_refused(raw: dict[str, Any]) -> None:
    raw["drug_classes"]["nsaids"]["members"].append("warfarin")
    with pytest.raises(KnowledgeError, match=re.escape("'warfarin' is in both")):
        build_knowledge(raw)


def test_a_not_when_phrase_without_its_reason_is_refused(raw: dict[str, Any]) -> None:
    raw["allergies"]["cows_milk_protein"]["not_when"]["oat milk"] = " "
    with pytest.raises(KnowledgeError, match=re.escape("allergies.cows_milk_protein.not_when")):
        build_knowledge(raw)


@pytest.mark.parametrize(
    ("phrase", "says"),
    [
        ("oat drink", "must contain a name of cows_milk_protein and of nothing else; it names []"),
        ("milk albumin", "it names ['cows_milk_protein', 'human_albumin']"),  # would hide albumin
        ("cows milk", "'cows milk' is a name of cows_milk_protein"),
    ],
)
def test_a_not_when_phrase_that_could_hide_another_name_is_refused(
    raw: dict[str, Any], phrase: str, says: str
) -> None:
    raw["allergies"]["cows_milk_protein"]["not_when"][phrase] = "a test phrase"
    with pytest.raises(KnowledgeError, match=re.escape(says)):
        build_knowledge(raw)


def test_cap_on_unknown_muscle_is_refused(raw: dict[str, Any]) -> None:
    raw["products"]["onabotulinumtoxinA"]["muscle_caps"][0]["muscle"] = "biceps"
    with pytest.raises(KnowledgeError, match=re.escape("unknown muscle 'biceps'")):
        build_knowledge(raw)


def test_adverse_event_aliases__name_a_listed_reaction_and_no_name_twice() -> None:
    from bontrack.reports.sections.adverse_events import known_events

    known = known_events(load_knowledge())  # no name claimed by two reactions
    assert known["difficulty swallowing"] == "dysphagia" and known["dysphagia"] == "dysphagia"
    data = copy.deepcopy(_read_files())
    data["adverse_event_aliases"] = {"dry mouth": ["xerostomia"]}
    with pytest.raises(KnowledgeError, match="adverse_event_aliases: 'dry mouth' is not a reaction"):
        build_knowledge(data)
