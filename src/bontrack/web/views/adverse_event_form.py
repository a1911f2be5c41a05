"""The adverse-event form: what a patient reported after an injection session.

The event is free text; the label's known reactions (knowledge base) are offered as suggestions.
Its status and its relation to the injection are chosen by their words (``injections.ae_terms``);
a blank choice posts nothing: not recorded yet.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from bontrack.injections import ae_terms
from bontrack.injections.schemas import AdverseEventCreate, Severity
from bontrack.injections.service import report_adverse_event
from bontrack.knowledge import load_knowledge
from bontrack.patients.schemas import PatientRead
from bontrack.schemas import parse
from bontrack.web.deps import WRITE_ADVERSE_EVENTS, NowDep, PageUser, SessionDep
from bontrack.web.forms import nest
from bontrack.web.views.common import FormItems, allow, patient_for
from bontrack.web.views.form_pages import FormSpec, form_context, post_form, show_form

router = APIRouter(include_in_schema=False)
ADVERSE_EVENT = FormSpec(kind="adverse_event", roles=WRITE_ADVERSE_EVENTS, template="adverse_event_form.html")


def adverse_event_extra() -> dict[str, Any]:
    """Severities, statuses and relatedness in words (injections.ae_terms), and the label's known
    reactions as suggestions (term, which labels list it)."""
    kb = load_knowledge()
    known: dict[str, list[str]] = {}
    for product_id, reactions in kb.files.label_adverse_reactions.items():
        for term in reactions.percent:
            known.setdefault(term, []).append(f"{kb.product(product_id).name} label ({reactions.indication})")
    return {
        "severities": [(s, s) for s in get_args(Severity)],
        "statuses": ae_terms.choices("status"),
        "relatedness": ae_terms.choices("relatedness"),
        "known_events": sorted((term, "; ".join(where)) for term, where in known.items()),
    }


def adverse_event_doc(fields: list[tuple[str, str]], patient: PatientRead) -> dict[str, Any]:
    doc = nest((k, v) for k, v in fields if k != "serious")
    doc["serious"] = dict(fields).get("serious") == "yes"
    return doc | {"patient_id": patient.id}


@router.get("/patients/{patient_id}/adverse-events/new", response_class=HTMLResponse)
def new_adverse_event(
    request: Request,
    patient_id: str,
    db: SessionDep,
    principal: PageUser,
    at: NowDep,
    session: Annotated[str | None, Query(max_length=36)] = None,
) -> Response:
    allow(request, principal, ADVERSE_EVENT.roles)
    patient = patient_for(db, principal, patient_id)
    sessions = [sid for sid, _label in form_context(db, principal, patient)["sessions"]]
    chosen = session if session in sessions else (sessions[0] if sessions else "")
    values = {"session_id": chosen, "reported_date": at.date().isoformat()}
    return show_form(request, db, principal, patient, ADVERSE_EVENT, values, **adverse_event_extra())


@router.post("/patients/{patient_id}/adverse-events/new", response_class=HTMLResponse)
def post_adverse_event(
    request: Request, patient_id: str, db: SessionDep, principal: PageUser, items: FormItems
) -> Response:
    def write(doc: dict[str, Any]) -> object:
        return report_adverse_event(db=db, actor=principal.actor, data=parse(AdverseEventCreate, doc))

    return post_form(
        request,
        db,
        principal,
        patient_id,
        items,
        ADVERSE_EVENT,
        adverse_event_doc,
        write,
        **adverse_event_extra(),
    )
