"""`--clinic` on the command line: an id the registry does not hold is an error naming --clinic
with the clinics it holds (exit 2, nothing written), not an empty report or list that looks like a
clinic with nothing recorded; a clinic it holds is named in the report's heading. Real processes
on a real SQLite registry."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest


def bontrack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bontrack", *args], capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A small demo registry (the commands here only read it) and its clinic's id."""
    path = tmp_path_factory.mktemp("registry") / "demo.db"
    made = bontrack("--db", f"sqlite:///{path}", "demo", "--patients", "3")
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(path) as con:
        (raw,) = con.execute("SELECT DISTINCT id FROM clinic_versions").fetchone()
    clinic = str(uuid.UUID(bytes=raw)) if isinstance(raw, bytes) else str(raw)
    return f"sqlite:///{path}", clinic


@pytest.mark.parametrize(
    "command",
    [["report", "--out", "{out}"], ["due"], ["stock"], ["stock", "waste"]],
    ids=["report", "due", "stock", "waste"],
)
def test_an_unknown_clinic_exits_2_naming_it_and_the_clinics_held(
    registry: tuple[str, str], tmp_path: Path, command: list[str]
) -> None:
    url, clinic = registry
    out = tmp_path / "report.html"
    args = [a.replace("{out}", str(out)) for a in command]
    done = bontrack("--db", url, *args, "--clinic", "no-such-clinic")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    refused = "error --clinic: no clinic 'no-such-clinic' in this registry; its clinics: "
    assert done.stderr.startswith(refused), done.stderr
    assert clinic in done.stderr and "Synthetic Demo Clinic" in done.stderr
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing written


def test_the_report_of_one_clinic_names_it(registry: tuple[str, str], tmp_path: Path) -> None:
    url, clinic = registry
    out = tmp_path / "report.html"
    done = bontrack("--db", url, "report", "--clinic", clinic, "--out", str(out))
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    named = '<p class="meta"><strong>Synthetic Demo Clinic (fictional)</strong> · <span class="whole">As of'
    assert named in html
    every = tmp_path / "every.html"
    assert bontrack("--db", url, "report", "--out", str(every)).returncode == 0
    # every clinic: no name in the heading
    assert '<p class="meta"><span class="whole">As of' in every.read_text()
