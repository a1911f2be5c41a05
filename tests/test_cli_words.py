"""The command line's messages read as sentences: JSON errors say "at" once, a line that is not an
object says so (not an internal class name), undecodable bytes are "not UTF-8 text", an empty
audit page says "no entries", and `bontrack --help` lists each command in one short sentence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from bontrack.cli import app


def bontrack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bontrack", *args], capture_output=True, text=True, timeout=600, check=False
    )


def test_truncated_json_says_at_once(tmp_path: Path) -> None:
    cut = tmp_path / "trunc.json"
    cut.write_text('{"patient": "abc')
    checked = bontrack("check", str(cut))
    assert checked.returncode == 2
    assert (
        checked.stderr
        == f"error: {cut} is not valid JSON: Unterminated string starting at line 1 column 13\n"
    )
    imported = bontrack("--db", f"sqlite:///{tmp_path / 'r.db'}", "import", str(cut))
    assert imported.returncode == 2
    assert (
        "error line 1: this line is not JSON (Unterminated string starting at column 13)" in imported.stderr
    )
    assert "at at" not in checked.stderr + imported.stderr


@pytest.mark.parametrize(("value", "said"), [([1, 2], "a list"), ("x", "a string"), (3, "a number")])
def test_an_import_line_that_is_not_an_object_says_so(tmp_path: Path, value: object, said: str) -> None:
    source = tmp_path / "arr.jsonl"
    source.write_text(json.dumps(value) + "\n")
    done = bontrack("--db", f"sqlite:///{tmp_path / 'r.db'}", "import", str(source))
    assert done.returncode == 2
    assert f"error line 1: each line must be one JSON object (a record); this line is {said}" in done.stderr
    assert "Line" not in done.stderr.replace("line", "")


@pytest.mark.parametrize("command", [["score", "vas"], ["evidence", "pool", "--csv"]], ids=["score", "pool"])
def test_bytes_that_are_not_utf8_are_named_so(tmp_path: Path, command: list[str]) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\x01\xb1\xff\xfe")
    done = bontrack(*command, str(garbage))
    assert done.returncode == 2
    assert done.stderr == f"error: {garbage} is not UTF-8 text\n"


def test_an_audit_of_a_record_without_entries_says_no_entries(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert bontrack("--db", url, "db", "upgrade").returncode == 0
    done = bontrack("--db", url, "audit", "--record", "nope")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "no entries of record nope\n"


def _commands(group: object, prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for name, command in getattr(group, "commands", {}).items():
        found.append((prefix + name, command.help or ""))
        found += _commands(command, prefix + name + " ")
    return found


def test_each_command_is_listed_in_one_short_sentence() -> None:
    long = [
        name
        for name, text in _commands(typer.main.get_command(app))
        if "\n" in text.split("\n\n")[0].strip() or len(text.split("\n\n")[0]) > 100
    ]
    assert long == []
