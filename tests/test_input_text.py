"""Every text field of every input schema refuses control characters (R5): one shared check
(``bontrack.schemas.NoControls``), so a NUL, a BEL or an escape sequence never reaches a stored
record, whichever face it came through; stored text read back is shown as it is."""

from __future__ import annotations

import importlib
import pkgutil
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import bontrack
from bontrack.errors import field_errors
from bontrack.patients.schemas import PatientCreate
from bontrack.schemas import Input, parse
from bontrack.web.plain import sentence

# computed by the program, never typed by anyone
COMPUTED = {
    ("SessionRecord", "knowledge_version"),
    ("OutcomeScores", "band"),
    ("OutcomeScores", "reason"),
    ("OutcomeScores", "scorer_version"),
    ("OutcomeScores", "scores"),
}
# a password is whatever the person chose (checked for strength, never echoed)
SECRET = {
    ("UserCreate", "password"),
    ("PasswordSet", "password"),
    ("PasswordChange", "current_password"),
    ("PasswordChange", "new_password"),
    ("PasswordChange", "new_password_again"),
    ("SessionRenew", "password"),  # the page's own log-in dialog (bontrack.web.session_keep)
}


def _input_schemas() -> list[type[BaseModel]]:
    for found in pkgutil.walk_packages(bontrack.__path__, "bontrack."):
        if ".migrations" not in found.name:
            importlib.import_module(found.name)
    seen: dict[str, type[BaseModel]] = {}
    todo: list[type[BaseModel]] = [Input]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if "[" not in sub.__name__:  # a generic's parametrisation: its origin is checked
                seen.setdefault(f"{sub.__module__}.{sub.__qualname__}", sub)
            todo.append(sub)
    return [seen[name] for name in sorted(seen)]


def _has_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    return any(_has_text(arg) for arg in typing.get_args(annotation))


def _probes(annotation: Any) -> Iterator[Any]:
    """Values of the field's shape that carry a control character where text goes."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is str:
        yield "ab\x00c"
        yield "ab\x07"
    elif origin is list:
        for inner in _probes(args[0]):
            yield [inner]
    elif origin is dict:
        if _has_text(args[0]):
            yield {"1\x00": 1}
        if _has_text(args[1]):
            yield {"1": "x\x1b[2J"}
    elif origin is typing.Annotated:
        yield from _probes(args[0])
    else:  # a union: its text member
        for arg in args:
            if _has_text(arg):
                yield from _probes(arg)
                return


def _text_fields() -> list[tuple[type[BaseModel], str, Any]]:
    out = []
    for cls in _input_schemas():
        for name, info in cls.model_fields.items():
            key = (cls.__name__, name)
            if key in COMPUTED or key in SECRET or not _has_text(info.annotation):
                continue
            for probe in _probes(info.rebuild_annotation()):
                out.append((cls, name, probe))
    return out


TEXT_FIELDS = _text_fields()


def test_every_input_schema_text_field_is_found() -> None:
    names = {(cls.__name__, field) for cls, field, _ in TEXT_FIELDS}
    for expected in [
        ("PatientCreate", "name"),
        ("PatientCreate", "record_number"),
        ("SessionCreate", "lot"),
        ("Override", "reason"),
        ("TherapyVisitCreate", "notes"),
        ("OutcomeCreate", "answers"),
        ("WorklistActionCreate", "note"),
        ("Correction", "reason"),
        ("Withdrawal", "reason"),
    ]:
        assert expected in names, expected
    assert len(names) > 60


@pytest.mark.parametrize(
    ("schema", "field", "probe"),
    TEXT_FIELDS,
    ids=[f"{c.__name__}.{f}-{i}" for i, (c, f, _) in enumerate(TEXT_FIELDS)],
)
def test_input_text__a_control_character_is_refused_naming_the_field(
    schema: type[BaseModel], field: str, probe: Any
) -> None:
    with pytest.raises(ValidationError) as caught:
        schema.model_validate({field: probe})
    at_field = [e for e in caught.value.errors() if e["loc"] and e["loc"][0] == field]
    assert at_field, f"{schema.__name__}.{field} took {probe!r}"


def test_control_characters__message_names_the_field_and_what_is_allowed() -> None:
    data = {"record_number": "P-9", "name": "Bad\x00Name\x07", "birth_date": "1970-06-15", "sex": "female"}
    with pytest.raises(ValueError) as caught:
        parse(PatientCreate, data)
    (error,) = caught.value.errors  # type: ignore[attr-defined]
    assert error.field == "name"
    assert "control character (found U+0000 at character 4)" in error.message
    assert "tabs and line breaks" in error.message
    said = sentence(error.field, error.message)
    assert said.startswith("Name must not contain an invisible control character"), said
    assert "\x00" not in said and "(got" not in said


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f", "\x0b", "\x0c", "\r"])
def test_control_characters__each_refused(character: str) -> None:
    with pytest.raises(ValidationError):
        PatientCreate.model_validate(
            {"record_number": "P-1", "name": f"A{character}B", "birth_date": "1970-06-15", "sex": "female"}
        )


def test_control_characters__tab_line_breaks_and_right_to_left_text_are_kept() -> None:
    from bontrack.therapy.schemas import TherapyVisitCreate

    base = {"patient_id": "p", "plan_id": "q", "date": "2026-03-01", "therapist_id": "t"}
    notes = "first\tcolumn\r\nsecond line\n\u202bعربي\u202c \u202e"
    visit = TherapyVisitCreate.model_validate(base | {"notes": notes})
    assert visit.notes == "first\tcolumn\nsecond line\n\u202bعربي\u202c \u202e"  # CR LF as LF


def test_control_characters__stored_text_is_read_back_as_it_is() -> None:
    data = {"record_number": "P-\x00", "name": "A\x07B", "birth_date": "1970-06-15", "sex": "female"}
    read = PatientCreate.model_validate(data, context={"stored": True})
    assert read.name == "A\x07B"


def test_control_characters__api_wording_quotes_the_value_escaped() -> None:
    with pytest.raises(ValidationError) as caught:
        PatientCreate.model_validate(
            {"record_number": "P-1", "name": "A\x00", "birth_date": "1970-06-15", "sex": "female"}
        )
    (error,) = field_errors(caught.value)
    assert "\x00" not in error.message and "\\x00" in error.message
