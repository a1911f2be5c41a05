"""The worklist you can work (due items within the one window, stop-and-review flags; overdue
first; done, contacted, cancelled, snoozed and review done stored as worklist_action records) and
the audit log for administrators."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bontrack.actor import clinic_of
from bontrack.audit.service import page_entries
from bontrack.errors import InputError
from bontrack.patients.listing import age_on
from bontrack.patients.service import clinicians_of_clinic
from bontrack.roles import WRITE_ADVERSE_EVENTS, WRITE_OUTCOMES, WRITE_SESSIONS, WRITE_THERAPY
from bontrack.scheduling.actions import Filters, Worked, item_of, record_action, work_list
from bontrack.scheduling.deciders import may_decide_review, review_deciders
from bontrack.scheduling.schemas import DECISION_WORDS, KIND_WORDS, DueItem, ReviewItem, WorklistActionCreate
from bontrack.scheduling.window import load_window
from bontrack.schemas import parse
from bontrack.storage.audit_log import log
from bontrack.web.audit_days import audit_days, audit_filters
from bontrack.web.deps import ADMIN, READ_CLINICAL, NowDep, PageUser, Principal, SessionDep
from bontrack.web.pages import safe_next
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
AUDIT_PAGE = 50
WORKLIST_PAGE = 25  # rows of due items per page (a large clinic has thousands; a person reads a few dozen)
STATUS_BADGES = {"overdue": "block", "due": "warn", "eligible": "allow", "upcoming": "info"}
REVIEWS_BESIDE = 10  # stop-and-review flags under the items (the rest: ?kind=stop_review)
KindFilter = Literal["", "outcome_visit", "reinjection", "therapy_visit", "adverse_event", "stop_review"]
ACTION_LABELS = {
    "snooze_until": "Snooze until",
    "reason": "Reason",
    "decision": "Decision",
    "action": "Action",
    "on": "Day",
}


def clinician_names(db: SessionDep, principal: Principal) -> dict[str, str]:
    """The clinic's clinicians by id (none for a user who sees every clinic)."""
    clinic = principal.user.clinic_id
    if clinic is None:
        return {}
    return {c.id: c.data.name for c in clinicians_of_clinic(db=db, actor=principal.actor, clinic_id=clinic)}


def since_words(item: DueItem, today: dt.date) -> str:
    """Since when an item is due, in words."""
    days = (today - item.due_date).days
    if item.kind == "reinjection" and days > 0:
        return f"allowed for {days} day{'s' if days != 1 else ''}"
    if days > 0:
        return f"{days} day{'s' if days != 1 else ''} overdue"
    if days == 0:
        return "today"
    return f"in {-days} day{'s' if days != -1 else ''}"


def row_helpers(today: dt.date, principal: Principal) -> dict[str, Any]:
    """What the worklist rows (templates/_work.html) need beside the items: ``may_decide``, whether
    the user gets a stop-and-review flag's decision form (the service's rule; a role it refuses
    sees the flag and who decides, ``deciders``)."""
    return {
        "may_decide": may_decide_review(principal.actor),
        "deciders": " or ".join(f"a {r.replace('_', ' ')}" for r in review_deciders()),
        "age_of": lambda born: age_on(born, today) if born else None,
        "since": lambda item: since_words(item, today),
        "kind_words": KIND_WORDS,
        "decision_words": DECISION_WORDS,
        "status_badges": STATUS_BADGES,
        "next_steps": next_steps(principal),
    }


# What a row's link opens for each kind of due item, and the roles that may do it (bontrack.roles);
# an adverse event's follow-up: the event's correction form (its status now), the path completed
# with the event's id (templates/_work.html)
_STEPS = {
    "outcome_visit": ("outcomes/new", "Record the follow-up", WRITE_OUTCOMES),
    "reinjection": ("sessions/new", "Plan a session", WRITE_SESSIONS),
    "therapy_visit": ("therapy/visit", "Record the visit", WRITE_THERAPY),
    "adverse_event": ("records/adverse_event", "Update the event's status", WRITE_ADVERSE_EVENTS),
}


