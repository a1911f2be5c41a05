"""Errors in plain words: a field's label and what is allowed, in a sentence.

The services and ``bontrack.schemas.parse`` name a bad field by its path in the schema
(``sites[0].units``) with pydantic's or our own wording ("Input should be greater than or equal
to 0 (got '-3')"). That is right for the API and the command line; a person reading a page gets
the sentence this module makes of it instead ("Units must be 0 or more."). Every page's form
errors go through :func:`sentence` (``bontrack.web.forms.field_errors``).

The labels are the ones the forms show: read from the templates' field macros, so a label is
written once; a field no template names gets its path in words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

_TEMPLATES = Path(__file__).parent / "templates"
_MACRO = re.compile(r"""\b(?:input|select|textarea)\(\s*(["'])([\w.\[\]]+)\1\s*,\s*(["'])(.*?)\3""")
_INDEX = re.compile(r"\[(\d+)\]")
_TOKEN = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")
# fields whose label is not a template's, or reads better shortened
LABELS = {
    "sites": "Injection sites",
    "units": "Units",
    "muscle": "Muscle",
    "side": "Side",
    "answers": "The answers",
    "instruments": "Questionnaires",
    "diagnosis": "Diagnosis",
    "diagnosis_codes": "Diagnosis",
    "conservative_care": "Conservative care",
    "serious": "Serious",
    "sex": "Sex",
    "instrument": "Questionnaire",
    "patient_id": "Patient",
    "reason": "Reason",
    "override.acknowledged": "Blocks you override",
    # the own-password form (bontrack.auth.own_password words the rest)
    "current_password": "The current password",
    "new_password": "The new password",
    "new_password_again": "The two new passwords",
}
_HINT = re.compile(r"\s*\((?:[^)]* [^)]*|optional)\)\s*$")  # "(one a line)", "(optional)"
_GOT = re.compile(r"\s*\(got .*\)\s*$", re.DOTALL)
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
_VERBS = ("must ", "is ", "are ", "was ", "needs ", "can ", "cannot ", "has ", "should ", "may ", "differ")


@cache
def template_labels() -> dict[str, str]:
    """Field path -> the label its form shows, from the templates' input/select/textarea macros
    (where forms label one field differently, the first template's: ``form_labels`` has one's)."""
    labels: dict[str, str] = {}
    for template in sorted(_TEMPLATES.glob("*.html")):
        for path, words in form_labels(template.name).items():
            labels.setdefault(path, words)
    return labels


@cache
def form_labels(template: str) -> dict[str, str]:
    """Field path -> label of one form (``session_form.html``: date is "Session date")."""
    text = (_TEMPLATES / template).read_text(encoding="utf-8")
    # a hint in brackets ("(one a line)") stays on the form; a unit ("(mL)") stays here
    return {found[2]: _HINT.sub("", found[4]).rstrip(" :") for found in _MACRO.finditer(text)}


def label(field: str, labels: Mapping[str, str] | None = None) -> str:
    """The words for a field path: the form's label, else the path in words
    (``sites[1].units`` -> "Injection site 2: units")."""
    known = {**template_labels(), **LABELS, **(labels or {})}
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


# fields whose message is a whole sentence of its own: the document's, and "version" (a change
# refused because someone saved another version since the form was opened: bontrack.records.stale)
_WHOLE = ("", "(document)", "(body)", "version")


def sentence(field: str, message: str, labels: Mapping[str, str] | None = None) -> str:
    """One error as a sentence that names the field by its label: "Units must be 0 or more."."""
    words = wording(message)
    name = label(field, labels)
    if field in _WHOLE:
        return f"{words[:1].upper()}{words[1:]}."
    if words.startswith(_VERBS):
        return f"{name} {words}."
    return f"{name}: {words[:1].upper()}{words[1:]}."
