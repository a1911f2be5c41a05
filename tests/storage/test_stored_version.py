"""``stored_version``: Stored.model_construct set directly for a version given all its fields
(bontrack.storage.versioned). Its result must be model_construct's in every respect pydantic
keeps, or a pydantic upgrade that changes what a model holds would go unnoticed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bontrack.patients.schemas import EpisodeCreate
from bontrack.storage.versioned import Stored, stored_version

FIELDS: dict[str, Any] = {
    "id": "e-1",
    "version": 2,
    "clinic_id": "c-1",
    "withdrawn": False,
    "recorded_at": dt.datetime(2025, 3, 4, 5, 6, 7, 890),
    "recorded_by": "dr-1",
    "reason": None,
    "data": EpisodeCreate.model_construct(patient_id="p-1"),
}
_KEPT = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")


def _state(model: Any) -> dict[str, Any]:
    return {name: getattr(model, name) for name in _KEPT}


def test_a_stored_version_is_what_model_construct_makes() -> None:
    lean, constructed = stored_version(**FIELDS), Stored.model_construct(**FIELDS)
    assert type(lean) is type(constructed) is Stored
    assert _state(lean) == _state(constructed)
    assert lean == constructed and lean.model_dump() == constructed.model_dump()
    assert lean.model_dump_json() == constructed.model_dump_json()
    assert lean.model_fields_set == set(Stored.model_fields)
    with pytest.raises(Exception, match="frozen"):
        lean.version = 3  # type: ignore[misc]


def test_the_fields_given_are_not_shared_with_the_version() -> None:
    given = dict(FIELDS)
    version = stored_version(**given)
    given["version"] = 9
    assert version.version == 2


@pytest.mark.parametrize(
    "fields", [{k: v for k, v in FIELDS.items() if k != "reason"}, {**FIELDS, "extra": 1}]
)
def test_other_fields_go_through_model_construct(fields: dict[str, Any]) -> None:
    assert _state(stored_version(**fields)) == _state(Stored.model_construct(**fields))
