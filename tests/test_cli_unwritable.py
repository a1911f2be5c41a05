"""`bontrack export` and `bontrack report` given a file or folder that cannot be written: exit
code 2 and one line `error FIELD: cannot write ...` naming the argument, no traceback, and nothing
left behind (no partial file, no half an export). Real processes on a real SQLite registry
(`bontrack backup`: tests/storage/test_backup.py).

/proc cannot be written even by root (the tests may run as root, for whom file permissions do
not count), so it stands for a read-only disk or a folder of another user.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bontrack.kinds import KINDS

pytestmark = pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
LAST = KINDS[-1].name  # written after every other record type's file


def bontrack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bontrack", *args], capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small demo registry (shared: the commands here only read it)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'demo.db'}"
    made = bontrack("--db", url, "demo", "--patients", "3")
    assert made.returncode == 0, made.stderr
    return url


def _refused(done: subprocess.CompletedProcess[str], field: str, target: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error {field}: cannot write {target}: "), done.stderr


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_tabular__a_folder_that_cannot_be_made_exits_2_naming_dir(db_url: str, fmt: str) -> None:
    target = f"/proc/bontrack-export-{fmt}"
    _refused(bontrack("--db", db_url, "export", "--format", fmt, target), "DIR", target)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_tabular__a_file_that_cannot_be_written_midway_leaves_no_export(
    db_url: str, fmt: str, tmp_path: Path
) -> None:
    folder = tmp_path / "out" / "export"
    folder.mkdir(parents=True)
    blocked = folder / f"{LAST}.{fmt}.partial"
    blocked.mkdir()  # the last file cannot be written: the files before it were
    _refused(bontrack("--db", db_url, "export", "--format", fmt, str(folder)), "DIR", str(folder))
    assert [p.name for p in folder.iterdir()] == [blocked.name]  # no file of this export, partial or not


@pytest.mark.parametrize("flags", [["--json"], []], ids=["json", "html"])
def test_report__an_out_file_that_cannot_be_written_exits_2_naming_out(db_url: str, flags: list[str]) -> None:
    target = f"/proc/bontrack-report.{'json' if flags else 'html'}"
    _refused(bontrack("--db", db_url, "report", "--out", target, *flags), "--out", target)
