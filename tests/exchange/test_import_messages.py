"""What a refused import says: a huge value is quoted cut short, errors that only follow from a
refused line are summed up once on that line, and a file most of whose lines have fields or
record types this bontrack does not know is said to come perhaps from another version."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    assert errors[0].startswith("line 1: Record type must be one of: clinic, clinician, ")
    assert errors[0].endswith("; 'clinic_v2' was given")
    follow = len(lines) - 1
    assert errors[1:] == [
        f"line 1: {follow} more lines refer to this line's record and are not listed; fix this line first"
    ]


def test_an_unknown_field_on_the_clinic_line_sums_up_the_rest(tmp_path: Path, lines: list[str]) -> None:
    first = json.loads(lines[0])
    errors = _refused(tmp_path, [json.dumps(first | {"extra": 1}), *lines[1:3]])
    assert errors[0].startswith(
        "line 1, clinic: Extra is not a field of an exported line; allowed: type, id, "
    )
    (summary,) = errors[1:]
    assert summary.startswith("line 1, clinic: 2 more lines refer to this line's record")


def test_a_file_of_another_version_is_said_to_be_one(tmp_path: Path, lines: list[str]) -> None:
    newer = [json.dumps(json.loads(line) | {"schema_version": 99}) for line in lines]
    errors = _refused(tmp_path, newer)
    assert errors[-1] == (
        f"the file: {len(lines)} of {len(lines)} lines have fields or record types this bontrack does "
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
    said = f"line 1, clinic: Name must be at most 2000 characters long; '{'x' * 39}…' was given"
    assert said in done.stderr


def _one(
    tmp_path: Path, lines: list[str], index: int, change: Callable[[dict[str, Any]], object]
) -> list[str]:
    """The errors of ``lines`` with line ``index`` changed (its record in place)."""
    record = json.loads(lines[index])
    change(record)
    return _refused(tmp_path, [*lines[:index], json.dumps(record), *lines[index + 1 :]])


def _index(lines: list[str], type_name: str) -> int:
    return next(n for n, line in enumerate(lines) if json.loads(line)["type"] == type_name)


@pytest.mark.parametrize(
    ("type_name", "change", "said"),
    [
        (
            "injection_session",
            lambda r: r.__setitem__("withdrawn", "maybe"),
            "injection session: Withdrawn must be yes or no (true or false); 'maybe' was given",
        ),
        (
            "patient",
            lambda r: r["data"].__setitem__("sex", 3),
            "patient: Sex must be one of: female, male, other or unknown; 3 was given",
        ),
        (
            "patient",
            lambda r: r["data"].__setitem__("birth_date", "1970-02-30"),
            "patient: Birth date: 1970-02-30 is not a date; use YYYY-MM-DD",
        ),
        ("patient", lambda r: r.pop("id"), "patient: Id is required"),
        (
            "patient",
            lambda r: r.__setitem__("version", "1"),
            "patient: Version must be a whole number; '1' was given",
        ),
        (
            "episode",
            lambda r: r["data"].__setitem__("conservative_care_weeks", -3),
            "episode: Conservative care weeks must be 0 or more; -3 was given",
        ),
        (
            "episode",
            lambda r: r["data"].__setitem__("patient_id", "nobody"),
            "episode: Patient id names no patient 'nobody' in the file or the registry",
        ),
        (
            "patient",
            lambda r: r["data"].__setitem__("shoe_size", 3),
            "patient: Shoe size is not a field of a patient; allowed: record number, name, birth date, ",
        ),
        (
            "patient",
            lambda r: r.__setitem__("recorded_at", "yesterday"),
            "patient: Recorded at must be a date and time written YYYY-MM-DDTHH:MM:SS; 'yesterday' was given",
        ),
        ("episode", lambda r: r.__setitem__("data", [1]), "episode: Data must be a JSON object ({...})"),
        (
            "patient",
            lambda r: r["data"].__setitem__("name", "Te\x00st"),
            "patient: Name must not contain an invisible control character (found U+0000 at character 3)",
        ),
    ],
)
def test_a_bad_value_is_said_in_plain_words(
    tmp_path: Path, lines: list[str], type_name: str, change: Callable[[dict[str, Any]], object], said: str
) -> None:
    """The line, its record type and field in words, what is allowed and what was given; no
    field path and none of pydantic's wording (the words of bontrack.plain_words, as the web's)."""
    index = _index(lines, type_name)
    first, *_ = _one(tmp_path, lines, index, change)
    assert first.startswith(f"line {index + 1}, {said}"), first
    for raw in ("Input should", "data.", "(got ", "Field required", "_id", "valid boolean"):
        assert raw not in first, raw


def test_a_long_value_given_is_cut_short_and_its_quote_closed(tmp_path: Path, lines: list[str]) -> None:
    index = _index(lines, "patient")
    first, *_ = _one(tmp_path, lines, index, lambda r: r["data"].__setitem__("name", "y" * 2_000 + "z"))
    assert first == (
        f"line {index + 1}, patient: Name must be at most 2000 characters long; '{'y' * 39}…' was given"
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            '{"type": "clinic", "id',
            "line 1: this line is not JSON (Unterminated string starting at column 20)",
        ),
        ("[1, 2]", "line 1: each line must be one JSON object (a record); this line is a list"),
    ],
)
def test_a_line_that_is_no_record_says_so_without_a_field(tmp_path: Path, text: str, said: str) -> None:
    assert _refused(tmp_path, [text])[0] == said
