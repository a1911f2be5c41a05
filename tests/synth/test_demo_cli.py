"""`bontrack demo` as a user runs it: deterministic for a seed, refuses bad input, all or nothing."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import typer

from bontrack.cli import demo as demo_cli
from bontrack.config import Settings
from bontrack.errors import InputError
from bontrack.synth import loader
from tests.synth.conftest import bontrack, dump, export


def _demo(db: Path, *args: str) -> None:
    result = bontrack(db, "demo", *args)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def five_patients(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry holding a 5-patient demo (seed 1); tests work on copies."""
    db = tmp_path_factory.mktemp("five") / "registry.db"
    _demo(db, "--patients", "5", "--seed", "1")
    return db


@pytest.fixture
def registry(five_patients: Path, tmp_path: Path) -> Path:
    db = tmp_path / "registry.db"
    shutil.copyfile(five_patients, db)
    return db


def test_demo__same_seed_exports_identical_lines(tmp_path: Path) -> None:
    _demo(tmp_path / "a.db", "--patients", "25", "--seed", "11")
    _demo(tmp_path / "b.db", "--patients", "25", "--seed", "11")
    first = export(tmp_path / "a.db", tmp_path / "a.jsonl")
    second = export(tmp_path / "b.db", tmp_path / "b.jsonl")
    assert len(first) > 25 * 10
    assert first == second


def test_demo__another_seed_builds_another_clinic(tmp_path: Path) -> None:
    _demo(tmp_path / "a.db", "--patients", "25", "--seed", "11")
    _demo(tmp_path / "b.db", "--patients", "25", "--seed", "12")
    first = export(tmp_path / "a.db", tmp_path / "a.jsonl")
    second = export(tmp_path / "b.db", tmp_path / "b.jsonl")
    assert not set(first) & set(second)


def test_demo__a_patient_does_not_depend_on_the_clinic_size(tmp_path: Path) -> None:
    _demo(tmp_path / "small.db", "--patients", "10", "--seed", "4")
    _demo(tmp_path / "large.db", "--patients", "30", "--seed", "4")
    small = export(tmp_path / "small.db", tmp_path / "small.jsonl")
    large = export(tmp_path / "large.db", tmp_path / "large.jsonl")
    # the clinic's deliveries and discards of toxin follow from all its sessions: not a patient's
    clinic_wide = ('"type":"stock_receipt"', '"type":"vial_discard"')
    assert set(_without(small, clinic_wide)) < set(_without(large, clinic_wide))
    assert _without(small, clinic_wide) != small


def _without(lines: list[str], marks: tuple[str, ...]) -> list[str]:
    return [line for line in lines if not any(mark in line for mark in marks)]


def test_demo__non_empty_registry_without_force_exits_2_and_writes_nothing(registry: Path) -> None:
    db = registry
    before = dump(db)
    result = bontrack(db, "demo", "--patients", "5", "--seed", "2")
    assert result.returncode == 2
    assert "--force" in result.stderr and "already holds 5 patients" in result.stderr
    assert "Traceback" not in result.stderr
    assert dump(db) == before


def test_demo__force_adds_a_second_clinic_beside_the_first(registry: Path, tmp_path: Path) -> None:
    db = registry
    first = export(db, tmp_path / "first.jsonl")
    _demo(db, "--patients", "4", "--seed", "1", "--force")
    both = [json.loads(line) for line in export(db, tmp_path / "both.jsonl")]
    assert set(first) <= {json.dumps(r, sort_keys=True, separators=(",", ":")) for r in both}
    numbers = sorted(r["data"]["record_number"] for r in both if r["type"] == "patient")
    assert numbers[:5] == [f"SYN-00000{n}" for n in range(1, 6)]
    assert [n.split("-")[0] for n in numbers[5:]] == ["SYN2"] * 4
    assert len({r["id"] for r in both if r["type"] == "clinic"}) == 2


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--patients", "0"], "--patients"),
        (["--patients", "-3"], "--patients"),
        (["--patients", "1000001"], "--patients"),
        (["--patients", "abc"], "--patients"),
        (["--patients", "2.5"], "--patients"),
        (["--seed", "-1"], "--seed"),
        (["--seed", "one"], "--seed"),
        (["--if-empty", "--patients", "0"], "--patients"),
        (["--if-empty", "--force"], "--force"),
    ],
)
def test_demo__invalid_option_exits_2_naming_it_and_creates_nothing(
    tmp_path: Path, args: list[str], named: str
) -> None:
    db = tmp_path / "registry.db"
    result = bontrack(db, "demo", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert not db.exists()


@pytest.mark.parametrize(
    "args",
    [["--patients", "0"], ["--seed", "-1"], ["--if-empty", "--patients", "0"], ["--if-empty", "--force"]],
)
def test_demo__invalid_option_leaves_a_registry_unchanged(registry: Path, args: list[str]) -> None:
    db = registry
    before = dump(db)
    result = bontrack(db, "demo", *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert dump(db) == before


@pytest.mark.parametrize(
    ("args", "named"), [(["--head", "-1"], "--head"), (["--date", "2026-13-01"], "--date")]
)
def test_summary__invalid_option_exits_2_naming_it(tmp_path: Path, args: list[str], named: str) -> None:
    result = bontrack(tmp_path / "registry.db", "summary", *args)
    assert result.returncode == 2 and named in result.stderr and "Traceback" not in result.stderr


def test_demo__if_empty_builds_once_then_only_summarises(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    first = bontrack(db, "demo", "--if-empty", "--patients", "6", "--seed", "2")
    assert first.returncode == 0, first.stderr
    records = export(db, tmp_path / "first.jsonl")
    again = bontrack(db, "demo", "--if-empty", "--patients", "6", "--seed", "2")
    assert again.returncode == 0, again.stderr
    assert export(db, tmp_path / "again.jsonl") == records
    for shown in (first.stdout, again.stdout):
        assert "Registry summary" in shown and "Worklist on" in shown
        assert re.search(r"patients\W+6\b", shown)


def test_demo__a_failure_part_way_leaves_the_registry_unchanged(
    registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo writes in one transaction: an error at patient 20 of 30 keeps nothing of it."""
    db = registry
    before = dump(db)
    real_write = loader._write
    seen: list[str] = []

    def failing_write(*args: object, **kwargs: object) -> None:
        item = args[2]
        if getattr(item, "kind", "") == "patient":
            seen.append("patient")
            if len(seen) == 20:
                raise InputError.one("patient", "simulated failure part-way through the demo")
        real_write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "_write", failing_write)
    settings = Settings(database_url=f"sqlite:///{db}", actor="test:synth")
    with pytest.raises(typer.Exit) as stopped:
        demo_cli.demo(settings, patients=30, seed=5, force=True)
    assert stopped.value.exit_code == 2
    assert len(seen) == 20
    assert dump(db) == before
