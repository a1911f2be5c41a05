"""`bontrack code`: billing lines for what was given, worked cases for every product."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bontrack.clinical.plan import PlanInputError
from bontrack.planning.billing import BillingLines, code_session
from bontrack.planning.knowledge import PlanningKnowledge
from tests.planning.conftest import session

ROOT = Path(__file__).resolve().parents[2]
UT, SCM, LS = "upper_trapezius", "sternocleidomastoid", "levator_scapulae"


def drug_lines(out: BillingLines) -> list[tuple[str, tuple[str, ...], int]]:
    return [(ln.code, tuple(ln.modifiers), ln.units) for ln in out.lines if ln.code.startswith("J")]


@pytest.mark.parametrize(
    ("product", "vial", "count", "given", "expected", "discarded"),
    [
        # the worked cases
        ("botox", 100, 1, [25, 25, 20], [("J0585", (), 70), ("J0585", ("JW",), 30)], 30),
        ("botox", 200, 1, [50, 50, 50, 50], [("J0585", ("JZ",), 200)], 0),
        ("dysport", 500, 1, [150, 150], [("J0586", (), 60), ("J0586", ("JW",), 40)], 200),
        # several vials
        ("botox", 100, 3, [50, 50, 50, 50, 50], [("J0585", (), 250), ("J0585", ("JW",), 50)], 50),
        ("xeomin", 100, 2, [50, 50, 50], [("J0588", (), 150), ("J0588", ("JW",), 50)], 50),
        ("myobloc", 5000, 1, [1000, 1000, 1500], [("J0587", (), 35), ("J0587", ("JW",), 15)], 1500),
        ("daxxify", 100, 1, [50, 50], [("J0589", ("JZ",), 100)], 0),
        ("daxxify", 50, 2, [25, 25, 20], [("J0589", (), 70), ("J0589", ("JW",), 30)], 30),
        # partial billing units: rounded up; only whole billing units left are discarded
        ("dysport", 500, 1, [151, 151], [("J0586", (), 61), ("J0586", ("JW",), 39)], 198),
        ("dysport", 300, 1, [149, 149], [("J0586", ("JZ",), 60)], 2),
        ("myobloc", 2500, 1, [1225, 1225], [("J0587", ("JZ",), 25)], 50),
        ("myobloc", 10000, 1, [2550], [("J0587", (), 26), ("J0587", ("JW",), 74)], 7450),
        ("botox", 100, 1, [12.5, 12.5], [("J0585", (), 25), ("J0585", ("JW",), 75)], 75),
        ("botox", 100, 1, [12.4], [("J0585", (), 13), ("J0585", ("JW",), 87)], 87.6),
    ],
)
def test_drug_lines(
    pk: PlanningKnowledge,
    product: str,
    vial: float,
    count: int,
    given: list[float],
    expected: list[tuple[str, tuple[str, ...], int]],
    discarded: float,
) -> None:
    muscles = [UT, SCM, LS, "splenius_capitis", "infraspinatus"]
    sites = [(muscles[i % 5], "left" if i < 5 else "right", u) for i, u in enumerate(given)]
    out = code_session(session(product, vial, sites, vial_count=count, diluent_ml=1.0), pk)
    assert drug_lines(out) == expected
    assert out.administered_units == pytest.approx(sum(given))
    assert out.discarded_units == pytest.approx(discarded)
    assert out.administered_units + out.discarded_units == pytest.approx(vial * count) == out.opened_units
    per = pk.billing.drugs[pk.kb.product_id(product) or ""].units_per_billing_unit
    billed = sum(units for _, _, units in expected)
    assert billed * per <= vial * count  # never more billing units than the opened vials hold
    partial = (sum(given) / per) % 1 > 1e-9
    assert any("rounded up" in w for w in out.warnings) is partial


def test_procedure_counts_muscle_sides(pk: PlanningKnowledge) -> None:
    two = code_session(session("botox", 100, [(UT, "left", 20), (UT, "left", 20), (SCM, "left", 10)]), pk)
    assert [ln.code for ln in two.lines if not ln.code.startswith("J")] == ["20552"]
    three = code_session(session("botox", 100, [(UT, "left", 20), (UT, "right", 20), (SCM, "left", 10)]), pk)
    assert [ln.code for ln in three.lines if not ln.code.startswith("J")] == ["20553"]
    assert all(ln.source for ln in three.lines)


@pytest.mark.parametrize(
    ("guidance", "codes"),
    [("ultrasound", ["76942"]), ("emg", ["95874"]), (["electrical_stimulation", "emg"], ["95873", "95874"])],
)
def test_guidance_add_ons(pk: PlanningKnowledge, guidance: Any, codes: list[str]) -> None:
    out = code_session(session("botox", 100, [(UT, "left", 20)], guidance=guidance), pk)
    add_ons = [ln for ln in out.lines if ln.code not in {"J0585", "20552", "20553"}]
    assert [ln.code for ln in add_ons] == codes
    assert all(ln.units == 1 for ln in add_ons)
    chemodenervation_warned = any("64612-64647" in w for w in out.warnings)
    assert chemodenervation_warned is (guidance != "ultrasound")


def test_off_label_warning_ndc_and_diagnoses(pk: PlanningKnowledge) -> None:
    out = code_session(session("xeomin", 100, [(UT, "left", 20)], diagnosis_codes=["m79.18", "M54.2"]), pk)
    assert out.ndc == "46783-160-01"
    assert out.diagnosis_codes == ["M79.18", "M54.2"]
    assert any("off-label" in w and "do not cover" in w for w in out.warnings)
    botox = code_session(session("botox", 100, [(UT, "left", 20)]), pk)
    assert botox.ndc is None
    assert any("NDC" in w and "carton" in w for w in botox.warnings)
    assert any("diagnosis" in w for w in botox.warnings)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"guidance": "fluoroscopy"}, "guidance[0]"),
        ({"diagnosis_codes": ["neck pain"]}, "diagnosis_codes[0]"),
        ({"diagnosis_codes": "M79.18"}, "diagnosis_codes"),
        ({"billing": True}, "billing"),
    ],
)
def test_invalid_extras_name_the_field(pk: PlanningKnowledge, extra: dict[str, Any], field: str) -> None:
    with pytest.raises(PlanInputError) as exc:
        code_session(session("botox", 100, [(UT, "left", 20)], **extra), pk)
    assert field in [e.field for e in exc.value.errors]


def test_more_given_than_opened_is_invalid(pk: PlanningKnowledge) -> None:
    with pytest.raises(PlanInputError) as exc:
        code_session(session("botox", 100, [(UT, "left", 60), (UT, "right", 60)]), pk)
    assert [e.field for e in exc.value.errors] == ["plan.sites"]


def bontrack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bontrack", *args], capture_output=True, text=True, check=False
    )


def test_cli_examples() -> None:
    result = bontrack("code", str(ROOT / "examples" / "code" / "01_botox_70_of_100.json"))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) >= {"lines", "administered_units", "discarded_units", "ndc", "warnings"}
    assert [(ln["code"], ln["modifiers"], ln["units"]) for ln in out["lines"][:2]] == [
        ("J0585", [], 70),
        ("J0585", ["JW"], 30),
    ]
    assert all(set(ln) == {"code", "modifiers", "units", "description", "source"} for ln in out["lines"])
    dysport = json.loads(
        bontrack("code", str(ROOT / "examples" / "code" / "02_dysport_300_of_500.json")).stdout
    )
    assert [(ln["code"], ln["units"]) for ln in dysport["lines"][:2]] == [("J0586", 60), ("J0586", 40)]


def test_cli_invalid_exits_2_naming_the_field(tmp_path: Path) -> None:
    doc = session("botox", 100, [(UT, "left", 20)], diagnosis_codes=["xyz"])
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    result = bontrack("code", str(path))
    assert result.returncode == 2
    assert "diagnosis_codes[0]" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
