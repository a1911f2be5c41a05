"""A command that writes records does not load pandas (docs/scale.md, session 23).

The derived tables kept as records are written (the due items, the current scores) derive a
write's patients from plain lists (``scheduling.derive``: frames only for the rebuild from
scratch), so ``bontrack import`` holds about 95 MB less (pandas, pyarrow, numpy) through its
whole run, its peak among it, and starts about 0.3 s sooner. Checked in a fresh interpreter.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path


def _bontrack(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bontrack", *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr


def test_an_import_derives_its_patients_without_pandas(tmp_path: Path) -> None:
    source, lines = tmp_path / "source.db", tmp_path / "clinic.jsonl"
    _bontrack("--db", f"sqlite:///{source}", "demo", "--patients", "4", "--seed", "2")
    _bontrack("--db", f"sqlite:///{source}", "export", str(lines))
    target = tmp_path / "target.db"
    code = (
        "import json, runpy, sys\n"
        f"sys.argv = ['bontrack', '--db', 'sqlite:///{target}', 'import', '{lines}']\n"
        "try:\n    runpy.run_module('bontrack', run_name='__main__')\n"
        "except SystemExit as stop:\n    code = stop.code\n"
        "print(json.dumps({'code': code, 'loaded': sorted(m for m in ('pandas', 'numpy', 'pyarrow')"
        " if m in sys.modules)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer == {"code": 0, "loaded": []}, done.stderr
    with sqlite3.connect(target) as con:  # the import derived the due items of its patients
        assert con.execute("select count(distinct patient_id) from due_items").fetchone()[0] > 0