def next_steps(principal: Principal) -> dict[str, dict[str, Any]]:
    """Each kind of due item's next step for this user: a link to its form if their role may
    write it, else who does it (a link the form would refuse with 403 is not offered)."""
    steps = {}
    for kind, (path, words, roles) in _STEPS.items():
        by = " or ".join(f"a {r.replace('_', ' ')}" for r in roles)
        allowed = principal.role in roles
        steps[kind] = {"path": path, "words": words, "allowed": allowed, "by": f"{words}: {by}"}
    return steps


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(
    request: Request,
    db: SessionDep,
    principal: PageUser,
    at: NowDep,
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
    kind: Annotated[str, Query(max_length=40)] = "",
    overdue: Annotated[bool, Query()] = False,
    clinician: Annotated[str, Query(max_length=36)] = "",
    days: Annotated[int | None, Query(ge=0, le=365, description="look ahead (default: the window's)")] = None,
    back: Annotated[
        int | None, Query(ge=0, le=3650, description="look back (default: the window's); 0: list all")
    ] = None,
) -> Response:
    """What is due within the window, overdue first (a page at a time), filtered by type, overdue
    and clinician; who to review before another injection; each row with its actions."""
    allow(request, principal, READ_CLINICAL)
    if kind not in get_args(KindFilter):  # the options in the filter's words, not their ids
        options = ["All", *KIND_WORDS.values()]
        raise PageProblem(
            400, "Cannot do this", f"Type must be one of: {', '.join(options[:-1])} or {options[-1]}."
        )
    today = at.date()
    window = load_window(look_ahead_days=days, look_back_days=back or None)
    older = back == 0
    clinicians = clinician_names(db, principal)
    mine = principal.user.clinician_id
    wanted = (mine or "") if clinician == "mine" else clinician
    only_reviews = kind == "stop_review"
    chosen = Filters(kind="" if only_reviews else kind, overdue=overdue, clinician_id=wanted)
    # the flags: a few under the items, a page of them when asked for alone
    reviews_shown = (
        (REVIEWS_BESIDE if kind == "" else WORKLIST_PAGE) if kind in ("", "stop_review") and not wanted else 0
    )

    def page_of(number: int, *, rows: int = WORKLIST_PAGE) -> Worked:
        return work_list(
            db=db,
            actor=principal.actor,
            today=today,
            window=window,
            clinic_id=principal.user.clinic_id,
            everything=older,
            filters=chosen,
            limit=rows,
            offset=(number - 1) * rows,
            review_limit=reviews_shown,
        )

    worked = page_of(1, rows=0) if only_reviews else page_of(page_no)
    total = 0 if only_reviews else worked.total
    pages = max(1, math.ceil(total / WORKLIST_PAGE))
    if page_no > pages:  # a page past the last shows the last
        page_no = pages
        worked = page_of(page_no)
    start = (page_no - 1) * WORKLIST_PAGE
    items = [] if only_reviews else worked.items
    reviews = worked.reviews
    filters = {"kind": kind, "overdue": "1" if overdue else "", "clinician": clinician}
    shown = {"days": days, "back": back}
    query = urlencode({k: v for k, v in (filters | shown).items() if v not in ("", None)})
    all_older = urlencode({k: v for k, v in (filters | {"days": days}).items() if v not in ("", None)})
    return page(
        request,
        principal,
        "worklist.html",
        items=items,
        total=total,
        first=start + 1,
        page_no=page_no,
        pages=pages,
        reviews=reviews,
        review_total=worked.review_total if reviews else 0,
        review_rows=reviews_shown,
        worked=worked,
        today=today,
        window=window,
        kind=kind,
        overdue=overdue,
        clinician=clinician,
        clinicians=clinicians,
        mine=mine,
        older=older,
        query=query,
        all_older=all_older,
        days=days,
        here=str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        overdue_count=0 if only_reviews else worked.overdue,
        **row_helpers(today, principal),
    )


@router.get("/worklist/item", response_class=HTMLResponse)
def worklist_item(
    request: Request,
    db: SessionDep,
    principal: PageUser,
    at: NowDep,
    patient_id: Annotated[str, Query(max_length=36)],
    key: Annotated[str, Query(max_length=120)],
    next_page: Annotated[str, Query(alias="next", max_length=2000)] = "/worklist",
) -> Response:
    """One item's own page with every action (the lists carry Done and Contacted, and link here
    for the rest): done, contacted, snoozed to a date, cancelled with a reason; review done with
    the decision for a stop-and-review flag. Each form goes back to ``next`` once saved."""
    allow(request, principal, READ_CLINICAL)
    today = at.date()
    item = item_of(
        db=db,
        actor=principal.actor,
        clinic_id=principal.user.clinic_id,
        patient_id=patient_id,
        item_key=key,
        today=today,
    )
    if item is None:
        raise PageProblem(
            404,
            "Not on the worklist",
            "This item is not on the worklist: it may have been done or cancelled, or it is no longer "
            "due. Go back to the worklist and reload it.",
        )
    return page(
        request,
        principal,
        "worklist_item.html",
        item=item,
        reviewing=isinstance(item, ReviewItem),
        back=safe_next(next_page),
        tomorrow=today + dt.timedelta(days=1),
        **row_helpers(today, principal),
    )


