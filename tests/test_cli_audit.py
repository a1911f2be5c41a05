"""`bontrack audit` as a user runs it: the trail newest first, filtered by record or actor (the
same entries as the whole log filtered), its own reading audited, bad options exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bontrack.audit.service import entries
from bontrack.storage.audit_log import log
from bontrack.storage.engine import open_engine, transaction


def _bontrack(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bontrack", "--db", f"sqlite:///{db}", "--actor", "cli:auditor", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _rows(out: str) -> list[tuple[str, str, str]]:
    header, *lines = out.splitlines()
    assert header.split("\t")[:4] == ["seq", "at", "actor", "action"]
    return [(f[0], f[2], f[6]) for f in (line.split("\t") for line in lines)]


def test_audit_command_filters_by_record_and_actor(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    engine = open_engine(f"sqlite:///{db}")
    with transaction(engine) as session:
        for n in range(4):
            log(session, actor="ann", action="read", record_type="patient", record_id=f"p-{n}", version=1)
        log(session, actor="bob", action="read", record_type="patient", record_id="p-1", version=1)
    with transaction(engine) as session:
        everything = [(str(e.seq), e.actor, e.record_id or "") for e in entries(session)][::-1]
    engine.dispose()

    done = _bontrack(db, "audit", "--record", "p-1")
    assert done.returncode == 0, done.stderr
    assert _rows(done.stdout) == [e for e in everything if e[2] == "p-1"]
    assert "entries 1-2 of 2" in done.stderr
    done = _bontrack(db, "audit", "--by", "ann", "--limit", "2", "--page", "2")
    assert done.returncode == 0, done.stderr
    assert _rows(done.stdout) == [e for e in everything if e[1] == "ann"][2:4]
    # the readings above are in the trail now
    done = _bontrack(db, "audit", "--by", "cli:auditor")
    assert done.returncode == 0, done.stderr
    assert [r[1] for r in _rows(done.stdout)] == ["cli:auditor", "cli:auditor"]

    refused = _bontrack(db, "audit", "--limit", "0")
    assert refused.returncode == 2 and "--limit" in refused.stderr
