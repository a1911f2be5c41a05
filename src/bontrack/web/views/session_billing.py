"""The billing lines page of a saved injection session (issue 17): HCPCS with JW or JZ, the
procedure codes, the NDC and the episode's diagnoses, as `bontrack code` gives them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bontrack.errors import InputError, NotFoundError
from bontrack.injections.billing import session_billing
from bontrack.injections.service import session_of_patient
from bontrack.web.deps import READ_CLINICAL, PageUser, SessionDep
from bontrack.web.views.common import PageProblem, allow, carry_denial, page, patient_for

router = APIRouter(include_in_schema=False)


@router.get("/patients/{patient_id}/sessions/{session_id}/billing", response_class=HTMLResponse)
def billing_page(
    request: Request, patient_id: str, session_id: str, db: SessionDep, principal: PageUser
) -> Response:
    """The session's billing lines, or in words why it cannot be coded."""
    allow(request, principal, READ_CLINICAL)
    patient = patient_for(db, principal, patient_id)
    try:
        session = session_of_patient(
            db=db, actor=principal.actor, session_id=session_id, patient_id=patient.id
        )
    except NotFoundError as exc:
        raise carry_denial(PageProblem(404, "Not found", "There is no such session."), exc) from None
    try:
        lines, problem = session_billing(db=db, actor=principal.actor, session_id=session.id), ""
    except InputError as exc:
        lines, problem = None, "; ".join(e.message for e in exc.errors)
    return page(
        request,
        principal,
        "session_billing.html",
        patient=patient,
        session=session,
        billing=lines,
        problem=problem,
    )
