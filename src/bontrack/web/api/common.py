"""Helpers the API routers share."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Path, Response
from sqlalchemy.orm import Session

from bontrack.errors import InputError
from bontrack.patients.schemas import PatientRead
from bontrack.patients.service import get_patient
from bontrack.records import Stored
from bontrack.web.deps import Principal, current_user
from bontrack.web.problems import Problem

# ids are UUIDs; anything else is turned away before it reaches the database
RecordId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
AUTHENTICATED: list[Any] = [Depends(current_user)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 422)
}


def patient_in_scope(
    db: Session, principal: Principal, patient_id: str, field: str = "patient_id"
) -> PatientRead:
    """The patient a request names, if the user may see their clinic (else 404)."""
    patient = get_patient(db=db, actor=principal.actor, patient_id=patient_id, field=field)
    return patient


# ---- optimistic concurrency: a record's version as its ETag, If-Match on a change -------------

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='the version the change is made from, as the ETag a read returned ("3"; W/"3" '
        "is taken alike); another version is current: 409, nothing saved. Optional (as the "
        "body's ``version``): without either the change is made to whatever version is current.",
    ),
]


def etag(version: int) -> str:
    """A record version's ETag: the version number, quoted (``"3"``)."""
    return f'"{version}"'


S = TypeVar("S", bound=Stored[Any])


def tagged(response: Response, read: S) -> S:
    """``read`` handed back, its version set as the response's ETag."""
    response.headers["ETag"] = etag(read.version)
    return read


def expected_version(if_match: str | None, body_version: int | None) -> int | None:
    """The version a correction or withdrawal is made from: If-Match's ETag and/or the body's
    ``version`` (both given: they must agree); None when neither is (``*`` checks no version)."""
    from_header: int | None = None
    if if_match is not None and if_match.strip() != "*":
        tag = if_match.strip().removeprefix("W/").strip('"')
        if not tag.isdigit() or int(tag) < 1:
            raise InputError.one(
                "If-Match", f'must be one version as the record\'s ETag, e.g. "3" (got {if_match!r:.40})'
            )
        from_header = int(tag)
    if from_header is not None and body_version is not None and from_header != body_version:
        raise InputError.one("version", f"is {body_version} but If-Match names version {from_header}")
    return from_header if from_header is not None else body_version
