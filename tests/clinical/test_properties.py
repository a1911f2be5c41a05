"""Properties of the engine over generated plans (hypothesis)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bontrack.clinical.decision import check
from bontrack.knowledge import load_knowledge
from tests.clinical.conftest import make

KB = load_knowledge()
RANK = {"allow": 0, "warn": 1, "block": 2}
MUSCLES = list(KB.files.muscles)

site = st.fixed_dictionaries(
    {
        "muscle": st.sampled_from(MUSCLES),
        "side": st.sampled_from(["left", "right"]),
        "units": st.integers(min_value=1, max_value=120),
    }
)
past = st.fixed_dictionaries(
    {
        "date": st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 11, 23)).map(str),
        "product": st.sampled_from(["botox", "dysport", "xeomin"]),
        "total_units": st.integers(min_value=0, max_value=500),
    }
)


@st.composite
def plans(draw: st.DrawFn) -> dict[str, Any]:
    doc = make()
    doc["plan"]["vial_units"] = 200
    doc["plan"]["diluent_ml"] = 4.0
    doc["plan"]["vial_count"] = draw(st.integers(1, 3))
    doc["plan"]["sites"] = draw(st.lists(site, min_size=1, max_size=8))
    doc["history"] = draw(st.lists(past, max_size=3))
    doc["patient"]["medications"] = draw(
        st.lists(st.sampled_from(["aspirin", "warfarin", "sertraline"]), max_size=2)
    )
    doc["patient"]["pregnant"] = draw(st.booleans())
    return doc


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(plans(), st.data())
def test_adding_units_never_lowers_the_decision(doc: dict[str, Any], data: st.DataObject) -> None:
    before = check(doc, KB).decision
    more = copy.deepcopy(doc)
    i = data.draw(st.integers(0, len(more["plan"]["sites"]) - 1))
    more["plan"]["sites"][i]["units"] += data.draw(st.integers(1, 300))
    after = check(more, KB).decision
    assert RANK[after] >= RANK[before]
    assert not (before == "block" and after == "allow")


@SETTINGS
@given(plans(), st.randoms(use_true_random=False))
def test_site_order_never_changes_the_decision(doc: dict[str, Any], rnd: Any) -> None:
    shuffled = copy.deepcopy(doc)
    rnd.shuffle(shuffled["plan"]["sites"])
    a, b = check(doc, KB), check(shuffled, KB)
    assert a.decision == b.decision
    assert sorted((f.code, f.severity) for f in a.findings) == sorted(
        (f.code, f.severity) for f in b.findings
    )


@SETTINGS
@given(plans())
def test_every_finding_names_a_source_and_the_decision_is_its_worst_severity(doc: dict[str, Any]) -> None:
    decision = check(doc, KB)
    assert all(f.source.strip() and f.message.strip() for f in decision.findings)
    worst = max((RANK.get(f.severity, 0) for f in decision.findings if f.severity != "info"), default=0)
    assert RANK[decision.decision] == worst
    assert decision.knowledge_version == KB.version


@SETTINGS
@given(plans())
def test_the_same_input_gives_the_same_output(doc: dict[str, Any]) -> None:
    assert check(doc, KB).model_dump() == check(copy.deepcopy(doc), KB).model_dump()


MEDICINES = [
    "aspirin",
    "Aspirin 81 mg",
    "warfarin",
    "Coumadin",
    "warfarin 5 mg",
    "Eliquis",
    "ibuprofen 400 mg",
    "Advil",
    "gentamicin",
    "paracetamol",
    "Tylenol",
    "atorvastatin 20 mg",
    "zorblatamab",
    "Botox 100 U",
]


def _summary(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f.code, f.severity, f.message) for f in check(doc, KB).findings]


@SETTINGS
@given(plans(), st.lists(st.sampled_from(MEDICINES), max_size=6), st.data())
def test_repeating_a_medicine_never_adds_a_finding(
    doc: dict[str, Any], medicines: list[str], data: st.DataObject
) -> None:
    doc["patient"]["medications"] = medicines
    before = check(doc, KB).findings
    again = copy.deepcopy(doc)
    again["patient"]["medications"] = [*medicines, *data.draw(st.lists(st.sampled_from(medicines or ["x"])))]
    if not medicines:
        again["patient"]["medications"] = []
    after = check(again, KB).findings
    assert len(after) == len(before)
    assert {f.code for f in after} == {f.code for f in before}


@SETTINGS
@given(plans(), st.lists(st.sampled_from(MEDICINES), max_size=6), st.randoms(use_true_random=False))
def test_the_order_of_medicines_never_changes_the_findings(
    doc: dict[str, Any], medicines: list[str], rnd: Any
) -> None:
    doc["patient"]["medications"] = medicines
    shuffled = copy.deepcopy(doc)
    rnd.shuffle(shuffled["patient"]["medications"])
    assert _summary(shuffled) == _summary(doc)


@SETTINGS
@given(plans(), st.data())
def test_repeating_a_muscle_never_adds_a_finding(doc: dict[str, Any], data: st.DataObject) -> None:
    """Documenting a trigger point twice, or splitting a site into two sites of the same muscle
    and side (same units in all), never adds a finding."""
    before = check(doc, KB).findings
    again = copy.deepcopy(doc)
    tps = again["episode"]["trigger_points"]
    tps.append(copy.deepcopy(data.draw(st.sampled_from(tps))))
    i = data.draw(st.integers(0, len(again["plan"]["sites"]) - 1))
    site = again["plan"]["sites"][i]
    half = dict(site, units=site["units"] / 2)
    again["plan"]["sites"][i : i + 1] = [half, dict(half)]
    after = check(again, KB).findings
    assert {f.code for f in after} <= {f.code for f in before}
    assert len(after) <= len(before)


@SETTINGS
@given(plans())
def test_at_most_one_finding_per_code(doc: dict[str, Any]) -> None:
    found = [f.code for f in check(doc, KB).findings]
    assert len(found) == len(set(found))
