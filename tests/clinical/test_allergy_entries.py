"""Allergy entries as people write them (QA pass 4, finding 1): a known name standing as whole
words in the entry is the allergy it names, for the check, the API, the FHIR import and the chart
alike (``knowledge.screening_names.allergies_named``)."""

from __future__ import annotations

import doctest
from typing import Any

import pytest

import bontrack.knowledge.screening_names
from bontrack.knowledge.screening_names import allergies_named, conditions_named
from tests.clinical.conftest import codes, make

# the plan fields of a product, so that only the allergy decides
PLANS: dict[str, dict[str, Any]] = {
    "botox": {"product": "botox", "vial_units": 100, "diluent_ml": 2.0},
    "dysport": {"product": "dysport", "vial_units": 500, "diluent_ml": 2.5},
    "xeomin": {"product": "xeomin", "vial_units": 100, "diluent_ml": 2.0},
    "daxxify": {"product": "daxxify", "vial_units": 100, "diluent_ml": 1.2},
}


def with_allergies(product: str, *entries: str) -> dict[str, Any]:
    doc = make(patient={"allergies": list(entries)})
    doc["plan"].update(PLANS[product])
    return doc


@pytest.mark.parametrize(
    ("entry", "product", "code"),
    [
        ("Botox (hives)", "botox", "allergy.botulinum_toxin"),
        ("Botox (hives)", "dysport", "allergy.botulinum_toxin"),
        ("allergic to DYSPORT - rash", "xeomin", "allergy.botulinum_toxin"),
        ("milk (anaphylaxis)", "dysport", "allergy.cows_milk_protein"),
        ("Cow\u2019s milk protein (CMPA)", "dysport", "allergy.cows_milk_protein"),
        ("Albumin (Human)", "botox", "allergy.human_albumin"),
        ("ALBUMIN HUMAN", "xeomin", "allergy.human_albumin"),
        ("albumin, human", "dysport", "allergy.human_albumin"),
        ("human serum albumin", "botox", "allergy.human_albumin"),
        ("HSA", "dysport", "allergy.human_albumin"),
        ("HSA (urticaria)", "xeomin", "allergy.human_albumin"),
    ],
)
def test_allergy_as_written__blocks_the_products_it_contraindicates(run, entry, product, code) -> None:
    decision = run(with_allergies(product, entry))
    assert decision.decision == "block"
    assert code in codes(decision, "block")
    assert "allergy.unknown" not in codes(decision)
    (found,) = [f for f in decision.findings if f.code == code]
    assert f"(entered as '{entry}')" in found.message


@pytest.mark.parametrize(
    ("entry", "product", "code"),
    [
        ("milk", "botox", "allergy.cows_milk_protein"),
        ("milk (anaphylaxis)", "xeomin", "allergy.cows_milk_protein"),
        ("ALBUMIN HUMAN", "daxxify", "allergy.human_albumin"),
        ("human serum albumin", "daxxify", "allergy.human_albumin"),
    ],
)
def test_allergy_as_written__recorded_not_blocking_a_product_it_does_not_concern(
    run, entry, product, code
) -> None:
    decision = run(with_allergies(product, entry))
    assert code in codes(decision, "info")
    assert decision.decision == "allow"


@pytest.mark.parametrize("entry", ["penicillin (rash)", "latex", "Botoxin", "egg"])
def test_an_entry_naming_no_known_allergy__stays_not_in_the_knowledge_base(run, entry) -> None:
    decision = run(with_allergies("botox", entry))
    assert {c for c in codes(decision) if c.startswith("allergy.")} == {"allergy.unknown"}
    assert decision.decision == "allow"


def test_one_finding_per_reason_each_with_its_source(run, kb) -> None:
    entries = ["Botox (hives)", "botox", "milk (anaphylaxis)", "Albumin (Human)", "HSA", "penicillin"]
    decision = run(with_allergies("dysport", *entries))
    allergy = [f for f in decision.findings if f.code.startswith("allergy.")]
    assert sorted(f.code for f in allergy) == [
        "allergy.botulinum_toxin",
        "allergy.cows_milk_protein",
        "allergy.human_albumin",
        "allergy.unknown",
    ]
    assert all(f.source for f in allergy)
    by_code = {f.code: f for f in allergy}
    assert by_code["allergy.botulinum_toxin"].message == (
        "Hypersensitivity to a botulinum toxin product (entered as 'botox', 'Botox (hives)'): "
        "contraindicates abobotulinumtoxinA."
    )
    assert by_code["allergy.human_albumin"].message.startswith(
        "Allergy to human albumin (entered as 'Albumin (Human)', 'HSA'):"
    )
    assert by_code["allergy.cows_milk_protein"].source == kb.cite(kb.files.allergies["cows_milk_protein"])


