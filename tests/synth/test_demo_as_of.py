"""`bontrack demo --as-of DAY`: the synthetic clinic as of a later day than the calibrated one, as a
user builds it (a real process, a real SQLite registry), read back by export, `bontrack due` and
`bontrack stock`; and the days it refuses."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.synth.conftest import bontrack, dump, export

CALIBRATED = dt.date(2026, 11, 23)  # calibration.toml [timeline] as_of: the default day
LATER = dt.date(2026, 12, 1)  # a fixed later day (not today: the test does not move with the calendar)
PATIENTS = 40
SEED = 2
# what a record says happened, and when (a therapy plan's start and a lot's expiry are ahead by nature)
HAPPENED = ("date", "onset_date", "reported_date", "received_on", "discarded_on")
STOCK = ("stock_receipt", "vial_opening", "vial_discard")


def _build(folder: Path, *args: str) -> list[dict[str, Any]]:
    db = folder / "registry.db"
    result = bontrack(db, "demo", "--patients", str(PATIENTS), "--seed", str(SEED), *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in export(db, folder / "export.jsonl")]


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("calibrated")
    return folder / "registry.db", _build(folder)


@pytest.fixture(scope="module")
def later(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("later")
    return folder / "registry.db", _build(folder, "--as-of", LATER.isoformat())


def _days(record: dict[str, Any]) -> list[dt.date]:
    data = record["data"]
    return [dt.date.fromisoformat(data[name]) for name in HAPPENED if isinstance(data.get(name), str)]


def _json(db: Path, *args: str) -> list[dict[str, Any]]:
    result = bontrack(db, *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_demo_as_of__nothing_is_recorded_or_dated_after_the_day(later: tuple[Path, list[Any]]) -> None:
    _db, records = later
    assert len(records) > PATIENTS * 10
    assert max(dt.datetime.fromisoformat(r["recorded_at"]).date() for r in records) <= LATER
    days = [day for r in records for day in _days(r)]
    assert max(days) <= LATER
    assert max(days) > CALIBRATED  # the clinic goes on after the calibrated day, up to its own


def test_demo_as_of__the_whole_timeline_moves_by_the_same_days(
    calibrated: tuple[Path, list[Any]], later: tuple[Path, list[Any]]
) -> None:
    moved = LATER - CALIBRATED

    def referrals(records: list[dict[str, Any]]) -> list[dt.date]:
        return sorted(
            dt.datetime.fromisoformat(r["recorded_at"]).date() for r in records if r["type"] == "patient"
        )

    assert [day + moved for day in referrals(calibrated[1])] == referrals(later[1])
    first = [dt.datetime.fromisoformat(r["recorded_at"]) for r in calibrated[1] if r["type"] == "clinic"]
    assert [dt.datetime.fromisoformat(r["recorded_at"]) for r in later[1] if r["type"] == "clinic"] == [
        at + moved for at in first
    ]
    # every patient lived the same pathway, only on other days
    sessions = sorted(
        dt.date.fromisoformat(r["data"]["date"]) for r in calibrated[1] if r["type"] == "injection_session"
    )
    assert [day + moved for day in sessions] == sorted(
        dt.date.fromisoformat(r["data"]["date"]) for r in later[1] if r["type"] == "injection_session"
    )
    kinds = Counter(r["type"] for r in calibrated[1] if r["type"] not in STOCK)
    assert Counter(r["type"] for r in later[1] if r["type"] not in STOCK) == kinds


def test_demo_as_of__its_worklist_on_the_day_is_the_calibrated_clinics_on_its_own(
    calibrated: tuple[Path, list[Any]], later: tuple[Path, list[Any]]
) -> None:
    due = _json(later[0], "due", "--date", LATER.isoformat())
    statuses = Counter(item["status"] for item in due)
    ahead = [
        item for item in due if LATER <= dt.date.fromisoformat(item["due_date"]) <= LATER + dt.timedelta(7)
    ]
    assert ahead and statuses["upcoming"] > statuses["overdue"], statuses
    assert statuses == Counter(
        i["status"] for i in _json(calibrated[0], "due", "--date", CALIBRATED.isoformat())
    )


def test_demo_as_of__its_stock_on_the_day_is_on_hand_and_not_expired(later: tuple[Path, list[Any]]) -> None:
    lots = _json(later[0], "stock", "--date", LATER.isoformat())
    assert sum(lot["remaining"] for lot in lots) > 0
    assert not [lot["lot"] for lot in lots if lot["expired"] or dt.date.fromisoformat(lot["expiry"]) < LATER]
    discards = [r for r in later[1] if r["type"] == "vial_discard"]
    assert all(dt.date.fromisoformat(r["data"]["discarded_on"]) <= LATER for r in discards)


def test_demo_as_of__the_calibrated_day_is_the_default_clinic(
    calibrated: tuple[Path, list[Any]], tmp_path: Path
) -> None:
    assert _build(tmp_path, "--as-of", CALIBRATED.isoformat()) == calibrated[1]


def test_demo_as_of_today__builds_the_clinic_as_of_today(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    result = bontrack(db, "demo", "--patients", "6", "--seed", "3", "--as-of", "today")
    today = dt.date.today()
    assert result.returncode == 0, result.stderr
    assert f"as of {today}" in " ".join(result.stderr.split())
    records = [json.loads(line) for line in export(db, tmp_path / "export.jsonl")]
    assert max(day for r in records for day in _days(r)) <= today
    clinic = next(r for r in records if r["type"] == "clinic")
    assert dt.datetime.fromisoformat(clinic["recorded_at"]).date() == today - (
        CALIBRATED - dt.date(2025, 1, 6)
    )


def _refused_days() -> list[tuple[str, str]]:
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    return [
        ("1 Dec 2026", "'1 Dec 2026' is not a date"),
        ("2026-02-30", "'2026-02-30' is not a date"),
        ("yesterday", "'yesterday' is not a date"),
        (tomorrow, f"{tomorrow} is after today"),
        ("2026-11-22", "2026-11-22 is before 2026-11-23, the demo's calibrated day"),
        ("2025-01-06", "2025-01-06 is before 2026-11-23, the demo's calibrated day"),
    ]


@pytest.mark.parametrize("if_empty", [[], ["--if-empty"]])
@pytest.mark.parametrize(("day", "said"), _refused_days())
def test_demo_as_of__a_refused_day_exits_2_saying_what_is_allowed_and_writes_nothing(
    tmp_path: Path, day: str, said: str, if_empty: list[str]
) -> None:
    db = tmp_path / "registry.db"
    result = bontrack(db, "demo", "--patients", "3", *if_empty, "--as-of", day)
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert message.startswith(f"error --as-of: {said}"), message
    assert f"allowed: today, or YYYY-MM-DD from 2026-11-23 to today ({dt.date.today()})" in message
    assert "Traceback" not in result.stderr
    assert not db.exists()  # not even a schema


def test_demo_as_of__a_refused_day_leaves_a_registry_unchanged(
    later: tuple[Path, list[Any]], tmp_path: Path
) -> None:
    db = tmp_path / "registry.db"
    with sqlite3.connect(later[0]) as source, sqlite3.connect(db) as target:
        source.backup(target)  # (its latest pages may still be in the write-ahead log)
    before = dump(db)
    for args in (["--force"], ["--if-empty"]):
        result = bontrack(db, "demo", "--patients", "3", *args, "--as-of", "2026-11-01")
        assert result.returncode == 2 and "error --as-of:" in result.stderr and "calibrated" in result.stderr
    assert dump(db) == before
