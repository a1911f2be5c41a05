"""Builders for plan-dose requests and code documents, from the clinical tests' clean base plan."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bontrack.planning.knowledge import PlanningKnowledge, load_planning
from tests.clinical.conftest import BASE, make


def request(targets: list[dict[str, Any]], **sections: Any) -> dict[str, Any]:
    """A plan-dose request: the check base without the planner's fields, plus targets."""
    doc = make()
    for key in ("sites", "vial_units", "diluent_ml", "vial_count", "reconstituted_at"):
        doc["plan"].pop(key, None)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key].update(value)
        else:
            doc[key] = value
    doc["targets"] = copy.deepcopy(targets)
    return doc


def session(
    product: str, vial_units: float, sites: list[tuple[str, str, float]], **extra: Any
) -> dict[str, Any]:
    """A check document of what was given: sites (muscle, side, units) from vial_count vials."""
    doc = copy.deepcopy(BASE)
    doc["plan"].update(product=product, vial_units=vial_units, vial_count=extra.pop("vial_count", 1))
    doc["plan"]["diluent_ml"] = extra.pop("diluent_ml", doc["plan"]["diluent_ml"])
    doc["plan"]["sites"] = [{"muscle": m, "side": s, "units": u} for m, s, u in sites]
    doc.update(extra)
    return doc


@pytest.fixture(scope="session")
def pk() -> PlanningKnowledge:
    return load_planning()
