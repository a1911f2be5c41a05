"""The synthetic clinic as a user builds it: `bontrack demo` in a real process, read back by export.

Properties are checked on what the registry holds (the JSON Lines export and the audit table),
never on the generator's own variables.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ACTOR = "test:synth"
MODERATE_CLINIC = 500  # patients: enough for rates within a few standard errors of their targets
MODERATE_SEED = 3


def bontrack(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `bontrack --db sqlite:///DB --actor test:synth ARGS` as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "bontrack", "--db", f"sqlite:///{db}", "--actor", ACTOR, *args],
        capture_output=True,
        text=True,
        check=False,
    )


def export(db: Path, target: Path) -> list[str]:
    result = bontrack(db, "export", str(target))
    assert result.returncode == 0, result.stderr
    return target.read_text(encoding="utf-8").splitlines()


def dump(db: Path) -> list[str]:
    """Every row of every table, audit included, read without going through bontrack (no audit)."""
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@dataclass
class Clinic:
    """An exported registry: current version of each record, grouped by type."""

    by_type: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    db: Path = Path()

    @classmethod
    def from_lines(cls, lines: list[str], db: Path) -> Clinic:
        clinic = cls(db=db)
        newest: dict[str, dict[str, Any]] = {}
        for line in lines:
            record = json.loads(line)
            if record["id"] not in newest or record["version"] > newest[record["id"]]["version"]:
                newest[record["id"]] = record
        for record in newest.values():
            if not record["withdrawn"]:
                clinic.by_type[record["type"]].append(record)
                clinic.by_id[record["id"]] = record
        return clinic

    def sessions_by_patient(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for s in self.by_type["injection_session"]:
            out[s["data"]["patient_id"]].append(s)
        for sessions in out.values():
            sessions.sort(key=lambda s: (s["data"]["date"], s["recorded_at"]))
        return out


@pytest.fixture(scope="session")
def moderate_clinic(tmp_path_factory: pytest.TempPathFactory) -> Clinic:
    """A 500-patient demo clinic (seed 3), built once for the property tests."""
    folder = tmp_path_factory.mktemp("moderate_clinic")
    db = folder / "registry.db"
    result = bontrack(db, "demo", "--patients", str(MODERATE_CLINIC), "--seed", str(MODERATE_SEED))
    assert result.returncode == 0, result.stderr
    return Clinic.from_lines(export(db, folder / "export.jsonl"), db)
