"""Through the engine: medicines with no labelled interaction say nothing; the unknown stay info."""

from __future__ import annotations

from tests.clinical.conftest import codes, make

COMMON = [
    "paracetamol 500 mg",
    "Tylenol",
    "Lipitor 20mg daily",
    "lisinopril 10 mg",
    "Synthroid 100 mcg",
    "metformin 1 g bid",
    "Zoloft 50 mg",
    "Nexium",
    "Ventolin inhaler 2 puffs prn",
    "Yaz",
    "amoxicillin 500 mg tds",
    "Zyrtec",
]


def test_common_medicines_without_interaction_give_no_finding(run) -> None:
    decision = run(make(patient={"medications": COMMON}))
    assert not [f for f in decision.findings if f.code.startswith("medication.")]
    assert decision.decision == "allow"


def test_an_unknown_medicine_beside_them_is_still_reported(run) -> None:
    decision = run(make(patient={"medications": [*COMMON, "zorblatamab 5 mg"]}))
    unknown = [f for f in decision.findings if f.code == "medication.unknown"]
    assert len(unknown) == 1 and "zorblatamab 5 mg" in unknown[0].message
    assert "paracetamol" not in unknown[0].message


def test_a_second_medicine_written_in_the_same_entry_is_not_silenced(run) -> None:
    decision = run(make(patient={"medications": ["paracetamol + orphenadrine"]}))
    assert "medication.muscle_relaxants" in codes(decision, "warn")  # orphenadrine is found in it
    decision = run(make(patient={"medications": ["paracetamol + zorblatamab"]}))
    assert "medication.unknown" in codes(decision, "info")


def test_interacting_brands_still_warn(run) -> None:
    decision = run(make(patient={"medications": ["Tylenol", "Flexeril 10 mg", "Cleocin 300 mg"]}))
    assert {"medication.muscle_relaxants", "medication.neuromuscular_blockers"} <= codes(decision, "warn")