@router.post("/worklist/actions", response_class=HTMLResponse)
def work_item(
    request: Request, db: SessionDep, principal: PageUser, at: NowDep, items: FormItems
) -> Response:
    """Store what was done about one item (done, contacted, cancelled, snoozed, review done) and
    go back to the page it was done on; a missing reason or date is a 400 page in words."""
    allow(request, principal, READ_CLINICAL)
    check_csrf(request, principal, csrf_of(items))
    form = dict(items)
    back = safe_next(form.pop("next", "/worklist"))
    doc = {k: v for k, v in form.items() if k != "csrf_token" and v != ""}
    doc.setdefault("on", at.date().isoformat())

    def write() -> object:
        return record_action(db=db, actor=principal.actor, data=parse(WorklistActionCreate, doc))

    patient_for(db, principal, str(doc.get("patient_id", "")))  # 404 page if not seen
    saved, errors, status = save(db, write, ACTION_LABELS)
    if saved is None:
        raise PageProblem(status, "Not saved", " ".join(errors.values()) + " Go back and try again.")
    return RedirectResponse(back, status_code=303)


AUDIT_DAY_LABELS = {"from": "“From”", "to": "“To”"}


def _audit_days_words(from_day: dt.date | None, to_day: dt.date | None) -> str:
    """The days shown, as the page says them (UTC, as the times of the entries)."""
    if from_day and to_day:
        return f"From {from_day.isoformat()} to {to_day.isoformat()} (UTC)."
    if from_day:
        return f"From {from_day.isoformat()} (UTC) on."
    return f"Up to {to_day.isoformat()} (UTC)." if to_day else ""


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    db: SessionDep,
    principal: PageUser,
    actor: Annotated[str, Query(max_length=200)] = "",
    record_id: Annotated[str, Query(max_length=100)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
    from_text: Annotated[str, Query(alias="from", max_length=40)] = "",
    to_text: Annotated[str, Query(alias="to", max_length=40)] = "",
) -> Response:
    """The audit trail, newest first, filtered by actor, record and days (``from``, ``to``: UTC
    days, both included); reading it is itself audited. Wrong days are a 400 page in words; a page
    beyond the last is a 404 page in words with the way to the last."""
    allow(request, principal, ADMIN)
    actor, record_id = audit_filters(actor, record_id)  # "ann@example.org": the user's entries
    try:
        from_day, to_day = audit_days(from_text, to_text, AUDIT_DAY_LABELS)
    except InputError as exc:
        words = " ".join(f"{AUDIT_DAY_LABELS[e.field]} {e.message}." for e in exc.errors)
        raise PageProblem(
            400, "Cannot show the audit log", words, link=("/audit", "The whole audit log")
        ) from exc
    offset = (page_no - 1) * AUDIT_PAGE
    total, entries = page_entries(
        db,
        limit=AUDIT_PAGE,
        offset=offset,
        record_id=record_id or None,
        actor=actor or None,
        clinic_id=clinic_of(principal.actor),
        from_day=from_day,
        to_day=to_day,
    )
    pages = max(1, math.ceil(total / AUDIT_PAGE))
    if page_no > pages:
        last = urlencode(
            {"actor": actor, "record_id": record_id, "from": from_text, "to": to_text, "page": pages}
        )
        raise PageProblem(
            404,
            "No such page",
            f"There is no page {page_no}: the audit log as filtered has {pages} page{'s' * (pages != 1)}.",
            link=(f"/audit?{last}", f"Go to the last page ({pages})"),
        )
    log(
        db,
        actor=principal.actor,
        action="read",
        record_type="audit_log",
        detail=f"{len(entries)} entries from offset {offset} (page)"
        + (f", record {record_id}" if record_id else "")
        + (f", actor {actor}" if actor else "")
        + (f", from {from_day}" if from_day else "")
        + (f", to {to_day}" if to_day else ""),
    )
    return page(
        request,
        principal,
        "audit.html",
        entries=entries,
        total=total,
        actor=actor,
        record_id=record_id,
        from_day=from_day.isoformat() if from_day else "",
        to_day=to_day.isoformat() if to_day else "",
        days_words=_audit_days_words(from_day, to_day),
        page_no=page_no,
        pages=pages,
    )
