"""`bontrack check` and `bontrack tour` as a user runs them: a real process, exit codes, output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clinical.conftest import make

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


def bontrack(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bontrack", *args], input=stdin, capture_output=True, text=True, check=False
    )


def write(tmp_path: Path, doc: object, name: str = "plan.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_check__allow_exits_0_with_json(tmp_path: Path) -> None:
    result = bontrack("check", write(tmp_path, make()))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["decision"] == "allow"
    assert set(out) >= {"decision", "findings", "knowledge_version", "dilution"}
    assert all(set(f) >= {"code", "severity", "message", "source"} for f in out["findings"])


def test_check__warn_exits_0(tmp_path: Path) -> None:
    result = bontrack("check", write(tmp_path, make(patient={"medications": ["ibuprofen"]})))
    assert result.returncode == 0
    assert json.loads(result.stdout)["decision"] == "warn"


def test_check__block_exits_3(tmp_path: Path) -> None:
    result = bontrack("check", write(tmp_path, make(patient={"pregnant": True})))
    assert result.returncode == 3
    assert json.loads(result.stdout)["decision"] == "block"


@pytest.mark.parametrize("allergy", ["Botox (hives)", "human serum albumin"])
def test_check__an_allergy_written_with_its_reaction_or_label_name_blocks_exits_3(
    tmp_path: Path, allergy: str
) -> None:
    """QA pass 4, finding 1: these were "allow", exit 0, with only "Not in the knowledge base"."""
    result = bontrack("check", write(tmp_path, make(patient={"allergies": [allergy]})))
    assert result.returncode == 3, result.stdout
    out = json.loads(result.stdout)
    assert out["decision"] == "block"
    blocks = [f for f in out["findings"] if f["severity"] == "block"]
    assert len(blocks) == 1 and f"entered as '{allergy}'" in blocks[0]["message"] and blocks[0]["source"]


@pytest.mark.parametrize("allergy", ["egg albumin", "Egg white albumin (rash)"])
def test_check__an_egg_albumin_allergy_is_not_human_albumin_exits_0(tmp_path: Path, allergy: str) -> None:
    """Before: "egg albumin" blocked every product with human albumin (screening.toml not_when)."""
    result = bontrack("check", write(tmp_path, make(patient={"allergies": [allergy]})))
    assert result.returncode == 0, result.stdout
    out = json.loads(result.stdout)
    assert out["decision"] == "allow"
    (unknown,) = [f for f in out["findings"] if f["code"] == "allergy.unknown"]
    assert f"'{allergy}'" in unknown["message"] and "not human albumin" in unknown["message"]


def test_check__invalid_input_exits_2_naming_the_field(tmp_path: Path) -> None:
    doc = make()
    doc["plan"]["sites"][0]["units"] = "twenty"
    result = bontrack("check", write(tmp_path, doc))
    assert result.returncode == 2
    assert "plan.sites[0].units" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "is not valid JSON"), ("", "is not valid JSON"), ("[1, 2]", "must be a JSON object")],
)
def test_check__unreadable_documents_exit_2(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = bontrack("check", str(path))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_check__missing_file_exits_2(tmp_path: Path) -> None:
    result = bontrack("check", str(tmp_path / "nope.json"))
    assert result.returncode == 2 and "cannot read" in result.stderr


def test_check__reads_standard_input() -> None:
    result = bontrack("check", "-", stdin=json.dumps(make()))
    assert result.returncode == 0 and json.loads(result.stdout)["decision"] == "allow"


def test_check__text_format_shows_decision_reasons_and_sources(tmp_path: Path) -> None:
    result = bontrack("check", "--format", "text", write(tmp_path, make(patient={"pregnant": True})))
    assert result.returncode == 3
    assert "BLOCK" in result.stdout and "Pregnancy" in result.stdout and "screening.pregnant" in result.stdout


EXPECTED = {
    "01_allow_first_cycle": "allow",
    "02_warn_nsaid": "warn",
    "03_block_retreatment_day_83": "block",
    "04_block_pregnancy": "block",
    "05_block_scm_cap": "block",
    "06_warn_other_product": "warn",
    "07_block_old_reconstitution": "block",
    "08_block_dysport_milk_allergy": "block",
    "09_warn_myobloc_warfarin": "warn",
    "10_warn_stop_and_review": "warn",
    "11_block_stale_screening": "block",
    "12_block_therapist_injector": "block",
    "13_warn_same_drug_twice": "warn",
}


def test_examples__each_documented_example_has_its_expected_decision() -> None:
    assert {p.stem for p in EXAMPLES} == set(EXPECTED)
    for path in EXAMPLES:
        result = bontrack("check", str(path))
        assert json.loads(result.stdout)["decision"] == EXPECTED[path.stem], path.name
        assert result.returncode == (3 if EXPECTED[path.stem] == "block" else 0)


def test_tour__walks_every_example() -> None:
    result = bontrack("tour", str(ROOT / "examples"))
    assert result.returncode == 0, result.stderr
    for path in EXAMPLES:
        assert path.name in result.stdout
