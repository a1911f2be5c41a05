"""A patient's one-time links as the clinic sees them (issued, used, expired, revoked), and revoking
one that is still usable: a link sent to the wrong phone stops working at once, and its page then
says that the clinic withdrew it (bontrack.auth.links.REVOKED).

Never the secret: only its hash is stored, and nothing here returns that either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bontrack.actor import clinic_of, sees
from bontrack.auth.links import PatientLinkRead, still_usable
from bontrack.auth.models import PatientLinkRow
from bontrack.errors import ConflictError, FieldError, InputError, NotFoundError, not_found_message
from bontrack.schemas import Input, NoControls, UtcTime
from bontrack.storage.audit_log import log

LinkState = Literal["usable", "used", "expired", "revoked"]
RECORD_TYPE = "patient_link"


class PatientLinkListed(PatientLinkRead):
    """A link as the clinic's list shows it: who issued it, and whether it was revoked."""

    created_by: str
    revoked_at: UtcTime | None = None
    revoked_by: str | None = None
    revoked_reason: str | None = None

    def state(self, now: datetime) -> LinkState:
        """Whether the link can still be used, and if not, why not."""
        if self.revoked_at is not None:
            return "revoked"
        if self.used_at is not None:
            return "used"
        return "expired" if self.expires_at <= now else "usable"


class LinkRevoke(Input):
    """Why the clinic revokes a link (kept with it, shown on the chart)."""

    reason: Annotated[str, Field(min_length=1, max_length=200), NoControls] = Field(
        description="why the link is revoked, e.g. sent to the wrong phone"
    )


def _listed(row: PatientLinkRow) -> PatientLinkListed:
    return PatientLinkListed.model_validate(row)


def links_of_patient(*, db: Session, actor: str, patient_id: str) -> list[PatientLinkListed]:
    """The patient's links, newest first (audited as reads); none of another clinic's."""
    query = select(PatientLinkRow).where(PatientLinkRow.patient_id == patient_id)
    scope = clinic_of(actor)
    if scope is not None:
        query = query.where(PatientLinkRow.clinic_id == scope)
    links = [
        _listed(r) for r in db.scalars(query.order_by(PatientLinkRow.created_at.desc(), PatientLinkRow.id))
    ]
    for link in links:
        log(
            db,
            actor=actor,
            action="read",
            record_type=RECORD_TYPE,
            record_id=link.id,
            clinic_id=link.clinic_id,
        )
    return links


def _day(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _not_revocable(link: PatientLinkListed, now: datetime) -> ConflictError | None:
    """Why a link cannot be revoked (it can no longer be used anyway), in words; None if it can."""
    state = link.state(now)
    if state == "usable":
        return None
    if link.revoked_at is not None:
        said = f"it was revoked already on {_day(link.revoked_at)}"
    elif link.used_at is not None:
        said = f"it was used on {_day(link.used_at)} (the patient's answers were received)"
    else:
        said = f"it expired on {_day(link.expires_at)} and can no longer be used"
    return ConflictError([FieldError("link", f"cannot be revoked: {said}")])


def revoke_link(
    *, db: Session, actor: str, patient_id: str, link_id: str, reason: str, now: datetime
) -> PatientLinkListed:
    """Revoke a patient's link that is still usable (audited); the link then opens to the words
    that the clinic withdrew it. Refused (ConflictError) for a link used, expired or revoked."""
    row = db.scalar(
        select(PatientLinkRow).where(PatientLinkRow.id == link_id, PatientLinkRow.patient_id == patient_id)
    )
    if row is None or not sees(actor, row.clinic_id):
        raise NotFoundError.one("link_id", not_found_message("patient link", link_id))
    if not reason.strip():
        raise InputError.one("reason", "say why the link is revoked (non-empty text)")
    before = _listed(row)
    refused = _not_revocable(before, now)
    if refused is not None:
        raise refused
    done = db.execute(
        update(PatientLinkRow)
        .where(still_usable(row.id, row.clinic_id, now))
        .values(revoked_at=now, revoked_by=str(actor), revoked_reason=reason.strip())
        .execution_options(synchronize_session=False)
    )
    db.refresh(row)
    if done.rowcount != 1:  # type: ignore[attr-defined]  # used or revoked a moment ago
        raise _not_revocable(_listed(row), now) or ConflictError([FieldError("link", "cannot be revoked")])
    after = _listed(row)
    log(
        db,
        actor=actor,
        action="withdraw",
        record_type=RECORD_TYPE,
        record_id=after.id,
        clinic_id=after.clinic_id,
        before=before.model_dump(mode="json"),
        after=after.model_dump(mode="json"),
        detail=f"revoked: {after.revoked_reason}",
    )
    return after
