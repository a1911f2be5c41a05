"""`bontrack evidence` as a user runs it: JSON out, exit 0; invalid input on stderr with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bontrack.cli import app

runner = CliRunner()
REFERENCE = Path(__file__).resolve().parents[1] / "reference"


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "studies.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def bcg_csv() -> str:
    bcg = json.loads((REFERENCE / "metafor_bcg.json").read_text(encoding="utf-8"))
    lines = ["study,events_treat,n_treat,events_ctrl,n_ctrl"]
    for s in bcg["studies"]:
        lines.append(
            f'"{s["study"]}",{s["tpos"]},{s["tpos"] + s["tneg"]},{s["cpos"]},{s["cpos"] + s["cneg"]}'
        )
    return "\n".join(lines) + "\n"


def test_pool__bcg_hksj_json(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evidence", "pool", "--csv", write(tmp_path, bcg_csv()), "--hksj"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["k"] == 13 and out["method"] == "REML" and out["measure"] == "RR"
    assert round(out["se"], 4) == 0.1808 and round(out["ci_low"], 4) == -1.1084
    assert round(out["exp_estimate"], 2) == 0.49 and round(out["i2"], 2) == 92.22


def test_pool__yi_vi_with_dl(tmp_path: Path) -> None:
    path = write(tmp_path, "study,yi,vi\na,0.1,0.04\nb,0.5,0.09\n")
    result = runner.invoke(app, ["evidence", "pool", "--csv", path, "--method", "DL"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["method"] == "DL"


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        (
            "study,events_treat,n_treat,events_ctrl,n_ctrl\nA,9,5,1,5\n",
            [],
            "line 2 (study 'A'), column events_treat",
        ),
        ("study,events_treat,n_treat,events_ctrl,n_ctrl\nA,0,0,1,5\n", [], "column n_treat: must be a whole"),
        (
            "study,mean_treat,sd_treat,n_treat,mean_ctrl,sd_ctrl,n_ctrl\nA,1,0,10,2,1,10\n",
            [],
            "column sd_treat: an SD must be above 0",
        ),
        ("study,yi,vi\nA,0.1,abc\n", [], "column vi: 'abc' is not a number"),
        ("study,yi,vi\nA,0.1,-1\n", [], "column vi: a sampling variance must be above 0"),
        ("study,yi\nA,0.1\n", [], "missing for the yi,vi form: vi"),
        ("name,yi,vi\nA,0.1,0.2\n", [], "needs a 'study' column"),
        ("study,yi,vi\n", [], "no study rows"),
        ("", [], "the CSV is empty"),
        ("study,events_treat,n_treat,events_ctrl,n_ctrl\nA,1,5,1,5\n", ["--measure", "SMD"], "does not fit"),
        ("study,yi,vi\nA,0.1,0.2\nB,0.2,0.1\n", ["--method", "PM"], "--method must be one of"),
        ("study,yi,vi\nA,0.1,0.2\n", ["--hksj"], "needs at least 2 studies"),
    ],
)
def test_pool__invalid_input_exits_2(tmp_path: Path, text: str, args: list[str], expected: str) -> None:
    result = runner.invoke(app, ["evidence", "pool", "--csv", write(tmp_path, text), *args])
    assert result.exit_code == 2
    assert expected in result.stderr and "Traceback" not in result.output


def test_pool__missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evidence", "pool", "--csv", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_trials_pipe_into_pool__real_process() -> None:
    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bontrack", "evidence", *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )

    listed = run("trials", "--outcome", "responders_wk5")
    assert listed.returncode == 0 and listed.stdout.startswith("study,events_treat")
    pooled = run("pool", "--csv", "-", stdin=listed.stdout)
    assert pooled.returncode == 0, pooled.stderr
    assert json.loads(pooled.stdout)["measure"] == "RR"
    unknown = run("trials", "--outcome", "nope")
    assert unknown.returncode == 2 and "known:" in unknown.stderr


def test_trials__unverified_rows_are_excluded_by_default() -> None:
    result = runner.invoke(app, ["evidence", "trials", "--outcome", "excellent_responders"])
    assert result.exit_code == 2 and "--include-unverified" in result.stderr
    result = runner.invoke(app, ["evidence", "trials", "--outcome", "disability"])
    assert result.exit_code == 0 and "Wheeler 2001" in result.stdout  # read in a review's table


def test_forest__writes_png(tmp_path: Path) -> None:
    out = tmp_path / "forest.png"
    result = runner.invoke(
        app, ["evidence", "forest", "--csv", write(tmp_path, bcg_csv()), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_forest__a_folder_as_out_exits_2_naming_out_and_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "plots"
    folder.mkdir()
    result = runner.invoke(
        app, ["evidence", "forest", "--csv", write(tmp_path, bcg_csv()), "--out", str(folder)]
    )
    assert result.exit_code == 2
    assert result.stderr == f"error --out: {folder} is a folder; give a file name such as forest.png\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plots", "studies.csv"]


def test_forest__a_name_without_extension_prints_the_png_written(tmp_path: Path) -> None:
    out = tmp_path / "noext"
    result = runner.invoke(
        app, ["evidence", "forest", "--csv", write(tmp_path, bcg_csv()), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out}.png\n"
    assert (tmp_path / "noext.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_forest__a_missing_folder_is_named_in_words(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "f.png"
    result = runner.invoke(
        app, ["evidence", "forest", "--csv", write(tmp_path, bcg_csv()), "--out", str(out)]
    )
    assert result.exit_code == 2
    assert result.stderr == f"error --out: folder {tmp_path / 'missing'} does not exist\n"


def test_cli_import__does_not_load_numpy() -> None:
    code = "import sys, bontrack.cli; print('numpy' in sys.modules, 'matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False False"


def test_summary__text_names_k_the_trials_and_the_reviews_beside_them() -> None:
    result = runner.invoke(app, ["evidence", "summary", "--outcome", "pain_4wk"])
    assert result.exit_code == 0, result.output
    assert "verified trials: k = 1 (Ojala 2006)" in result.output
    assert "Langevin 2011, CD008626" in result.output and "SMD -0.07 (95% CI -0.36 to 0.21" in result.output
    assert "Soares 2014" in result.output and "not read at the source" in result.output
    assert "not pooled, Graboski 2005: outside the question" in result.output


def test_summary__json_every_outcome_and_bad_outcome_exits_2() -> None:
    result = runner.invoke(app, ["evidence", "summary", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by = {d["outcome"]: d for d in data}
    assert by["responders_wk5"]["k"] == 1 and by["responders_wk5"]["result"]["exp_estimate"] > 1
    assert by["excellent_responders"]["result"] is None and "nan" not in result.stdout.lower()
    bad = runner.invoke(app, ["evidence", "summary", "--outcome", "nope"])
    assert bad.exit_code == 2 and "known:" in bad.stderr


def test_due_items_rules__do_not_load_scipy() -> None:
    # every write derives the patient's due items: from plain lists, loading neither SciPy (about
    # 60 MB and a second more) nor pandas (about 95 MB with numpy and pyarrow; session 23): the
    # import's and export's 300 MB aim counts them
    code = "import sys, bontrack.scheduling.due; print('scipy' in sys.modules, 'pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False False"
