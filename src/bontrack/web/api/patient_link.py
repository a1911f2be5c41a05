"""What a patient reaches through their one-time link (no log-in: the link is the credential).

A patient's app shows what these answer, so every refusal is in plain words
(bontrack.web.patient_words): a link cut short or unknown is 404 "This link is incomplete or
wrong; ask the clinic for a new one.", never a rule about the token's length.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy.orm import Session

from bontrack.auth.links import LinkGone, LinkSubmission, PatientLinkRead, open_link, submit_through_link
from bontrack.errors import InputError, NotFoundError
from bontrack.instruments.definitions import load_definition
from bontrack.outcomes.schemas import OutcomeRead
from bontrack.patients.service import get_clinic
from bontrack.web.api.common import ERRORS
from bontrack.web.api.schemas import PatientLinkForm, PatientLinkView
from bontrack.web.deps import NowDep, SessionDep
from bontrack.web.patient_words import WRONG_LINK, gone, told
from bontrack.web.problems import FieldProblem, Problem, ProblemError

router = APIRouter(
    prefix="/api/patient-link",
    tags=["patient link"],
    responses={
        **ERRORS,
        410: {"model": Problem, "description": "the link was used, has expired or was revoked"},
    },
)
# checked here, not by FastAPI, so that a link cut short reads as any unknown link
LinkToken = Annotated[str, Path(description="the link's secret: 20 to 100 of A-Z, a-z, 0-9, _ and -")]
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")


def _wrong_link() -> ProblemError:
    said = [FieldProblem(field="token", message=WRONG_LINK, text=WRONG_LINK)]
    return ProblemError(404, "Link not found", WRONG_LINK, errors=said)


def _gone(exc: LinkGone) -> ProblemError:
    return ProblemError(410, "Link no longer valid", gone(exc))


def _opened(db: Session, token: str, at: datetime) -> PatientLinkRead:
    if TOKEN.fullmatch(token) is None:
        raise _wrong_link()
    try:
        return open_link(db=db, secret=token, now=at)
    except NotFoundError:
        raise _wrong_link() from None
    except LinkGone as exc:
        raise _gone(exc) from None


@router.get("/{token}", response_model=PatientLinkView)
def open_patient_link(token: LinkToken, db: SessionDep, at: NowDep) -> PatientLinkView:
    """The clinic that asks, the forms the link asks for with their titles, whether they were sent
    and until when the link works (nothing else: no ids, scoring or staff names)."""
    link = _opened(db, token, at)
    clinic = get_clinic(db=db, actor=link.actor, clinic_id=link.clinic_id)  # read as the link, audited
    return PatientLinkView(
        clinic=clinic.data.name,
        instruments=link.instruments,
        forms=[PatientLinkForm(instrument=i, title=load_definition(i).name) for i in link.instruments],
        submitted=link.used_at is not None,
        expires_at=link.expires_at,
    )


@router.post("/{token}/outcomes", status_code=201, response_model=list[OutcomeRead])
def submit_patient_forms(
    token: LinkToken, submission: LinkSubmission, db: SessionDep, at: NowDep
) -> list[OutcomeRead]:
    """Submit the filled-in forms; the link is then used up. A refusal (400) says in ``detail``,
    and for each form or question in ``errors[].text``, what the patient should do."""
    _opened(db, token, at)
    try:
        return submit_through_link(db=db, secret=token, submission=submission, now=at)
    except LinkGone as exc:
        raise _gone(exc) from None
    except InputError as exc:
        said = told(exc, [f.instrument for f in submission.forms])
        errors = [FieldProblem(field=s.field, message=s.text, text=s.text) for s in said]
        raise ProblemError(400, "Answers not sent", " ".join(s.text for s in said), errors=errors) from None
