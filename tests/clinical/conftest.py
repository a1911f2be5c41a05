"""Builders for check documents: a clean base plan and small edits to it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from bontrack.clinical.decision import check
from bontrack.clinical.findings import Decision
from bontrack.knowledge import KnowledgeBase, load_knowledge

BASE: dict[str, Any] = {
    "date": "2026-11-23",
    "patient": {
        "birth_date": "1980-05-01",
        "sex": "female",
        "screened_on": "2026-11-23",
        "pregnant": False,
        "breastfeeding": False,
        "conditions": [],
        "medications": [],
        "allergies": [],
        "infection_at_injection_site": False,
    },
    "episode": {
        "pain_onset_date": "2025-09-01",
        "conservative_care_weeks": 10,
        "trigger_points": [
            {"muscle": "upper_trapezius", "side": "left", "found_on": "2026-11-02"},
            {"muscle": "upper_trapezius", "side": "right", "found_on": "2026-11-02"},
            {"muscle": "sternocleidomastoid", "side": "left", "found_on": "2026-11-02"},
            {"muscle": "sternocleidomastoid", "side": "right", "found_on": "2026-11-02"},
        ],
    },
    "history": [],
    "plan": {
        "product": "onabotulinumtoxinA",
        "vial_units": 100,
        "diluent_ml": 2.0,
        "lot": "C1234",
        "lot_expiry": "2027-05-31",
        "reconstituted_at": "2026-11-23T08:30:00",
        "physical_therapy": True,
        "injector_role": "physician",
        "sites": [{"muscle": "upper_trapezius", "side": "left", "units": 25}],
    },
}


def make(**sections: Any) -> dict[str, Any]:
    """A copy of BASE with sections updated: make(plan={"product": "xeomin"}, history=[...])."""
    doc = copy.deepcopy(BASE)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key].update(value)
        else:
            doc[key] = value
    return doc


def codes(decision: Decision, severity: str | None = None) -> set[str]:
    return {f.code for f in decision.findings if severity is None or f.severity == severity}


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture
def run(kb: KnowledgeBase) -> Callable[[dict[str, Any]], Decision]:
    return lambda doc: check(doc, kb)
