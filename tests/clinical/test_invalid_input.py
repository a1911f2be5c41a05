"""Every kind of bad input is refused with the field's path and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from bontrack.clinical.plan import PlanInputError, parse_check_request
from tests.clinical.conftest import make


def errors_of(doc: Any, kb) -> list[str]:
    with pytest.raises(PlanInputError) as info:
        parse_check_request(doc, kb)
    return [str(e) for e in info.value.errors]


def edit(path: str, value: Any) -> dict[str, Any]:
    doc = make()
    target: Any = doc
    keys = [int(k) if k.isdigit() else k for k in path.replace("[", ".").replace("]", "").split(".")]
    for key in keys[:-1]:
        target = target[key]
    if value is KeyError:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "plan.product",
            "botax",
            "plan.product: unknown product 'botax'; allowed: onabotulinumtoxinA (Botox), abobotulinumtoxinA",
        ),
        (
            "plan.sites[0].muscle",
            "biceps",
            "plan.sites[0].muscle: unknown muscle 'biceps'; allowed: upper_trapezius",
        ),
        ("plan.sites[0].side", "both", "plan.sites[0].side: unknown side 'both'; allowed: left, right"),
        ("plan.sites[0].units", -5, "plan.sites[0].units: Input should be greater than 0"),
        ("plan.sites[0].units", 0, "plan.sites[0].units: Input should be greater than 0"),
        ("plan.sites[0].units", "25", "plan.sites[0].units: Input should be a valid number"),
        ("plan.sites[0].units", "lots", "plan.sites[0].units: Input should be a valid number"),
        ("plan.sites[0].units", float("nan"), "plan.sites[0].units: Input should be a finite number"),
        ("plan.sites", [], "plan.sites: List should have at least 1 item"),
        ("date", "2026-02-30", "date: 2026-02-30 is not a date; use YYYY-MM-DD"),
        ("plan.lot_expiry", "tomorrow", "plan.lot_expiry: Input should be a valid date"),
        (
            "plan.reconstituted_at",
            "2026-11-23T25:00:00",
            "plan.reconstituted_at: 2026-11-23T25:00:00 is not a date and time; use YYYY-MM-DDTHH:MM",
        ),
        ("episode", KeyError, "episode: is required"),
        ("plan", KeyError, "plan: is required"),
        ("patient.sex", "f", "patient.sex: Input should be 'female', 'male', 'other' or 'unknown'"),
        ("patient.pregnant", "no", "patient.pregnant: Input should be a valid boolean"),
        ("plan.physical_therapy", 1, "plan.physical_therapy: Input should be a valid boolean"),
        (
            "plan.vial_units",
            150,
            "plan.vial_units: onabotulinumtoxinA comes in vials of 50, 100, 200 units, not 150",
        ),
        ("plan.diluent_ml", 0, "plan.diluent_ml: onabotulinumtoxinA is a powder"),
        (
            "plan.reconstituted_at",
            KeyError,
            "plan.reconstituted_at: is required: when the onabotulinumtoxinA vial",
        ),
        (
            "plan.reconstituted_at",
            "2026-11-24T08:00:00",
            "plan.reconstituted_at: 2026-11-24 08:00:00 is after the plan date",
        ),
        (
            "plan.administered_at",
            "2026-11-24T08:00:00",
            "plan.administered_at: must fall on the plan date 2026-11-23",
        ),
        (
            "plan.administered_at",
            "2026-11-23T08:00:00",
            "plan.administered_at: 2026-11-23 08:00 is before the reconstitution time 2026-11-23 08:30",
        ),
        ("patient.birth_date", "2030-01-01", "patient.birth_date: 2030-01-01 is after the plan date"),
        (
            "episode.pain_onset_date",
            "2027-01-01",
            "episode.pain_onset_date: 2027-01-01 is after the plan date",
        ),
        (
            "episode.conservative_care_weeks",
            -1,
            "episode.conservative_care_weeks: Input should be greater than or equal to 0",
        ),
        (
            "episode.trigger_points",
            [{"muscle": "upper_trapezius"}],
            "episode.trigger_points[0].side: is required",
        ),
        (
            "history",
            [{"date": "2026-12-01", "product": "botox", "total_units": 10}],
            "history[0].date: 2026-12-01 is after",
        ),
        (
            "history",
            [{"date": "2026-01-01", "product": "toxin", "total_units": 10}],
            "history[0].product: unknown product",
        ),
        ("plan.colour", "blue", "plan.colour: is not a known field"),
        ("patient.medications", [""], "patient.medications[0]: is empty: write the name"),
    ],
)
def test_invalid_field__named_with_what_is_allowed(kb, path, value, expected) -> None:
    errors = errors_of(edit(path, value), kb)
    assert any(e.startswith(expected) for e in errors), errors


@pytest.mark.parametrize("doc", [[], "plan", 3, None])
def test_document_that_is_not_an_object(kb, doc) -> None:
    assert errors_of(doc, kb) == ["(document): must be a JSON object with date, patient, episode, plan"]


def test_every_error_is_reported_at_once(kb) -> None:
    doc = make(plan={"product": "botax"}, patient={"birth_date": "2030-01-01"})
    doc["plan"]["sites"][0]["side"] = "middle"
    errors = errors_of(doc, kb)
    assert len(errors) == 3
