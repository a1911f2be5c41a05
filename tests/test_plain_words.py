"""The face-neutral part of the plain words (bontrack.plain_words): what the web's form errors and
the import's messages share, without the web's templates."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bontrack.plain_words import given, joined, path_words, wording


@pytest.mark.parametrize(
    ("message", "words", "value"),
    [
        (
            "Input should be a valid boolean, unable to interpret input (got 'maybe')",
            "must be yes or no",
            "'maybe'",
        ),
        ("Input should be greater than or equal to 0 (got -3)", "must be 0 or more", "-3"),
        ("Input should be a valid integer (got True)", "must be a whole number", "true"),
        ("Input should be a valid string (got None)", "was not filled in as expected", "null"),
        ("is required", "is required", None),
        (
            "Input should be a valid datetime or date, input is too short (got 'yesterday')",
            "must be a date and time written YYYY-MM-DDTHH:MM:SS",
            "'yesterday'",
        ),
        ("Input should be a valid date (got 3)", "must be a date written YYYY-MM-DD", "3"),
    ],
)
def test_wording_and_the_value_given(message: str, words: str, value: str | None) -> None:
    assert wording(message) == words
    assert given(message) == value


def test_path_words__the_path_in_words_or_a_known_label() -> None:
    assert path_words("attended") == "Attended"
    assert path_words("sites[1].units") == "Site 2: units"
    assert path_words("sites[1].units", {"sites": "Injection sites"}) == "Injection site 2: units"
    assert path_words("birth_date", {"birth_date": "Date of birth"}) == "Date of birth"
    assert joined("Units", "must be 0 or more") == "Units must be 0 or more"
    assert joined("Medications", "unknown medicine 'zz'") == "Medications: Unknown medicine 'zz'"


def test_imports_nothing_of_bontrack_nor_of_the_web() -> None:
    """So the exchange, the FHIR import and the web can all use it (tests/test_architecture.py)."""
    source = Path(__file__).resolve().parents[1] / "src" / "bontrack" / "plain_words.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in imported if m.startswith(("bontrack", "fastapi", "jinja2", "starlette"))}
