"""Patient list (search, pages; de-identified for researchers); the chart is in views/chart.py."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from bontrack.patients.listing import SortKey, list_patients
from bontrack.research.service import deidentified_patients, pseudonym_key
from bontrack.storage.replica import read_session
from bontrack.web.deps import (
    READ_CLINICAL,
    READ_DEIDENTIFIED,
    NowDep,
    PageUser,
    SessionDep,
    SettingsDep,
)
from bontrack.web.views.common import allow, page

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
# the patient list's sortable columns: (sort key, heading)
COLUMNS = (
    ("name", "Name"),
    ("record_number", "Record"),
    ("age", "Age"),
    ("last_visit", "Last visit"),
    ("next_due", "Next due"),
)


@router.get("/patients", response_class=HTMLResponse)
def patient_list(
    request: Request,
    db: SessionDep,
    principal: PageUser,
    at: NowDep,
    settings: SettingsDep,
    q: Annotated[str, Query(max_length=100)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
    sort: Annotated[SortKey, Query()] = "name",
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
) -> Response:
    """Patients by name or record number, 25 a page, sorted by a column; researchers see
    pseudonyms only."""
    clinic = principal.user.clinic_id
    offset = (page_no - 1) * PAGE_SIZE
    if principal.role not in READ_CLINICAL:
        allow(request, principal, READ_DEIDENTIFIED)
        key = pseudonym_key(db)
        with read_session(settings.read_engine, db, clinic) as source:  # the replica, if any
            total, rows = deidentified_patients(
                db=source,
                actor=principal.actor,
                clinic_id=clinic,
                limit=PAGE_SIZE,
                offset=offset,
                on=at.date(),
                key=key,
            )
        return page(
            request,
            principal,
            "patients_deidentified.html",
            rows=rows,
            total=total,
            page_no=page_no,
            pages=max(1, math.ceil(total / PAGE_SIZE)),
        )
    allow(request, principal, READ_CLINICAL)
    total, listed = list_patients(
        db=db,
        actor=principal.actor,
        clinic_id=clinic,
        today=at.date(),
        search=q or None,
        sort=sort,
        descending=order == "desc",
        limit=PAGE_SIZE,
        offset=offset,
    )
    return page(
        request,
        principal,
        "patients.html",
        rows=listed,
        total=total,
        q=q,
        sort=sort,
        order=order,
        columns=COLUMNS,
        page_no=page_no,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
    )
