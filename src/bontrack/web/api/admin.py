"""The audit trail (admin) and de-identified data (researchers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from bontrack.actor import clinic_of
from bontrack.audit.service import page_entries
from bontrack.research.service import DeidentifiedPatient, deidentified_patients, pseudonym_key
from bontrack.storage.audit_log import log
from bontrack.storage.replica import read_session
from bontrack.web.api.common import AUTHENTICATED, ERRORS
from bontrack.web.api.schemas import AuditEntryRead, Page
from bontrack.web.audit_days import audit_days, audit_filters
from bontrack.web.deps import (
    ADMIN,
    READ_DEIDENTIFIED,
    NowDep,
    PageDep,
    Principal,
    SessionDep,
    SettingsDep,
    clinic_scope,
    require,
)

router = APIRouter(prefix="/api", tags=["admin and research"], dependencies=AUTHENTICATED, responses=ERRORS)


@router.get("/audit", response_model=Page[AuditEntryRead])
def read_audit(
    db: SessionDep,
    principal: Annotated[Principal, Depends(require(ADMIN))],
    page: PageDep,
    record_id: Annotated[str | None, Query(max_length=36)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    from_text: Annotated[
        str, Query(alias="from", max_length=40, description="entries of this day or later, YYYY-MM-DD (UTC)")
    ] = "",
    to_text: Annotated[
        str, Query(alias="to", max_length=40, description="entries of this day or earlier, YYYY-MM-DD (UTC)")
    ] = "",
) -> Page[AuditEntryRead]:
    """The audit trail, newest first (entries hold record snapshots: reading them is audited);
    ``from`` and ``to``: the entries of those days only (UTC, both included); ``actor``: as the
    log names it, or a user's e-mail."""
    from_day, to_day = audit_days(from_text, to_text)
    who, record = audit_filters(actor or "", record_id or "")
    actor, record_id = who or None, record or None
    total, entries = page_entries(
        db,
        limit=page.limit,
        offset=page.offset,
        record_id=record_id,
        actor=actor,
        clinic_id=clinic_of(principal.actor),
        from_day=from_day,
        to_day=to_day,
    )
    items = [AuditEntryRead.model_validate(e) for e in entries]
    log(
        db,
        actor=principal.actor,
        action="read",
        record_type="audit_log",
        detail=f"{len(items)} entries from offset {page.offset}"
        + (f", record {record_id}" if record_id else "")
        + (f", actor {actor}" if actor else "")
        + (f", from {from_day}" if from_day else "")
        + (f", to {to_day}" if to_day else ""),
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/research/patients", response_model=Page[DeidentifiedPatient])
def list_deidentified_patients(
    db: SessionDep,
    principal: Annotated[Principal, Depends(require(READ_DEIDENTIFIED))],
    page: PageDep,
    at: NowDep,
    settings: SettingsDep,
    clinic_id: Annotated[str | None, Query(max_length=36, pattern=r"^[A-Za-z0-9-]+$")] = None,
) -> Page[DeidentifiedPatient]:
    """Patients without name, birth date or record number: a pseudonym, an age band, and their
    sessions and scored outcomes dated in days from the first pain onset (from the read replica
    if there is one)."""
    key = pseudonym_key(db)
    with read_session(settings.read_engine, db, principal.user.clinic_id) as source:
        total, items = deidentified_patients(
            db=source,
            actor=principal.actor,
            clinic_id=clinic_scope(principal, clinic_id),
            limit=page.limit,
            offset=page.offset,
            on=at.date(),
            key=key,
        )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
