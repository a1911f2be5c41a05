"""A patient's one-time links on the chart (issued, used, expired, revoked; never the secret), and
the page on which staff revoke one that is still usable, with the reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bontrack.auth.link_list import LinkRevoke, PatientLinkListed, links_of_patient, revoke_link
from bontrack.instruments.definitions import load_definition
from bontrack.schemas import parse
from bontrack.web.deps import ISSUE_LINKS, NowDep, PageUser, Principal, SessionDep
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
LABELS = {"reason": "Reason for revoking", "link": "This link"}


def _when(at: dt.datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at is not None else ""


def _who(actor: str | None) -> str:
    return (actor or "").removeprefix("user:")


def link_row(link: PatientLinkListed, now: dt.datetime) -> dict[str, Any]:
    """One link as the chart lists it: what a clinician needs to tell the links apart."""
    state = link.state(now)
    words = {
        "usable": "",
        "used": f"on {_when(link.used_at)}",
        "expired": "",
        "revoked": f"on {_when(link.revoked_at)} by {_who(link.revoked_by)}",
    }[state]
    return {
        "id": link.id,
        "issued": _when(link.created_at),
        "by": _who(link.created_by),
        "forms": ", ".join(load_definition(i).short_name for i in link.instruments),
        "expires": _when(link.expires_at),
        "state": state,
        "words": words,
        "reason": link.revoked_reason or "",
    }


def chart_links(
    db: Session, principal: Principal, patient_id: str, now: dt.datetime
) -> list[dict[str, Any]] | None:
    """The chart's list of the patient's links, newest first; None for a role that may not issue
    links (the list is not shown to it)."""
    if principal.role not in ISSUE_LINKS:
        return None
    return [
        link_row(link, now) for link in links_of_patient(db=db, actor=principal.actor, patient_id=patient_id)
    ]


def _link_of(db: Session, principal: Principal, patient_id: str, link_id: str) -> PatientLinkListed:
    found = [
        link
        for link in links_of_patient(db=db, actor=principal.actor, patient_id=patient_id)
        if link.id == link_id
    ]
    if not found:
        raise PageProblem(404, "Not found", "There is no such link for this patient.")
    return found[0]


def _revoke_page(
    request: Request,
    db: Session,
    principal: Principal,
    patient_id: str,
    link_id: str,
    now: dt.datetime,
    **ctx: Any,
) -> Response:
    patient = patient_for(db, principal, patient_id)
    link = _link_of(db, principal, patient_id, link_id)
    return page(
        request,
        principal,
        "link_revoke.html",
        status=int(ctx.pop("status", 200)),
        patient=patient,
        link=link_row(link, now),
        values=ctx.pop("values", {}),
        errors=ctx.pop("errors", {}),
    )


@router.get("/patients/{patient_id}/links/{link_id}/revoke", response_class=HTMLResponse)
def revoke_form(
    request: Request, patient_id: str, link_id: str, db: SessionDep, principal: PageUser, at: NowDep
) -> Response:
    allow(request, principal, ISSUE_LINKS)
    return _revoke_page(request, db, principal, patient_id, link_id, at)


@router.post("/patients/{patient_id}/links/{link_id}/revoke", response_class=HTMLResponse)
def revoke(
    request: Request,
    patient_id: str,
    link_id: str,
    db: SessionDep,
    principal: PageUser,
    at: NowDep,
    items: FormItems,
) -> Response:
    """Revoke the link (the reason required), then back to the chart's list of links."""
    allow(request, principal, ISSUE_LINKS)
    check_csrf(request, principal, csrf_of(items))
    patient = patient_for(db, principal, patient_id)
    values = {"reason": next((v for k, v in items if k == "reason"), "")}

    def write() -> PatientLinkListed:
        data = parse(LinkRevoke, values)
        return revoke_link(
            db=db, actor=principal.actor, patient_id=patient.id, link_id=link_id, reason=data.reason, now=at
        )

    done, errors, status = save(db, write, LABELS)
    if done is None:
        return _revoke_page(
            request, db, principal, patient_id, link_id, at, values=values, errors=errors, status=status
        )
    return RedirectResponse(f"/patients/{patient.id}?saved=link_revoked#links", status_code=303)
