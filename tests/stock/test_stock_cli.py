"""`bontrack stock` and `bontrack recall` as a user runs them: a real process, exit codes, output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bontrack.injections.service import create_session
from bontrack.storage.engine import open_engine, transaction
from factories import DAY, clinic_world, session_input


def bontrack(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "bontrack", "--db", f"sqlite:///{db}", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_receive_list_discard_and_recall(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    engine = open_engine(f"sqlite:///{db}")
    with transaction(engine) as session:
        world = clinic_world(session)
        create_session(db=session, actor="test", data=session_input(world, lot="R-77"))
    engine.dispose()
    receive = bontrack(
        db, "stock", "receive", "--product", "botox", "--lot", "AB12", "--expiry", "2026-03-20",
        "--vial-units", "100", "--count", "3", "--supplier", "McKesson", "--clinic", world.clinic_id,
        "--date", "2026-02-01",
    )  # fmt: skip
    assert receive.returncode == 0, receive.stderr
    listed = bontrack(db, "stock", "--date", DAY.isoformat())
    assert listed.returncode == 0, listed.stderr
    assert (
        "AB12" in listed.stdout
        and "onabotulinumtoxinA (Botox)" in listed.stdout
        and "in 18 d" in listed.stdout
    )
    rows = json.loads(bontrack(db, "stock", "--format", "json", "--date", DAY.isoformat()).stdout)
    assert [(r["lot"], r["remaining"], r["expiring_soon"]) for r in rows] == [("AB12", 3, True)]
    too_many = bontrack(db, "stock", "discard", "--lot", "AB12", "--count", "4", "--reason", "broken")
    assert too_many.returncode == 2
    assert too_many.stderr.startswith("error --count: ") and "Traceback" not in too_many.stderr
    assert (
        bontrack(db, "stock", "discard", "--lot", "AB12", "--count", "1", "--reason", "dropped").returncode
        == 0
    )
    rows = json.loads(bontrack(db, "stock", "--format", "json", "--date", DAY.isoformat()).stdout)
    assert rows[0]["remaining"] == 2 and rows[0]["discarded"] == 1
    recalled = json.loads(bontrack(db, "recall", "R-77", "--format", "json").stdout)
    assert [s["patient_id"] for s in recalled["sessions"]] == [world.patient_id]
    assert "P-001" in bontrack(db, "recall", "R-77").stdout


def test_bad_input_exits_2_naming_the_field(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    open_engine(f"sqlite:///{db}").dispose()  # a registry (a missing one is refused naming --db)
    bad_date = bontrack(
        db, "stock", "receive", "--product", "botox", "--lot", "A", "--expiry", "2027-13-01",
        "--vial-units", "100", "--count", "1", "--supplier", "x", "--clinic", "c",
    )  # fmt: skip
    assert bad_date.returncode == 2 and "expiry" in bad_date.stderr
    assert "--format" in bontrack(db, "stock", "--format", "xml").stderr
    unknown = bontrack(db, "stock", "discard", "--lot", "NOPE", "--count", "1", "--reason", "x")
    assert unknown.returncode == 2 and "lot" in unknown.stderr


def test_receive__without_clinic_takes_the_only_one_and_asks_when_there_are_several(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    engine = open_engine(f"sqlite:///{db}")
    with transaction(engine) as session:
        world = clinic_world(session)
    engine.dispose()
    delivery = ["stock", "receive", "--product", "botox", "--expiry", "2027-03-20", "--vial-units", "100",
                "--count", "2", "--supplier", "McKesson", "--date", "2026-02-01"]  # fmt: skip
    one = bontrack(db, *delivery, "--lot", "ONE1")
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout)["clinic_id"] == world.clinic_id
    engine = open_engine(f"sqlite:///{db}")
    with transaction(engine) as session:
        other = clinic_world(session, record_number="B-1")
    engine.dispose()
    two = bontrack(db, *delivery, "--lot", "TWO2")
    assert two.returncode == 2
    assert "--clinic" in two.stderr and other.clinic_id in two.stderr and "Traceback" not in two.stderr


def test_receive__an_expired_lot_is_kept_with_a_warning_and_a_day_ahead_is_refused_in_words(
    tmp_path: Path,
) -> None:
    """QA pass 5: the command line saved an expired delivery without a word (the API warns), and
    a received day after tomorrow was said to be "not a date"."""
    db = tmp_path / "r.db"
    engine = open_engine(f"sqlite:///{db}")
    with transaction(engine) as session:
        world = clinic_world(session)
    engine.dispose()
    delivery = ["stock", "receive", "--product", "botox", "--vial-units", "100", "--count", "2",
                "--supplier", "McKesson", "--clinic", world.clinic_id]  # fmt: skip
    expired = bontrack(db, *delivery, "--lot", "OLD1", "--expiry", "2020-01-31", "--date", "2026-02-01")
    assert expired.returncode == 0, expired.stderr
    assert json.loads(expired.stdout)["data"]["lot"] == "OLD1"
    assert "warning Lot OLD1 expired on 2020-01-31" in expired.stderr
    assert "record its vials as discarded" in expired.stderr
    fresh = bontrack(db, *delivery, "--lot", "NEW1", "--expiry", "2027-01-31", "--date", "2026-02-01")
    assert fresh.returncode == 0 and "warning" not in fresh.stderr
    ahead = bontrack(db, *delivery, "--lot", "NEW2", "--expiry", "2099-01-31", "--date", "2099-01-01")
    assert ahead.returncode == 2
    assert ahead.stderr.startswith("error --date: 2099-01-01 is out of range; allowed: ")
    assert "not after tomorrow" in ahead.stderr and "is not a date" not in ahead.stderr
