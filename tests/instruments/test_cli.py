"""`bontrack score`: JSON out, exit 0; every input error on stderr with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bontrack.cli import app

runner = CliRunner()


def _write(tmp_path: Path, content: str) -> str:
    path = tmp_path / "answers.json"
    path.write_text(content, encoding="utf-8")
    return str(path)


def test_ndi__prints_scores(tmp_path: Path) -> None:
    answers = {"1": 2, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2, "7": 2, "8": 2, "9": 2, "10": 2}
    result = runner.invoke(app, ["score", "ndi", _write(tmp_path, json.dumps(answers))])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["instrument"] == "ndi" and out["answered"] == 10 and out["missing"] == []
    assert out["scores"]["total"] == 20 and out["scores"]["percent"] == 40
    assert out["band"] == "moderate"


def test_ndi__not_scorable_is_exit_0_with_null_scores(tmp_path: Path) -> None:
    answers = {"1": 2, "2": 1, "3": None, "4": 2, "5": 3, "6": 2, "7": 2}
    result = runner.invoke(app, ["score", "ndi", _write(tmp_path, json.dumps(answers))])
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["scores"] == {"total": None, "percent": None, "raw_sum": None}
    assert out["missing"] == [3, 8, 9, 10] and "not scorable" in out["reason"]


def test_rand36__prints_all_scales(tmp_path: Path) -> None:
    result = runner.invoke(app, ["score", "rand36", _write(tmp_path, '{"23": 4, "27": 3, "29": 3}')])
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert round(out["scores"]["energy_fatigue"], 2) == 46.67
    assert set(out["scores"]) >= {"pain", "emotional_wellbeing", "health_change"}
    assert out["answered"] == 3 and len(out["missing"]) == 33


@pytest.mark.parametrize(("command", "value"), [("nprs", 7), ("vas", 63)])
def test_single_item(tmp_path: Path, command: str, value: int) -> None:
    result = runner.invoke(app, ["score", command, _write(tmp_path, json.dumps({"1": value}))])
    assert result.exit_code == 0
    assert list(json.loads(result.stdout)["scores"].values()) == [value]


def test_stdin() -> None:
    result = runner.invoke(app, ["score", "nprs", "-"], input='{"1": 4}')
    assert result.exit_code == 0 and json.loads(result.stdout)["scores"]["pain_intensity"] == 4


@pytest.mark.parametrize(
    ("command", "content", "message"),
    [
        ("ndi", '{"7": 9}', "NDI item 7 (Work) must be one of 0-5, got 9"),
        ("ndi", '{"12": 1}', "NDI has no item '12'"),
        ("rand36", '{"1": 2.0}', "must be a whole number, one of 1-5"),
        ("nprs", '{"1": 3', "is not valid JSON"),
        ("nprs", "[3]", "must hold a JSON object"),
        ("nprs", '"3"', "must hold a JSON object"),
        ("nprs", '{"1": 3, "1": 4}', "item '1' is given twice"),
    ],
)
def test_bad_answers__exit_2_naming_the_problem(
    tmp_path: Path, command: str, content: str, message: str
) -> None:
    result = runner.invoke(app, ["score", command, _write(tmp_path, content)])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_unreadable_file__exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["score", "ndi", str(tmp_path / "absent.json")])
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_directory__exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["score", "ndi", str(tmp_path)])
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_change__prints_responders() -> None:
    args = ["score", "change", "--instrument", "nprs", "--baseline", "7", "--followup", "3"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["change"] == -4 and round(out["percent_change"], 2) == -57.14
    assert out["responder_30"] is True and out["responder_50"] is True
    assert out["mcid_met"] is True


def test_change__zero_baseline() -> None:
    args = ["score", "change", "--instrument", "nprs", "--baseline", "0", "--followup", "2"]
    out = json.loads(runner.invoke(app, args).stdout)
    assert out["percent_change"] is None and out["responder_30"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--instrument", "nprs", "--baseline", "12", "--followup", "3"], "must be 0-10"),
        (["--instrument", "odi", "--baseline", "1", "--followup", "3"], "unknown instrument"),
        (
            ["--instrument", "rand36", "--score", "x", "--baseline", "1", "--followup", "3"],
            "has no score 'x'",
        ),
    ],
)
def test_change__bad_input_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["score", "change", *args])
    assert result.exit_code == 2 and message in result.stderr


def test_cold_start__no_pydantic_until_a_command_runs() -> None:
    code = "import sys, bontrack.cli; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
