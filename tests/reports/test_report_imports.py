"""What `bontrack report` does not import (docs/scale.md, session 28): each costs its start.

The registry of record kinds
(``bontrack.kinds``: every kind's schema and model) is imported only to name a Parquet export's
files. Checked in a fresh interpreter, on the command's whole run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

NOT_IMPORTED = ("bontrack.kinds",)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )


def _loaded(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_report_modules_do_not_import_the_kinds() -> None:
    code = (
        "import json, sys\n"
        "import bontrack.reports.content, bontrack.reports.plots, bontrack.reports.render\n"
        "import bontrack.reports.data, bontrack.cli\n"
        f"print(json.dumps({{'loaded': [m for m in {NOT_IMPORTED!r} if m in sys.modules]}}))\n"
    )
    assert _loaded(_python(code)) == {"loaded": []}


def test_a_report_run_does_not_import_the_kinds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    made = subprocess.run(
        [sys.executable, "-m", "bontrack", "--db", url, "demo", "--patients", "12", "--seed", "3"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    out = tmp_path / "report.html"
    code = (
        "import json, runpy, sys\n"
        f"sys.argv = ['bontrack', '--db', {url!r}, 'report', '--out', {str(out)!r}, '--date', '2026-11-23']\n"
        "try:\n    runpy.run_module('bontrack', run_name='__main__')\n"
        "except SystemExit as stop:\n    code = stop.code\nelse:\n    code = 0\n"
        f"print(json.dumps({{'code': code, 'loaded': [m for m in {NOT_IMPORTED!r} if m in sys.modules]}}))\n"
    )
    assert _loaded(_python(code)) == {"code": 0, "loaded": []}
    assert out.stat().st_size > 0
