"""What a refused import says: a huge value is quoted cut short, errors that only follow from a
refused line are summed up once on that line, and a file most of whose lines have fields or
record types this bontrack does not know is said to come perhaps from another version."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bontrack.errors import InputError
from bontrack.exchange.jsonl import export_lines, import_lines
from bontrack.storage.engine import SCHEMA_HEAD, open_engine, transaction
from factories import ACTOR, clinic_world, saved_session


@pytest.fixture
def lines(engine: Engine) -> list[str]:
    with transaction(engine) as db:
        world = clinic_world(db)
        saved_session(db, world)
    with transaction(engine) as db:
        exported = export_lines(db=db, actor=ACTOR)
    assert json.loads(exported[0])["type"] == "clinic" and len(exported) > 3
    return exported


def _refused(tmp_path: Path, lines: list[str]) -> list[str]:
    target = open_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    with pytest.raises(InputError) as info, transaction(target) as db:
        import_lines(db=db, actor=ACTOR, lines=lines)
    return [f"{e.field}: {e.message}" for e in info.value.errors]


def test_lines_that_refer_to_a_refused_clinic_are_summed_up_once(tmp_path: Path, lines: list[str]) -> None:
    first = json.loads(lines[0])
    errors = _refused(tmp_path, [json.dumps(first | {"type": "clinic_v2"}), *lines[1:]])
    assert errors[0].startswith("line 1: type: Input should be 'clinic'")
    follow = len(lines) - 1
    assert errors[1:] == [
        f"line 1: {follow} more lines refer to this line's record and are not listed; fix this line first"
    ]


def test_an_unknown_field_on_the_clinic_line_sums_up_the_rest(tmp_path: Path, lines: list[str]) -> None:
    first = json.loads(lines[0])
    errors = _refused(tmp_path, [json.dumps(first | {"extra": 1}), *lines[1:3]])
    assert errors[0].startswith("line 1: extra: is not a known field")
    (summary,) = errors[1:]
    assert summary.startswith("line 1: 2 more lines refer to this line's record")


def test_a_file_of_another_version_is_said_to_be_one(tmp_path: Path, lines: list[str]) -> None:
    newer = [json.dumps(json.loads(line) | {"schema_version": 99}) for line in lines]
    errors = _refused(tmp_path, newer)
    assert errors[-1] == (
        f"(file): {len(lines)} of {len(lines)} lines have fields or record types this bontrack does "
        "not know: the file may come from another version of bontrack (this one writes and reads "
        f"the export of schema {SCHEMA_HEAD})"
    )
    one_bad = _refused(tmp_path, [newer[0], *lines[1:]])
    assert not any("another version" in e for e in one_bad)


def test_a_huge_value_is_quoted_cut_short(tmp_path: Path, lines: list[str]) -> None:
    first = json.loads(lines[0])
    first["data"]["name"] = "x" * 1_000_000
    source = tmp_path / "huge.jsonl"
    source.write_text(json.dumps(first) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "bontrack", "--db", f"sqlite:///{tmp_path / 'cli.db'}", "import", str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 2
    assert len(done.stderr) < 400, done.stderr[:400]
    assert f"line 1: data.name: String should have at most 2000 characters (got '{'x' * 63}…)" in done.stderr
