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

from bontrack.plain_words import joined, path_words, wording

__all__ = ["LABELS", "form_labels", "label", "sentence", "template_labels", "wording"]

_TEMPLATES = Path(__file__).parent / "templates"
_MACRO = re.compile(r"""\b(?:input|select|textarea)\(\s*(["'])([\w.\[\]]+)\1\s*,\s*(["'])(.*?)\3""")
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
    return path_words(field, {**template_labels(), **LABELS, **(labels or {})})


# fields whose message is a whole sentence of its own: the document's, and "version" (a change
# refused because someone saved another version since the form was opened: bontrack.records.stale)
_WHOLE = ("", "(document)", "(body)", "version")


def sentence(field: str, message: str, labels: Mapping[str, str] | None = None) -> str:
    """One error as a sentence that names the field by its label: "Units must be 0 or more."."""
    words = wording(message)
    name = label(field, labels)
    if field in _WHOLE:
        return f"{words[:1].upper()}{words[1:]}."
    return f"{joined(name, words)}."
