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