def test_an_entry_naming_two_allergies__is_read_as_both(run) -> None:
    decision = run(with_allergies("dysport", "milk, albumin"))
    assert {"allergy.cows_milk_protein", "allergy.human_albumin"} <= codes(decision, "block")


def test_the_knowledge_base_own_ids_and_aliases__still_matched(kb) -> None:
    for item_id, item in kb.files.allergies.items():
        for name in (item_id, *item.aliases):
            assert [m.item_id for m in allergies_named(name, kb)] == [item_id], name
    assert [m.item_id for m in conditions_named("Myasthenia gravis (ocular)", kb)] == ["myasthenia_gravis"]


def test_screening_names__doctests() -> None:
    failed, tried = doctest.testmod(bontrack.knowledge.screening_names)
    assert tried and not failed


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        ("Myasthenia gravis (ocular)", "condition.myasthenia_gravis"),
        ("MG - on pyridostigmine", "condition.myasthenia_gravis"),
        ("Lambert-Eaton syndrome", "condition.lambert_eaton_syndrome"),
        ("ALS, early", "condition.amyotrophic_lateral_sclerosis"),
    ],
)
def test_a_condition_as_written__is_judged_as_the_condition_it_names(run, entry, code) -> None:
    """Before: the check read conditions whole, and "Myasthenia gravis (ocular)" was allowed with
    only a "not in the knowledge base" line."""
    decision = run(make(patient={"conditions": [entry]}))
    assert decision.decision == "block"
    assert code in codes(decision, "block")
    assert "condition.unknown" not in codes(decision)


# ---- phrases that contain an allergen's name but are not it (screening.toml not_when) -------


@pytest.mark.parametrize(
    ("entry", "product"),
    [
        ("egg albumin", "botox"),
        ("Egg-albumin (rash)", "xeomin"),
        ("egg white albumin", "dysport"),
        ("ovalbumin", "botox"),  # one word: never albumin
        ("milk thistle", "dysport"),
        ("Milk-thistle (hives)", "dysport"),
        ("coconut milk", "dysport"),
        ("almond milk", "dysport"),
        ("Oat milk - bloating", "dysport"),
        ("soy milk", "dysport"),
        ("soy milk protein", "dysport"),
        ("milk of magnesia", "dysport"),
    ],
)
def test_an_entry_that_is_not_the_allergen__gives_no_block_and_is_checked_by_the_clinician(
    run, entry, product
) -> None:
    """Before: "egg albumin" blocked the products with human albumin and "milk thistle" or
    "coconut milk" blocked DYSPORT (cow's milk protein)."""
    decision = run(with_allergies(product, entry))
    assert decision.decision == "allow", [f.message for f in decision.findings]
    assert {c for c in codes(decision) if c.startswith("allergy.")} == {"allergy.unknown"}
    (unknown,) = [f for f in decision.findings if f.code == "allergy.unknown"]
    assert f"'{entry}'" in unknown.message  # quoted as entered
    if entry != "ovalbumin":  # the knowledge base's reason for the phrase in it
        assert (
            "not human albumin" in unknown.message
            or "no milk protein" in unknown.message
            or ("no cow's milk protein" in unknown.message)
        )


@pytest.mark.parametrize(
    ("entry", "product", "code"),
    [
        ("milk thistle, cow's milk", "dysport", "allergy.cows_milk_protein"),
        ("coconut milk; milk (anaphylaxis)", "dysport", "allergy.cows_milk_protein"),
        ("egg albumin and albumin human", "botox", "allergy.human_albumin"),
        # other punctuation parts the words: milk and thistle, two entries in one
        ("milk, thistle", "dysport", "allergy.cows_milk_protein"),
        # chosen: a reaction to breast milk is to the cow's milk protein passed into it
        ("breast milk", "dysport", "allergy.cows_milk_protein"),
        ("goat milk", "dysport", "allergy.cows_milk_protein"),  # cross-reacts: not listed
    ],
)
def test_an_entry_that_also_names_the_allergen__still_blocks_quoting_it(run, entry, product, code) -> None:
    decision = run(with_allergies(product, entry))
    assert decision.decision == "block"
    (found,) = [f for f in decision.findings if f.code == code]
    assert found.severity == "block" and f"(entered as '{entry}')" in found.message


def test_every_not_when_phrase__names_nothing_and_gives_its_reason(kb) -> None:
    phrases = [(i, p, why) for i, item in kb.files.allergies.items() for p, why in item.not_when.items()]
    assert {"milk thistle", "coconut milk", "egg albumin"} <= {p for _, p, _ in phrases}
    for item_id, phrase, why in phrases:
        assert allergies_named(phrase, kb) == [], phrase
        assert [m.item_id for m in allergies_named(f"{phrase}, {item_id}", kb)] == [item_id]
        assert why.strip(), phrase
