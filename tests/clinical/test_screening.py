from __future__ import annotations

import pytest

from tests.clinical.conftest import codes, make


@pytest.mark.parametrize(
    ("answer", "code", "severity"),
    [
        ({"pregnant": True}, "screening.pregnant", "block"),
        ({"breastfeeding": True}, "screening.breastfeeding", "warn"),
        ({"infection_at_injection_site": True}, "screening.infection_at_injection_site", "block"),
    ],
)
def test_states(run, answer, code, severity) -> None:
    decision = run(make(patient=answer))
    finding = next(f for f in decision.findings if f.code == code)
    assert finding.severity == severity
    assert finding.advice and finding.source
    assert decision.decision == ("block" if severity == "block" else "warn")


def test_unanswered_pregnancy_question__warns_for_a_woman(run) -> None:
    doc = make()
    del doc["patient"]["pregnant"]
    assert "screening.pregnant.unanswered" in codes(run(doc), "warn")


def test_unanswered_pregnancy_question__not_asked_of_a_man(run) -> None:
    doc = make(patient={"sex": "male"})
    del doc["patient"]["pregnant"], doc["patient"]["breastfeeding"]
    assert run(doc).decision == "allow"


def test_unanswered_infection_question__warns_for_anyone(run) -> None:
    doc = make(patient={"sex": "male"})
    del doc["patient"]["infection_at_injection_site"]
    assert "screening.infection_at_injection_site.unanswered" in codes(run(doc), "warn")


@pytest.mark.parametrize("product", ["botox", "dysport", "xeomin", "myobloc", "daxxify"])
def test_toxin_allergy__blocks_every_product(run, kb, product) -> None:
    doc = make(patient={"allergies": ["botulinum_toxin"]})
    pid = kb.product_id(product)
    vial = kb.product(pid).vials[0]
    doc["plan"].update(
        {"product": product, "vial_units": vial.units, "diluent_ml": max(vial.diluent_ml_min, 0.5)}
    )
    doc["plan"]["sites"] = [{"muscle": "upper_trapezius", "side": "left", "units": 1}]
    assert "allergy.botulinum_toxin" in codes(run(doc), "block")


def test_cows_milk_allergy__blocks_dysport_only(run) -> None:
    doc = make(patient={"allergies": ["cows_milk_protein"]})
    assert "allergy.cows_milk_protein" in codes(run(doc), "info")
    doc["plan"].update({"product": "Dysport", "vial_units": 500, "diluent_ml": 2.5})
    assert "allergy.cows_milk_protein" in codes(run(doc), "block")


def test_albumin_allergy__blocks_albumin_products_not_daxxify(run) -> None:
    doc = make(patient={"allergies": ["human_albumin"]})
    assert run(doc).decision == "block"
    doc["plan"].update({"product": "daxxify", "vial_units": 100, "diluent_ml": 1.2})
    decision = run(doc)
    assert "allergy.human_albumin" in codes(decision, "info")
    assert decision.decision == "allow"


@pytest.mark.parametrize(
    ("condition", "severity"),
    [
        ("myasthenia_gravis", "block"),
        ("lambert_eaton_syndrome", "block"),
        ("amyotrophic_lateral_sclerosis", "block"),
        ("peripheral_motor_neuropathy", "warn"),
        ("dysphagia", "warn"),
        ("respiratory_compromise", "warn"),
    ],
)
def test_conditions(run, condition, severity) -> None:
    assert f"condition.{condition}" in codes(run(make(patient={"conditions": [condition]})), severity)


@pytest.mark.parametrize(
    ("medication", "drug_class"),
    [
        ("aspirin", "antiplatelets"),
        ("Acetylsalicylic acid", "antiplatelets"),
        ("ibuprofen", "nsaids"),
        ("Advil", "nsaids"),
        ("warfarin", "anticoagulants"),
        ("Eliquis", "anticoagulants"),
        ("gentamicin", "aminoglycosides"),
        ("rocuronium", "neuromuscular_blockers"),
        ("oxybutynin", "anticholinergics"),
        ("cyclobenzaprine", "muscle_relaxants"),
    ],
)
def test_medications_warn_by_class(run, medication, drug_class) -> None:
    decision = run(make(patient={"medications": [medication]}))
    assert f"medication.{drug_class}" in codes(decision, "warn")
    assert decision.decision == "warn"


def test_unknown_medication_and_condition__accepted_as_info(run) -> None:
    decision = run(make(patient={"medications": ["zorblatamab 5 mg"], "conditions": ["migraine"]}))
    assert decision.decision == "allow"
    infos = [f for f in decision.findings if f.code in ("medication.unknown", "condition.unknown")]
    assert len(infos) == 2
    assert all(f.severity == "info" and "check yourself" in f.message for f in infos)
    assert "'zorblatamab 5 mg'" in infos[-1].message


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Myasthenia gravis", "condition.myasthenia_gravis"),
        ("MG", "condition.myasthenia_gravis"),
        ("Lambert-Eaton", "condition.lambert_eaton_syndrome"),
        ("motor neurone disease", "condition.amyotrophic_lateral_sclerosis"),
    ],
)
def test_conditions_as_people_write_them(run, written, code) -> None:
    assert code in codes(run(make(patient={"conditions": [written]})), "block")


@pytest.mark.parametrize("written", ["Botox", "DYSPORT", "botulinum toxin"])
def test_allergy_to_any_toxin_product_by_name__blocks(run, written) -> None:
    assert "allergy.botulinum_toxin" in codes(run(make(patient={"allergies": [written]})), "block")


def test_milk_allergy_written_plainly__blocks_dysport(run) -> None:
    doc = make(patient={"allergies": ["Cow's milk"]})
    doc["plan"].update({"product": "dysport", "vial_units": 500, "diluent_ml": 2.5})
    assert "allergy.cows_milk_protein" in codes(run(doc), "block")


@pytest.mark.parametrize("written", ["Aspirin 81 mg daily", "aspirin81mg", "Warfarin 5mg"])
def test_medication_with_dose_text__still_recognised(run, written) -> None:
    decision = run(make(patient={"medications": [written]}))
    assert codes(decision, "warn") & {"medication.antiplatelets", "medication.anticoagulants"}


def test_toxin_listed_as_a_medication__warns_to_record_it_in_history(run) -> None:
    decision = run(make(patient={"medications": ["Botox for migraine"]}))
    assert "medication.botulinum_toxin" in codes(decision, "warn")


def test_the_same_entry_many_times_in_any_case__one_finding_naming_it_once(run) -> None:
    medications = ["ibuprofen"] * 5_000 + ["Ibuprofen", "IBUPROFEN ", "Advil", "advil", "zzqx", "ZZQX"]
    decision = run(
        make(patient={"medications": medications, "conditions": ["MG", "mg", "Myasthenia gravis"]})
    )
    nsaid = [f for f in decision.findings if f.code == "medication.nsaids"]
    assert [f.message for f in nsaid] == [
        "Non-steroidal anti-inflammatory drug: ibuprofen (entered as 'Advil', 'ibuprofen')."
    ]
    (unknown,) = [f.message for f in decision.findings if f.code == "medication.unknown"]
    assert unknown.endswith("check yourself: medication 'zzqx'.")
    (condition,) = [f.message for f in decision.findings if f.code.startswith("condition.")]
    # the knowledge base's own words are not quoted back
    assert condition == "Myasthenia gravis (entered as 'MG')."


def test_states_asked__doctests() -> None:
    import doctest

    import bontrack.clinical.screening

    failed, tried = doctest.testmod(bontrack.clinical.screening)
    assert tried and not failed
