"""Errors in plain words, for every face: pydantic's or a service's message as what a field must
be ("Input should be greater than or equal to 0" -> "must be 0 or more"), a field's path as words
(``sites[1].units`` -> "Site 2: units"), and the value given, as the message quoted it.

The web names fields by its forms' labels (``bontrack.web.plain``); the import of an export names
them by their path in words (``bontrack.exchange.import_words``). This module imports nothing of
bontrack, so every layer can use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_INDEX = re.compile(r"\[(\d+)\]")
_TOKEN = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")
_GOT = re.compile(r"\s*\(got (.*)\)\s*$", re.DOTALL)
_NUMBER = r"(-?[\d.]+(?:e[+-]?\d+)?)"
# pydantic's wording (after our "(got ...)" is dropped) -> what the field must be
_RULES: list[tuple[re.Pattern[str], str]] = [
    # an instrument's answer (bontrack.instruments.answers): the label already says which question
    (re.compile(r"^\S+ item \d+ \([^)]*\) (must .*?|is given twice)(?:[,;] got .*)?$", re.DOTALL), r"\1"),
    (re.compile(r"^Value error, (.*)$", re.DOTALL), r"\1"),
    # a coded field's refusal (injections.ae_terms.refused): the words, not the codes
    (re.compile(r"^must be one of the words: (.*?); as codes: .*$", re.DOTALL), r"must be one of: \1"),
    (re.compile(r"^Assertion failed, (.*)$", re.DOTALL), r"\1"),
    (re.compile(r"^Field required$"), "is required"),
    (re.compile(rf"^Input should be greater than or equal to {_NUMBER}$"), r"must be \1 or more"),
    (re.compile(rf"^Input should be less than or equal to {_NUMBER}$"), r"must be \1 or less"),
    (re.compile(rf"^Input should be greater than {_NUMBER}$"), r"must be more than \1"),
    (re.compile(rf"^Input should be less than {_NUMBER}$"), r"must be less than \1"),
    (re.compile(r"^Input should be a valid integer.*$"), "must be a whole number"),
    (re.compile(r"^Input should be a valid (number|decimal).*$"), "must be a number"),
    (re.compile(r"^Input should be a finite number$"), "must be a number"),
    (re.compile(r"^Input should be a valid boolean.*$"), "must be yes or no"),
    (
        re.compile(r"^Input should be a valid datetime.*$"),
        "must be a date and time written YYYY-MM-DDTHH:MM:SS",
    ),
    (re.compile(r"^Input should be a valid date\b.*$"), "must be a date written YYYY-MM-DD"),
    (
        re.compile(r"^Input should be a valid (string|list|dictionary|array).*$"),
        "was not filled in as expected",
    ),
    (re.compile(r"^String should have at least 1 character$"), "must not be empty"),
    (re.compile(r"^String should have at least (\d+) characters$"), r"must be at least \1 characters long"),
    (re.compile(r"^String should have at most (\d+) characters?$"), r"must be at most \1 characters long"),
    (re.compile(r"^String should match pattern .*$"), "is not written in the expected form"),
    (
        re.compile(r"^(?:List|Dictionary|Set|Tuple) should have at least 1 item after validation.*$"),
        "must have at least one entry",
    ),
    (
        re.compile(r"^(?:List|Dictionary|Set|Tuple) should have at least (\d+) items after validation.*$"),
        r"must have at least \1 entries",
    ),
    (
        re.compile(r"^(?:List|Dictionary|Set|Tuple) should have at most (\d+) items? after validation.*$"),
        r"can have at most \1 entries",
    ),
    (re.compile(r"^Extra inputs are not permitted$"), "is not a field of this form"),
    (re.compile(r"^is not a known field.*$"), "is not a field of this form"),
    (re.compile(r"^Input should be (.*)$", re.DOTALL), r"must be \1"),
]
_CHOICES = re.compile(r"^must be ('[^']*'(?:, '[^']*')*(?: or '[^']*')?)$")
_RANGE = re.compile(r"\b(?:a whole number, )?one of (\d+)-(\d+)\b")  # (said once, not twice)
VERBS = ("must ", "is ", "are ", "was ", "needs ", "can ", "cannot ", "has ", "should ", "may ", "differ")


def path_words(field: str, known: Mapping[str, str] | None = None) -> str:
    """The words for a field path: its label in ``known``, else the path in words
    (``sites[1].units`` -> "Site 2: units"; with "sites" known as "Injection sites",
    "Injection site 2: units")."""
    known = known or {}
    if field in known:
        return known[field]
    plain = _INDEX.sub("", field)
    if plain in known and not _INDEX.search(field):
        return known[plain]
    words: list[str] = []
    for index, key in _TOKEN.findall(field):
        if index:  # a row of a list: "Injection site 2"
            if words:
                words[-1] = f"{_singular(words[-1])} {int(index) + 1}"
            continue
        if key.isdigit() and words and words[-1] in ("The answers", "answers"):
            words[-1] = f"Question {key}"  # an instrument's item, keyed by its number
            continue
        name = known.get(key) or key.replace("_", " ")
        words.append(name if not words or name[1:2].isupper() else name[:1].lower() + name[1:])
    if not words:
        return "This form"
    text = ": ".join(words)
    return text[:1].upper() + text[1:]


def _singular(words: str) -> str:
    """A list's label as one of its rows: "Allergies" -> "Allergy", "Injection sites" ->
    "Injection site"; "Diagnosis" stays."""
    if words.endswith("ies"):
        return words[:-3] + "y"
    if words.endswith(("ss", "sis", "us")):
        return words
    return words.removesuffix("s")


def wording(message: str) -> str:
    """A service's or pydantic's message as words that follow a label ("must be 0 or more")."""
    text = _GOT.sub("", message.strip())
    for pattern, replacement in _RULES:
        if pattern.match(text):
            text = pattern.sub(replacement, text)
            break
    choices = _CHOICES.match(text)
    if choices:  # pydantic's "'female', 'male' or 'other'": the words without their quotes
        text = f"must be one of: {choices[1].replace(chr(39), '')}"
    text = _RANGE.sub(r"a whole number from \1 to \2", text)
    return text.strip().rstrip(".")


def given(message: str) -> str | None:
    """The value a message quotes as given (``bontrack.errors``: "(got 'maybe')", already cut
    short), as JSON writes it (true, false, null); None when it quotes none."""
    found = _GOT.search(message.strip())
    if found is None:
        return None
    value = found[1]
    return {"True": "true", "False": "false", "None": "null"}.get(value, value)


def joined(name: str, words: str) -> str:
    """A field's name and what it must be, as one clause: "Units must be 0 or more";
    "Medications: Unknown medicine 'zz'" when the words are a sentence of their own."""
    if words.startswith(VERBS):
        return f"{name} {words}"
    return f"{name}: {words[:1].upper()}{words[1:]}"
