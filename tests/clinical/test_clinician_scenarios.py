"""Scenarios a careful pain physician tries, each with the decision and the findings they expect
to read in five seconds: the block first (the patient before the plan), one finding per reason,
medicines found as people write them, no field ids or Python reprs, numbers written well.

Each test here was written for a fault found by trying the engine this way (see the branch
`scenarios`); the name says what the clinician expects.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from bontrack.clinical.decision import check
from bontrack.clinical.findings import Decision, number
from bontrack.clinical.plan import PlanInputError, parse_check_request
from bontrack.clinical.report import headline
from bontrack.knowledge.loader import _read_files, build_knowledge
from tests.clinical.conftest import codes, make


def only(decision: Decision, code: str) -> str:
    """The message of the one finding with this code (fails if there are none or several)."""
    (message,) = [f.message for f in decision.findings if f.code == code]
    return message


def sites(*triples: tuple[str, str, float]) -> list[dict[str, Any]]:
    return [{"muscle": m, "side": s, "units": u} for m, s, u in triples]


def trigger_points(*pairs: tuple[str, str], found_on: str | None = "2026-11-02") -> list[dict[str, Any]]:
    points = [{"muscle": m, "side": s} for m, s in pairs]
    return [p | {"found_on": found_on} for p in points] if found_on else points


def readable(decision: Decision) -> None:
    """What every message a clinician reads must be: no muscle or field ids, no Python reprs,
    no exponent, no degenerate ranges."""
    for f in decision.findings:
        for text in (f.message, f.advice):
            assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), text  # upper_trapezius, plan.vial_count
            assert '("' not in text and "e+" not in text and "[" not in text, text
            assert not re.search(r"\b(\d+)-\1 ", text), text  # "500-500 U"


# ---- medicines as people write them --------------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    ["Aspirin, 81 mg", "baby aspirin", "low-dose aspirin", "ASPIRIN 81MG", "Plavix.", "Bayer® 81 mg"],
)
def test_punctuation_case_and_trademarks_do_not_hide_an_antiplatelet(run, entry: str) -> None:
    decision = run(make(patient={"medications": [entry]}))
    assert decision.decision == "warn"
    assert codes(decision, "warn") == {"medication.antiplatelets"}
    assert "medication.unknown" not in codes(decision)
    assert f"'{entry}'" in only(decision, "medication.antiplatelets")


def test_coumadin_with_a_trademark_sign_is_still_warfarin(run) -> None:
    decision = run(make(patient={"medications": ["Coumadin®", "WARFARIN", "  Eliquis   5  mg "]}))
    assert only(decision, "medication.anticoagulants") == (
        "Anticoagulant: apixaban (entered as 'Eliquis 5 mg'); warfarin (entered as 'Coumadin®', 'WARFARIN')."
    )


def test_coumadin_and_eliquis_give_one_finding_naming_both(run) -> None:
    decision = run(make(patient={"medications": ["Coumadin", "Eliquis"]}))
    assert only(decision, "medication.anticoagulants") == (
        "Anticoagulant: apixaban (entered as 'Eliquis'); warfarin (entered as 'Coumadin')."
    )


def test_aspirin_with_and_without_strength_is_one_finding(run) -> None:
    decision = run(make(patient={"medications": ["aspirin 81 mg", "Aspirin"]}))
    assert only(decision, "medication.antiplatelets") == (
        "Antiplatelet (including aspirin): aspirin (entered as 'Aspirin', 'aspirin 81 mg')."
    )


def test_a_combination_names_both_drugs(run) -> None:
    decision = run(make(patient={"medications": ["aspirin/clopidogrel"]}))
    message = only(decision, "medication.antiplatelets")
    assert "aspirin (entered as 'aspirin/clopidogrel')" in message
    assert "clopidogrel (entered as 'aspirin/clopidogrel')" in message


def test_aspirin_free_is_not_aspirin(run) -> None:
    decision = run(make(patient={"medications": ["aspirin-free Excedrin"]}))
    assert "medication.antiplatelets" not in codes(decision)
    assert "medication.unknown" in codes(decision, "info")  # the clinician checks it


def test_tylenol_pm_is_not_silenced(run) -> None:
    # Tylenol PM adds diphenhydramine (anticholinergic): it must not pass as plain acetaminophen.
    decision = run(make(patient={"medications": ["Tylenol PM"]}))
    assert "'Tylenol PM'" in only(decision, "medication.unknown")


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ("Botox 100 U", "onabotulinumtoxinA (entered as 'Botox 100 U')"),
        ("Dysport®", "abobotulinumtoxinA (entered as 'Dysport®')"),
        ("botulinum toxin (dermatologist)", "botulinum toxin (entered as 'botulinum toxin (dermatologist)')"),
        ("Jeuveau", "botulinum toxin (entered as 'Jeuveau')"),
    ],
)
def test_a_toxin_among_the_medicines_warns(run, entry: str, named: str) -> None:
    decision = run(make(patient={"medications": [entry]}))
    assert codes(decision, "warn") == {"medication.botulinum_toxin"}
    message = only(decision, "medication.botulinum_toxin")
    assert named in message
    assert "))" not in message


def test_an_allergy_to_an_aesthetic_toxin_is_an_allergy_to_the_toxin(run) -> None:
    decision = run(make(patient={"allergies": ["Azzalure"]}))
    assert "allergy.botulinum_toxin" in codes(decision, "block")


def test_allergy_aliases_are_one_finding_quoted_without_python_repr(run) -> None:
    doc = make(
        patient={"allergies": ["milk", "dairy", "Cow's milk"]},
        plan={"product": "dysport", "vial_units": 500, "diluent_ml": 2.5},
    )
    decision = run(doc)
    assert decision.decision == "block"
    assert only(decision, "allergy.cows_milk_protein") == (
        "Cow's milk protein allergy (entered as 'Cow's milk', 'dairy', 'milk'): "
        "contraindicates abobotulinumtoxinA."
    )


# ---- who injects -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["Physician", "PHYSICIAN", " physician "])
def test_physician_in_any_case_passes(run, role: str) -> None:
    assert run(make(plan={"injector_role": role})).decision == "allow"


@pytest.mark.parametrize(
    ("role", "said"),
    [
        ("Physical-Therapist", "physical therapist"),
        ("physical therapist", "physical therapist"),
        ("doctor", "doctor"),
    ],
)
def test_other_roles_block_and_say_how_to_record_a_physician(run, role: str, said: str) -> None:
    decision = run(make(plan={"injector_role": role}))
    assert decision.decision == "block"
    (block,) = [f for f in decision.findings if f.code == "injector.not_qualified"]
    assert block.message == (
        f"The injector is recorded as {said}, not as a physician: "
        "only a physician may inject botulinum toxin."
    )
    assert "record the role as physician" in block.advice


@pytest.mark.parametrize("role", ["", "   "])
def test_an_empty_injector_role_is_invalid_with_a_clear_message(kb, role: str) -> None:
    with pytest.raises(PlanInputError) as err:
        parse_check_request(make(plan={"injector_role": role}), kb)
    (error,) = err.value.errors
    assert error.field == "plan.injector_role"
    assert "leave the field out" in error.message and "got" not in error.message


# ---- pregnancy, screening, trigger points ----------------------------------------------------


@pytest.mark.parametrize("sex", ["female", "other", "unknown"])
def test_pregnancy_is_confirmed_today_for_everyone_asked_about_it(run, sex: str) -> None:
    decision = run(make(patient={"sex": sex, "birth_date": "1996-01-01", "screened_on": "2026-11-13"}))
    assert codes(decision, "warn") == {"screening.pregnancy_not_today"}


def test_a_man_is_not_asked_about_pregnancy_today(run) -> None:
    decision = run(make(patient={"sex": "male", "birth_date": "1996-01-01", "screened_on": "2026-11-13"}))
    assert decision.decision == "allow"


def test_pregnant_with_stale_screening_and_an_overdose_opens_on_the_patient(run) -> None:
    doc = make(
        patient={"pregnant": True, "screened_on": "2026-01-01"},
        history=[{"date": "2026-06-01", "product": "botox", "total_units": 100}],
        plan={
            "vial_units": 200,
            "vial_count": 3,
            "diluent_ml": 4.0,
            "injector_role": "staff",
            "sites": sites(*[("upper_trapezius", side, 75) for side in ("left", "right")] * 3),
        },
        episode={"trigger_points": trigger_points(("upper_trapezius", "left"), ("upper_trapezius", "right"))},
    )
    decision = run(doc)
    blocks = [f.code for f in decision.findings if f.severity == "block"]
    assert blocks == ["screening.pregnant", "screening.stale", "injector.not_qualified", "dose.session_max"]
    assert decision.findings[0].code == "screening.pregnant"


def test_trigger_points_never_dated_are_named_once_as_information(run) -> None:
    doc = make(
        episode={"trigger_points": trigger_points(("upper_trapezius", "left"), found_on=None)},
    )
    decision = run(doc)
    assert decision.decision == "allow"  # old inputs keep their decision
    assert only(decision, "pathway.trigger_point_date_unknown") == (
        "No examination date given for the trigger points in: upper trapezius left; they are current if "
        "found within 180 days."
    )


def test_a_trigger_point_found_twice_is_judged_on_its_newest_examination(run) -> None:
    points = trigger_points(("upper_trapezius", "left"), found_on="2025-01-01")
    points += trigger_points(("upper_trapezius", "left"), found_on="2026-11-02")
    assert run(make(episode={"trigger_points": points})).decision == "allow"


# ---- doses and numbers -----------------------------------------------------------------------


def test_dysport_600_units_first_treatment_is_one_warning(run) -> None:
    doc = make(
        plan={
            "product": "dysport",
            "vial_units": 500,
            "vial_count": 2,
            "diluent_ml": 2.5,
            "sites": sites(("upper_trapezius", "left", 300), ("upper_trapezius", "right", 300)),
        }
    )
    decision = run(doc)
    assert codes(decision, "warn") == {"dose.above_initial"}
    assert only(decision, "dose.above_initial") == (
        "First toxin treatment: 600 U is above the label's initial dose of 500 U for abobotulinumtoxinA."
    )


def test_xeomin_250_units_first_treatment_names_the_usual_range_in_the_same_warning(run) -> None:
    doc = make(
        plan={
            "product": "xeomin",
            "vial_units": 200,
            "vial_count": 2,
            "diluent_ml": 4.0,
            "sites": sites(("upper_trapezius", "left", 125), ("upper_trapezius", "right", 125)),
        }
    )
    decision = run(doc)
    assert codes(decision, "warn") == {"dose.above_initial"}
    assert only(decision, "dose.above_initial").endswith(", and above the usual cervical range 120-240 U.")


def test_after_a_first_treatment_the_usual_range_warns_alone(run) -> None:
    doc = make(
        history=[{"date": "2026-06-01", "product": "dysport", "total_units": 500}],
        plan={
            "product": "dysport",
            "vial_units": 500,
            "vial_count": 2,
            "diluent_ml": 2.5,
            "sites": sites(("upper_trapezius", "left", 300), ("upper_trapezius", "right", 300)),
        },
    )
    assert codes(run(doc), "warn") == {"dose.above_usual"}


@pytest.mark.parametrize(
    ("value", "text"),
    [(1_000_000, "1,000,000"), (10_000, "10,000"), (33.3333, "33.333"), (0.5, "0.5"), (2.0, "2")],
)
def test_numbers_are_written_for_people(value: float, text: str) -> None:
    assert number(value) == text


def test_a_typing_error_of_a_million_units_reads_as_a_number(run) -> None:
    # a site is at most the largest session dose of any product (10,000 U): a million over many
    many = sites(*[("upper_trapezius", side, 10_000) for side in ("left", "right")] * 50)
    decision = run(make(plan={"sites": many}))
    assert decision.decision == "block"
    assert decision.findings[0].message == (
        "The plan uses 1,000,000 U but the one 100 U vial prepared holds 100 U."
    )
    readable(decision)


@pytest.mark.parametrize("units", [10_001, 1_000_000, 1e308])
def test_a_site_beyond_any_products_session_maximum_is_refused_as_input(run, units: float) -> None:
    with pytest.raises(PlanInputError) as caught:
        run(make(plan={"sites": sites(("upper_trapezius", "left", units))}))
    (error,) = caught.value.errors
    assert error.field == "plan.sites[0].units"
    assert error.message.startswith("must be at most 10,000 (the largest single-session dose of any product")
    assert len(error.message) < 160  # never the number in 309 digits


def test_vials_beyond_the_registrys_bound_are_refused_as_input(run) -> None:
    with pytest.raises(PlanInputError) as caught:
        run(make(plan={"vial_count": 10**30}))
    (error,) = caught.value.errors
    assert error.field == "plan.vial_count" and "less than or equal to 20" in error.message


def test_an_earlier_total_beyond_any_dose_is_said_short(run) -> None:
    doc = make(history=[{"date": "2026-10-20", "product": "botox", "total_units": 1e308}])
    for finding in run(doc).findings:
        assert len(finding.message) < 400 and "000,000,000" not in finding.message, finding.message


def test_myobloc_numbers_have_thousands_separators(run) -> None:
    doc = make(
        history=[{"date": "2026-06-01", "product": "myobloc", "total_units": 5000}],
        plan={
            "product": "myobloc",
            "vial_units": 10000,
            "diluent_ml": 0,
            "sites": sites(("upper_trapezius", "left", 5001), ("upper_trapezius", "right", 5000)),
        },
    )
    del doc["plan"]["reconstituted_at"]
    decision = run(doc)
    assert only(decision, "dose.session_max") == (
        "Session total 10,001 U is above the 10,000 U maximum for rimabotulinumtoxinB."
    )


def test_the_dilution_names_muscles_in_words(run) -> None:
    decision = run(make())
    assert only(decision, "dilution.arithmetic") == (
        "100 U in 2 mL: 5 U per 0.1 mL. upper trapezius left 25 U = 0.5 mL. Total 25 U = 0.5 mL."
    )


def test_messages_name_no_field_of_the_input(run) -> None:
    doc = make(
        plan={
            "reconstituted_at": "2026-11-22T10:00:00",
            "sites": sites(("upper_trapezius", "left", 60), ("upper_trapezius", "right", 60)),
        }
    )
    decision = run(doc)
    assert {"dose.exceeds_vials", "reconstitution.expires_today"} <= codes(decision)
    readable(decision)
    assert "administered_at" not in str(decision.findings) and "vial_count" not in str(decision.findings)


# ---- days and dates --------------------------------------------------------------------------


def test_a_session_earlier_the_same_day_reads_the_same_day(run) -> None:
    decision = run(make(history=[{"date": "2026-11-23", "product": "botox", "total_units": 50}]))
    assert only(decision, "retreatment.too_soon").startswith(
        "A session of onabotulinumtoxinA was already recorded on the same day (2026-11-23, 50 U):"
    )


def test_pain_that_began_today_is_counted_in_days(run) -> None:
    decision = run(make(episode={"pain_onset_date": "2026-11-23"}))
    assert only(decision, "eligibility.not_chronic").startswith("Pain began 0 days before the session;")


def test_age_reads_in_years(run) -> None:
    decision = run(make(patient={"birth_date": "2015-01-01"}))
    assert only(decision, "eligibility.age").startswith("Patient is 11 years old;")


@pytest.mark.parametrize(
    ("plan_day", "born", "valid"),
    [
        ("2028-02-29", "1908-02-29", True),  # exactly 120 years, on a leap day
        ("2028-02-29", "1908-02-28", False),  # 120 years and a day
        ("2026-03-01", "1906-03-01", True),
        ("2026-03-01", "1906-02-28", False),
    ],
)
def test_120_years_across_leap_days(kb, plan_day: str, born: str, valid: bool) -> None:
    doc = make(date=plan_day, patient={"birth_date": born, "screened_on": plan_day})
    doc["episode"].update({"pain_onset_date": "2025-01-01", "trigger_points": []})
    doc["plan"].update({"lot_expiry": "2030-01-01", "reconstituted_at": f"{plan_day}T08:00:00"})
    if valid:
        parse_check_request(doc, kb)
    else:
        with pytest.raises(PlanInputError) as err:
            parse_check_request(doc, kb)
        assert [e.field for e in err.value.errors] == ["patient.birth_date"]


def test_a_girl_born_on_a_leap_day_turns_12_on_the_next_one(run) -> None:
    doc = make(date="2028-02-29", patient={"birth_date": "2016-02-29", "screened_on": "2028-02-27"})
    doc["episode"].update({"pain_onset_date": "2027-01-01", "trigger_points": []})
    doc["plan"].update({"lot_expiry": "2030-01-01", "reconstituted_at": "2028-02-29T08:00:00"})
    decision = run(doc)
    assert "screening.pregnancy_not_today" in codes(decision, "warn")
    assert only(decision, "eligibility.age").startswith("Patient is 12 years old;")


@pytest.mark.parametrize("what", ["medications", "allergies", "conditions"])
def test_an_empty_entry_is_named_by_its_place(kb, what: str) -> None:
    with pytest.raises(PlanInputError) as err:
        parse_check_request(make(patient={what: ["ibuprofen", " "]}), kb)
    assert [str(e) for e in err.value.errors] == [
        f"patient.{what}[1]: is empty: write the name, or remove the entry"
    ]


def test_a_medicine_is_read_afresh_by_another_knowledge_base(kb) -> None:
    """Entries are remembered per knowledge base: one that does not know Coumadin says so."""
    doc = make(patient={"medications": ["Coumadin"]})
    assert "medication.anticoagulants" in codes(check(doc, kb))
    raw = copy.deepcopy(_read_files())
    del raw["drug_classes"]["anticoagulants"]["aliases"]["coumadin"]
    other = build_knowledge(raw)
    assert codes(check(doc, other), "info") >= {"medication.unknown"}
    assert "medication.anticoagulants" in codes(check(doc, kb))


def test_the_first_line_says_the_first_warning_itself(run) -> None:
    decision = run(make(patient={"medications": ["Coumadin", "ibuprofen"]}))
    assert headline(decision) == ("Anticoagulant: warfarin (entered as 'Coumadin'). (and 1 more warning)")
    assert headline(run(make())) == "no safety rule objects to this plan."


def test_an_allergy_written_as_its_id_is_not_quoted_back(run) -> None:
    doc = make(
        patient={"allergies": ["cows_milk_protein"], "conditions": ["myasthenia_gravis", "MG"]},
        plan={"product": "dysport", "vial_units": 500, "diluent_ml": 2.5},
    )
    decision = run(doc)
    assert only(decision, "allergy.cows_milk_protein") == (
        "Cow's milk protein allergy: contraindicates abobotulinumtoxinA."
    )
    assert only(decision, "condition.myasthenia_gravis") == "Myasthenia gravis (entered as 'MG')."
    readable(decision)


def test_a_toxin_and_a_drug_in_one_entry_are_both_read(run) -> None:
    decision = run(make(patient={"medications": ["Botox, ibuprofen 400 mg"]}))
    assert codes(decision, "warn") == {"medication.botulinum_toxin", "medication.nsaids"}


def test_an_allowed_plan_still_says_what_to_check_on_its_first_line(run) -> None:
    decision = run(make(patient={"medications": ["zorblatamab"]}))
    assert decision.decision == "allow"
    assert headline(decision) == (
        "no safety rule objects to this plan; not in the knowledge base (version "
        f"{decision.knowledge_version}), check yourself: medication 'zorblatamab'."
    )
