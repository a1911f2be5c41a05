"""What a patient fills in through a one-time link (no log-in: the link is the credential), and
the page on which staff issue such a link from the chart."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bontrack.auth.link_words import NOT_ANSWERED
from bontrack.auth.links import (
    LinkGone,
    LinkSubmission,
    LinkUsed,
    PatientLinkCreate,
    PatientLinkRead,
    issue_link,
    open_link,
    submit_through_link,
)
from bontrack.errors import InputError, NotFoundError
from bontrack.injections.service import sessions_of_patient
from bontrack.instruments import INSTRUMENT_IDS
from bontrack.instruments.definitions import load_definition
from bontrack.knowledge import load_knowledge
from bontrack.patients.service import episodes_of_patient, get_clinic
from bontrack.scheduling.visits import follow_up
from bontrack.schemas import parse
from bontrack.web.deps import ISSUE_LINKS, NowDep, PageUser, SessionDep, SettingsDep
from bontrack.web.display import session_words
from bontrack.web.forms import all_or_nothing, answer_codes, nest
from bontrack.web.patient_words import WRONG_LINK, Said, gone, received, told
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
# the forms a patient is asked for by default when there is no session to follow up
DEFAULT_INSTRUMENTS = ("nprs", "ndi")


def _clinic_name(db: SessionDep, link: PatientLinkRead) -> str:
    """The name of the clinic that asks (read as the link, audited like its other reads)."""
    return get_clinic(db=db, actor=link.actor, clinic_id=link.clinic_id).data.name


def _gone(message: str) -> PageProblem:
    return PageProblem(410, "This link cannot be used", message)


def _opened(db: SessionDep, token: str, at: dt.datetime) -> PatientLinkRead:
    """The link, else the page every unusable link gets (cut short, unknown, expired, withdrawn);
    a used link raises LinkUsed (its page says the answers were received)."""
    if TOKEN.fullmatch(token) is None:
        raise _gone(WRONG_LINK)
    try:
        return open_link(db=db, secret=token, now=at)
    except NotFoundError:
        raise _gone(WRONG_LINK) from None
    except LinkUsed:
        raise
    except LinkGone as exc:
        raise _gone(gone(exc)) from None


def _received(request: Request, used: LinkUsed) -> Response:
    """A used link's page: the answers were received, and when; nothing about the patient or the
    clinic (whoever holds the link later reads no more than that)."""
    return page(request, None, "self_report_done.html", said=received(used.used_at))


@router.get("/p/{token}", response_class=HTMLResponse)
def self_report(request: Request, token: LinkToken, db: SessionDep, at: NowDep) -> Response:
    """The forms the link asks for, one column, big tap targets; once sent, the thank-you page."""
    try:
        link = _opened(db, token, at)
    except LinkUsed as used:
        return _received(request, used)
    return _form_page(request, db, link, token)


def _form_page(
    request: Request, db: SessionDep, link: PatientLinkRead, token: str, **shown: object
) -> Response:
    return page(
        request,
        None,
        "self_report.html",
        status=400 if shown else 200,
        forms=[load_definition(i) for i in link.instruments],
        token=token,
        values=shown.pop("values", {}),
        errors=shown.pop("errors", {}),
        form_errors=shown.pop("form_errors", {}),
        summary=shown.pop("summary", []),
        link=link,
        clinic=_clinic_name(db, link),
    )


@router.post("/p/{token}", response_class=HTMLResponse)
def submit_self_report(
    request: Request, token: LinkToken, db: SessionDep, at: NowDep, items: FormItems
) -> Response:
    """Record the answers all or nothing; the link is then used up, and the browser is sent on
    to the link's own address (303), which now says the answers were received: Back or Reload
    shows that page again, and never posts the answers a second time."""
    sent_on = RedirectResponse(f"/p/{token}", status_code=303)
    try:
        link = _opened(db, token, at)
    except LinkUsed:
        return sent_on
    answers = nest(items)
    forms = []
    for i in link.instruments:
        # every question of the form, blank unless answered: a form left empty is named as such
        blanks: dict[str, object] = dict.fromkeys(load_definition(i).item_keys)
        forms.append({"instrument": i, "answers": blanks | answer_codes(answers.get(i), i)})

    def write() -> None:
        submission = parse(LinkSubmission, {"forms": forms})
        submit_through_link(db=db, secret=token, submission=submission, now=at)

    try:
        all_or_nothing(db, write)
    except LinkUsed:  # sent a moment ago, by another tap
        return sent_on
    except InputError as exc:
        values = {f"{i}.{n}": v for i in link.instruments for n, v in (answers.get(i) or {}).items()}
        return _form_page(request, db, link, token, values=values, **_marks(told(exc, link.instruments)))
    return sent_on


def _marks(said: list[Said]) -> dict[str, Any]:
    """Where the page shows each refusal: ``errors`` by input name (each question to mark),
    ``form_errors`` by form, ``summary`` the banner's list, each linking to its question."""
    errors: dict[str, str] = {}
    form_errors: dict[str, str] = {}
    summary: list[tuple[str, str]] = []
    for s in said:
        if s.instrument is None:
            summary.append(("#answers", s.text))
            continue
        if s.item is not None:
            errors[f"{s.instrument}.{s.item}"] = s.text
            summary.append((f"#q-{s.instrument}.{s.item}", s.text))
            continue
        form_errors[s.instrument] = s.text
        for n in s.items:
            errors.setdefault(f"{s.instrument}.{n}", NOT_ANSWERED)
        first = f"#q-{s.instrument}.{s.items[0]}" if s.items else f"#form-{s.instrument}"
        summary.append((first, s.text))
    return {"errors": errors, "form_errors": form_errors, "summary": summary}


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
