"""What a patient fills in through a one-time link (no log-in: the link is the credential), and
the page on which staff issue such a link from the chart."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from bontrack.auth.links import (
    LinkGone,
    LinkSubmission,
    PatientLinkCreate,
    PatientLinkRead,
    issue_link,
    open_link,
    submit_through_link,
)
from bontrack.errors import NotFoundError
from bontrack.injections.service import sessions_of_patient
from bontrack.instruments import INSTRUMENT_IDS
from bontrack.instruments.definitions import load_definition
from bontrack.knowledge import load_knowledge
from bontrack.patients.service import episodes_of_patient, get_clinic
from bontrack.scheduling.visits import follow_up
from bontrack.schemas import parse
from bontrack.web.deps import ISSUE_LINKS, NowDep, PageUser, SessionDep, SettingsDep
from bontrack.web.display import session_words
from bontrack.web.forms import answer_codes, nest
from bontrack.web.views.common import (
    FormItems,
    PageProblem,
    allow,
    check_csrf,
    csrf_of,
    page,
    patient_for,
    save,
)

router = APIRouter(include_in_schema=False)
# The token in the address is checked here, not by FastAPI: a patient with a link cut short or
# mistyped reads what every unusable link says, not a rule about its length.
LinkToken = Annotated[str, Path(description="the link's secret")]
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")
WRONG_LINK = "this link is incomplete or wrong; ask the clinic for a new one"
# the forms a patient is asked for by default when there is no session to follow up
DEFAULT_INSTRUMENTS = ("nprs", "ndi")
ANSWER_FIELD = re.compile(r"^forms\[(\d+)\]\.answers(?:\.(\w+))?$")


def _clinic_name(db: SessionDep, link: PatientLinkRead) -> str:
    """The name of the clinic that asks (read as the link, audited like its other reads)."""
    return get_clinic(db=db, actor=link.actor, clinic_id=link.clinic_id).data.name


def _gone(message: str) -> PageProblem:
    return PageProblem(410, "This link cannot be used", f"{message[0].upper()}{message[1:]}.")


def _opened(db: SessionDep, token: str, at: dt.datetime) -> PatientLinkRead:
    """The link, else the page every unusable link gets (cut short, unknown, used, expired)."""
    if TOKEN.fullmatch(token) is None:
        raise _gone(WRONG_LINK)
    try:
        return open_link(db=db, secret=token, now=at)
    except NotFoundError:
        raise _gone(WRONG_LINK) from None
    except LinkGone as exc:
        raise _gone(str(exc)) from None


@router.get("/p/{token}", response_class=HTMLResponse)
def self_report(request: Request, token: LinkToken, db: SessionDep, at: NowDep) -> Response:
    """The forms the link asks for, one column, big tap targets."""
    link = _opened(db, token, at)
    forms = [load_definition(i) for i in link.instruments]
    return page(
        request,
        None,
        "self_report.html",
        forms=forms,
        token=token,
        values={},
        errors={},
        link=link,
        clinic=_clinic_name(db, link),
    )


@router.post("/p/{token}", response_class=HTMLResponse)
def submit_self_report(
    request: Request, token: LinkToken, db: SessionDep, at: NowDep, items: FormItems
) -> Response:
    """Record the answers all or nothing; the link is then used up."""
    link = _opened(db, token, at)
    answers = nest(items)
    forms = [{"instrument": i, "answers": answer_codes(answers.get(i), i)} for i in link.instruments]

    def write() -> int:
        submission = parse(LinkSubmission, {"forms": forms})
        return len(submit_through_link(db=db, secret=token, submission=submission, now=at))

    definitions = [load_definition(i) for i in link.instruments]
    labels = {
        f"forms[{n}].answers.{item.number}": f"Question {item.number} of the {d.name}"
        for n, d in enumerate(definitions)
        for item in d.items
    }
    saved, errors, _status = save(db, write, labels)
    if saved is not None:
        return page(request, None, "self_report_done.html", count=saved, clinic=_clinic_name(db, link))
    # errors name forms[i].answers.N (already sentences, see bontrack.web.plain): show them on the
    # inputs, which are named instrument.N, in the patient's words
    by_input = {}
    for field, message in errors.items():
        found = ANSWER_FIELD.match(field)
        if found and found[2]:
            by_input[f"{link.instruments[int(found[1])]}.{found[2]}"] = message
        elif found:
            by_input[link.instruments[int(found[1])]] = (
                "Please answer the questions of this form before sending."
                if not answers.get(link.instruments[int(found[1])])
                else message
            )
        else:
            by_input[field] = message
    values = {f"{i}.{n}": v for i in link.instruments for n, v in (answers.get(i) or {}).items()}
    return page(
        request,
        None,
        "self_report.html",
        status=400,
        forms=definitions,
        token=token,
        values=values,
        errors=by_input,
        link=link,
        clinic=_clinic_name(db, link),
    )


def _link_form(
    request: Request, db: SessionDep, principal: PageUser, patient_id: str, **ctx: object
) -> Response:
    patient = patient_for(db, principal, patient_id)
    episodes = episodes_of_patient(db=db, actor=principal.actor, patient_id=patient_id)
    sessions = sessions_of_patient(db=db, actor=principal.actor, patient_id=patient_id)
    return page(
        request,
        principal,
        "link_form.html",
        status=int(str(ctx.pop("status", 200))),
        patient=patient,
        episodes=[(e.id, f"from {e.data.pain_onset_date}") for e in reversed(episodes)],
        sessions=[(s.id, session_words(s)) for s in reversed(sessions)],
        instruments=[(i, load_definition(i).name) for i in INSTRUMENT_IDS],
        **ctx,
    )


@router.get("/patients/{patient_id}/links/new", response_class=HTMLResponse)
def new_link(request: Request, patient_id: str, db: SessionDep, principal: PageUser, at: NowDep) -> Response:
    allow(request, principal, ISSUE_LINKS)
    patient_for(db, principal, patient_id)
    sessions = sessions_of_patient(db=db, actor=principal.actor, patient_id=patient_id)
    visit = follow_up(sessions[-1].data.date, at.date(), load_knowledge()) if sessions else None
    values = {
        "instruments": visit.instruments if visit else list(DEFAULT_INSTRUMENTS),
        "session_id": sessions[-1].id if visit else "",
        "expires_in_hours": "168",
    }
    return _link_form(request, db, principal, patient_id, values=values, errors={})


@router.post("/patients/{patient_id}/links/new", response_class=HTMLResponse)
def create_link(
    request: Request,
    patient_id: str,
    db: SessionDep,
    principal: PageUser,
    settings: SettingsDep,
    at: NowDep,
    items: FormItems,
) -> Response:
    allow(request, principal, ISSUE_LINKS)
    check_csrf(request, principal, csrf_of(items))
    patient = patient_for(db, principal, patient_id)
    doc = nest((k, v) for k, v in items if k not in ("csrf_token", "instruments"))
    doc["instruments"] = [v for k, v in items if k == "instruments"]
    doc["patient_id"] = patient.id

    def write() -> str:
        secret, _link = issue_link(db=db, actor=principal.actor, data=parse(PatientLinkCreate, doc), now=at)
        return secret

    secret, errors, status = save(db, write)
    if secret is None:
        return _link_form(request, db, principal, patient_id, values=doc, errors=errors, status=status)
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return _link_form(request, db, principal, patient_id, values=doc, errors={}, url=f"{base}/p/{secret}")
