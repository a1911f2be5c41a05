"""The cyclic garbage collector's pace in bontrack's processes (docs/scale.md, session 17).

Each check runs in a fresh interpreter: the pace is set when the command's package is imported or
when the server's app is settled, and the test process's own collector is left alone.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path


def _run(code: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def test_a_command_paces_the_collector_before_its_modules_load() -> None:
    """``bontrack.cli`` sets the command's thresholds before it imports the commands: the young
    generation is collected far less often than Python's default while the modules load."""
    answer = _run(
        "import gc, json\n"
        "default = gc.get_threshold()\n"
        "seen = []\n"
        "gc.callbacks.append(lambda phase, info: phase == 'start' and seen.append(info['generation']))\n"
        "import bontrack.cli as cli\n"
        "print(json.dumps({'default': default, 'now': gc.get_threshold(), 'pace': cli.COMMAND_GC_THRESHOLDS,"
        " 'collections': len(seen)}))\n"
    )
    assert answer["now"] == answer["pace"] == [50_000, 20, 20]
    assert answer["default"] == [700, 10, 10]
    # at Python's pace importing the commands runs about 30 collections (measured); at this pace 1
    assert isinstance(answer["collections"], int) and answer["collections"] < 10


def test_the_servers_app_settles_at_the_servers_pace() -> None:
    """``settle_heap`` (the server's app once built) freezes what the app holds and sets the
    server's thresholds: young collections every 10,000 allocations, short enough for a request
    to wait for."""
    answer = _run(
        "import gc, json\n"
        "from bontrack.web.serve import SERVER_GC_THRESHOLDS, settle_heap\n"
        "before = gc.get_freeze_count()\n"
        "settle_heap()\n"
        "print(json.dumps({'now': gc.get_threshold(), 'pace': SERVER_GC_THRESHOLDS,"
        " 'frozen': gc.get_freeze_count() - before}))\n"
    )
    assert answer["now"] == answer["pace"] == [10_000, 10, 10]
    assert isinstance(answer["frozen"], int) and answer["frozen"] > 10_000


def test_a_command_closes_its_databases_and_freezes_its_heap_for_the_exit(tmp_path: Path) -> None:
    """``cli.main`` ends every command by closing its engines' connections, then freezing the heap
    (the exit's collections skip it). Frozen without the closing, the SQLite connection is never
    closed and its write-ahead log stays beside the file (checked: a file copied alone would lack
    those commits); closed first, the file alone holds everything."""
    db = tmp_path / "registry.db"
    done = subprocess.run(
        [sys.executable, "-m", "bontrack", "--db", f"sqlite:///{db}", "demo", "--patients", "3"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "registry.db-wal").exists()
    with sqlite3.connect(db) as con:  # the demo's patients are in the file itself
        assert con.execute("select count(distinct id) from patient_versions").fetchone()[0] == 3
    answer = _run(
        "import gc, json\n"
        "from sqlalchemy import text\n"
        "import bontrack.cli as cli\n"
        "from bontrack.storage.engine import open_engine\n"
        f"engine = open_engine('sqlite:///{tmp_path / 'other.db'}')\n"
        "with engine.connect() as c:\n"
        "    c.execute(text('select 1'))\n"
        "kept = engine.pool.checkedin()\n"
        "cli.leave()\n"
        "after, frozen = engine.pool.checkedin(), gc.get_freeze_count()\n"
        "print(json.dumps({'kept': kept, 'after': after, 'frozen': frozen}))\n"
    )
    assert answer["kept"] == 1 and answer["after"] == 0
    assert isinstance(answer["frozen"], int) and answer["frozen"] > 10_000
