"""Common medicines with no labelled interaction with botulinum toxin (medications_no_interaction.toml)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from bontrack.knowledge import KnowledgeError, load_knowledge
from bontrack.knowledge.loader import _read_files, build_knowledge

KB = load_knowledge()
GROUPS = KB.files.medications_no_interaction.groups
LISTED = [
    (generic, name)
    for g in GROUPS.values()
    for generic, names in g.drugs.items()
    for name in [generic, *names]
]
INTERACTING = [
    (class_id, name)
    for class_id, cls in KB.files.drug_classes.items()
    for name in [*cls.members, *cls.aliases]
]


@pytest.fixture
def raw() -> dict[str, Any]:
    return copy.deepcopy(_read_files())


def test_at_least_100_generics_covering_the_common_classes() -> None:
    generics = {generic for generic, _ in LISTED}
    assert len(generics) >= 100
    for expected in [
        "acetaminophen",
        "lisinopril",
        "losartan",
        "amlodipine",
        "atorvastatin",
        "omeprazole",
        "sertraline",
        "duloxetine",
        "levothyroxine",
        "metformin",
        "cetirizine",
        "albuterol",
        "montelukast",
        "ethinyl estradiol/levonorgestrel",
        "amoxicillin",
        "cephalexin",
    ]:
        assert expected in generics, expected


@pytest.mark.parametrize(("generic", "name"), LISTED, ids=[n for _, n in LISTED])
def test_every_generic_and_brand_resolves_in_any_case_and_with_a_dose(generic: str, name: str) -> None:
    assert KB.drug_without_interaction(name) == generic
    assert KB.drug_without_interaction(name.upper()) == generic
    assert KB.drug_without_interaction(f"  {name.title()} 20 mg once daily ") == generic


@pytest.mark.parametrize(
    ("written", "generic"),
    [
        ("Tylenol", "acetaminophen"),
        ("paracetamol 500 mg", "acetaminophen"),
        ("Paracetamol 1g qds prn", "acetaminophen"),
        ("Tylenol (acetaminophen) 500 mg", "acetaminophen"),
        ("Tylenol ER 650mg", "acetaminophen"),
        ("Lipitor 20mg daily", "atorvastatin"),
        ("lipitor20mg", "atorvastatin"),
        ("atorvastatin", "atorvastatin"),
        ("ATORVASTATIN 40 MG tablet at night", "atorvastatin"),
        ("Synthroid 100 mcg every morning", "levothyroxine"),
        ("insulin glargine 20 units at bedtime", "insulin glargine"),
        ("Advair 250/50 1 puff bid", "fluticasone/salmeterol"),
        ("Ventolin inhaler 2 puffs as needed", "albuterol"),
        ("co-amoxiclav 625 mg tds x 7 days", "amoxicillin/clavulanate"),
        ("Vitamin D3 1000 IU daily", "cholecalciferol"),
        ("Yaz", "ethinyl estradiol/drospirenone"),
        ("Nexium 40 mg, once daily", "esomeprazole"),
    ],
)
def test_strength_and_dose_are_ignored(written: str, generic: str) -> None:
    assert KB.drug_without_interaction(written) == generic


@pytest.mark.parametrize(("generic", "name"), LISTED, ids=[n for _, n in LISTED])
def test_no_listed_name_is_an_interacting_drug_or_a_toxin(generic: str, name: str) -> None:
    assert KB.drug(name) is None, f"{name} ({generic}) is also an interacting drug"
    assert KB.product_id(name) is None, f"{name} ({generic}) is also a toxin product"


@pytest.mark.parametrize(("class_id", "name"), INTERACTING, ids=[n for _, n in INTERACTING])
def test_no_interacting_drug_is_reported_without_interaction(class_id: str, name: str) -> None:
    assert KB.drug(name) is not None and KB.drug(name).class_id == class_id  # type: ignore[union-attr]
    assert KB.drug_without_interaction(name) is None
    assert KB.drug_without_interaction(f"{name} 10 mg daily") is None


@pytest.mark.parametrize("name", ["botox", "Dysport 500 U", "xeomin", "incobotulinumtoxinA"])
def test_toxins_are_not_medicines_without_interaction(name: str) -> None:
    assert KB.drug_without_interaction(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "foo",
        "unknownium 10 mg",
        # common, but left out on purpose: anticholinergic, neuromuscular or muscle-relaxant effects
        "amitriptyline",
        "paroxetine",
        "diphenhydramine",
        "hydroxyzine",
        "tiotropium",
        "Spiriva",
        "ipratropium",
        "ciprofloxacin",
        "levofloxacin",
        "azithromycin",
        "doxycycline",
        "hydroxychloroquine",
        "diazepam",
        "lithium",
        "verapamil",
        "pyridostigmine",
        "prednisone",
        "magnesium oxide",
    ],
)
def test_unknown_and_deliberately_omitted_names_return_none(name: str) -> None:
    assert KB.drug_without_interaction(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "paracetamol + orphenadrine",
        "paracetamol orphenadrine 450/35",
        "Lipitor 20 mg and gentamicin",
        "metformin 500 mg, warfarin 5 mg",
        "Tylenol with codeine",
        "atorvastatin unknownium",
    ],
)
def test_a_second_medicine_in_the_entry_is_not_silenced(name: str) -> None:
    assert KB.drug_without_interaction(name) is None


@pytest.mark.parametrize(
    ("brand", "class_id", "generic"),
    [
        ("Jantoven", "anticoagulants", "warfarin"),
        ("Bayer 81 mg", "antiplatelets", "aspirin"),
        ("Ecotrin", "antiplatelets", "aspirin"),
        ("Naprosyn", "nsaids", "naproxen"),
        ("Cleocin 300 mg", "neuromuscular_blockers", "clindamycin"),
        ("Dalacin", "neuromuscular_blockers", "clindamycin"),
        ("Garamycin", "aminoglycosides", "gentamicin"),
        ("Flexeril", "muscle_relaxants", "cyclobenzaprine"),
        ("Zanaflex 4mg", "muscle_relaxants", "tizanidine"),
        ("Lioresal", "muscle_relaxants", "baclofen"),
        ("Robaxin", "muscle_relaxants", "methocarbamol"),
        ("Ditropan XL", "anticholinergics", "oxybutynin"),
        ("Detrol", "anticholinergics", "tolterodine"),
        ("Vesicare", "anticholinergics", "solifenacin"),
    ],
)
def test_interacting_classes_know_their_common_brands(brand: str, class_id: str, generic: str) -> None:
    match = KB.drug(brand)
    assert match is not None and (match.class_id, match.generic) == (class_id, generic)


def test_the_list_cites_the_botox_label_drug_interactions_section() -> None:
    fact = KB.files.medications_no_interaction
    source = KB.files.sources[fact.source]
    assert fact.source == "botox_fda_label"
    assert source.confidence == "label"
    assert source.url.startswith("https://api.fda.gov/drug/label.json")
    assert fact.where.startswith("section 7 Drug Interactions")
    assert "set id 33d066a9-34ff-4a1a-b38b-d10983df3300" in fact.note
    assert "section 7 Drug Interactions" in KB.cite(fact)


def test_a_name_also_in_an_interacting_class_is_refused(raw: dict[str, Any]) -> None:
    raw["medications_no_interaction"]["groups"]["analgesics"]["drugs"]["acetaminophen"].append("Coumadin")
    with pytest.raises(
        KnowledgeError,
        match=re.escape(
            "medications_no_interaction.analgesics.acetaminophen: "
            "'Coumadin' is also in drug class anticoagulants"
        ),
    ):
        build_knowledge(raw)


def test_an_interacting_generic_is_refused(raw: dict[str, Any]) -> None:
    raw["medications_no_interaction"]["groups"]["antibiotics"]["drugs"]["clindamycin"] = ["Cleocin T"]
    with pytest.raises(
        KnowledgeError, match=re.escape("'clindamycin' is also in drug class neuromuscular_blockers")
    ):
        build_knowledge(raw)


def test_a_product_name_is_refused(raw: dict[str, Any]) -> None:
    raw["medications_no_interaction"]["groups"]["analgesics"]["drugs"]["acetaminophen"].append("Xeomin")
    with pytest.raises(KnowledgeError, match=re.escape("'Xeomin' is also the product incobotulinumtoxinA")):
        build_knowledge(raw)


def test_a_name_under_two_generics_is_refused(raw: dict[str, Any]) -> None:
    raw["medications_no_interaction"]["groups"]["lipid_lowering"]["drugs"]["simvastatin"].append("Lipitor")
    with pytest.raises(
        KnowledgeError,
        match=re.escape(
            "'Lipitor' is also listed under medications_no_interaction.lipid_lowering.atorvastatin"
        ),
    ):
        build_knowledge(raw)


def test_a_group_without_medicines_is_refused(raw: dict[str, Any]) -> None:
    raw["medications_no_interaction"]["groups"]["analgesics"]["drugs"] = {}
    with pytest.raises(KnowledgeError, match=re.escape("medications_no_interaction.groups.analgesics.drugs")):
        build_knowledge(raw)
