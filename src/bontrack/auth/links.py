"""Patients' one-time links: a clinician issues one, the patient fills in the forms it names once.

The link's secret is shown only when issued (stored as SHA-256). A link can be opened (read)
any number of times until it is used or expires; submitting the forms uses it, atomically, so a
second submission, even a concurrent one, finds it used. Outcomes submitted through a link are
recorded by the outcomes service with the link as the actor.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from bontrack.actor import PATIENT_LINK
from bontrack.auth.link_words import (
    NOT_IN_FORM,
    NOT_IN_LINK,
    SENT_TWICE,
    PatientWords,
    needed_unanswered,
    unanswered,
)
from bontrack.auth.models import PatientLinkRow
from bontrack.auth.service import digest, new_secret
from bontrack.errors import FieldError, InputError, NotFoundError, RegistryError
from bontrack.outcomes.schemas import Answer, ItemKey, OutcomeCreate, OutcomeRead
from bontrack.schemas import Id, Input, NoControls, UtcTime
from bontrack.storage.audit_log import log
from bontrack.storage.row_security import limit_to_clinic


class LinkGone(RegistryError):
    """The link was used already, has expired, was revoked, or what it is for was withdrawn."""


class LinkUsed(LinkGone):
    """The link was used: the patient's answers were received (``used_at``: when; None when a
    concurrent submission used it a moment ago)."""

    def __init__(self, used_at: datetime | None) -> None:
        super().__init__("this link was used already; ask the clinic for a new one")
        self.used_at = used_at


# the words when the patient, episode or session a link is for was withdrawn after it was sent
NO_LONGER_USABLE = "this link can no longer be used; ask the clinic for a new one"
# the words when the clinic revoked the link (bontrack.auth.link_list.revoke_link)
REVOKED = "this link was withdrawn by the clinic; ask the clinic for a new one"


class LinkRevoked(LinkGone):
    """The clinic revoked the link before it was used."""

    def __init__(self) -> None:
        super().__init__(REVOKED)


class PatientLinkCreate(Input):
    patient_id: Id
    episode_id: Id
    instruments: list[Annotated[str, Field(min_length=1, max_length=40), NoControls]] = Field(
        min_length=1, max_length=5, description="instrument ids the patient is asked to fill in, e.g. nprs"
    )
    session_id: Id | None = Field(None, description="the session these follow-up forms belong to")
    weeks_after_session: Annotated[int, Field(ge=0, le=104, strict=True)] | None = Field(
        None, description="the follow-up visit; absent with a session: computed when the patient answers"
    )
    expires_in_hours: Annotated[int, Field(ge=1, le=720, strict=True)] = 168

    @field_validator("instruments")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from bontrack.instruments import INSTRUMENT_IDS

        for name in value:
            if name not in INSTRUMENT_IDS:
                raise ValueError(f"unknown instrument {name!r}; allowed: {', '.join(INSTRUMENT_IDS)}")
        if len(set(value)) != len(value):
            raise ValueError("lists an instrument twice")
        return value


class PatientLinkRead(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: str
    clinic_id: str
    patient_id: str
    episode_id: str
    instruments: list[str]
    session_id: str | None
    weeks_after_session: int | None
    created_at: UtcTime
    expires_at: UtcTime
    used_at: UtcTime | None

    @property
    def actor(self) -> str:
        """How the patient appears in the audit log when acting through this link."""
        return f"{PATIENT_LINK}{self.id}"


class LinkForm(Input):
    """One form the patient filled in through the link."""

    instrument: Annotated[str, Field(min_length=1, max_length=40), NoControls]
    # blanks pass the schema: a form without enough answers is refused in the patient's words
    # (``_unscorable``), where the clinician's API names the field (outcomes.schemas.Answers)
    answers: Annotated[dict[ItemKey, Answer], Field(min_length=1)]


class LinkSubmission(Input):
    forms: list[LinkForm] = Field(min_length=1, max_length=5)


def issue_link(
    *, db: Session, actor: str, data: PatientLinkCreate, now: datetime
) -> tuple[str, PatientLinkRead]:
    """A new link for a patient's episode; returns the secret (shown once) and the link."""
    from bontrack.injections.service import session_of_patient
    from bontrack.patients.service import episode_of

    episode = episode_of(db=db, actor=actor, episode_id=data.episode_id, patient_id=data.patient_id)
    if data.session_id is None and data.weeks_after_session is not None:
        raise InputError.one(
            "weeks_after_session",
            "give session_id with it (with session_id alone, the weeks are computed from the date the "
            "patient answers)",
        )
    if data.session_id is not None:
        session_of_patient(db=db, actor=actor, session_id=data.session_id, patient_id=data.patient_id)
    secret = new_secret()
    row = PatientLinkRow(
        id=str(uuid.uuid4()),
        token_hash=digest(secret),
        clinic_id=episode.clinic_id,
        patient_id=data.patient_id,
        episode_id=data.episode_id,
        instruments=list(data.instruments),
        session_id=data.session_id,
        weeks_after_session=data.weeks_after_session,
        created_at=now,
        created_by=actor,
        expires_at=now + timedelta(hours=data.expires_in_hours),
        used_at=None,
    )
    db.add(row)
    db.flush()
    link = PatientLinkRead.model_validate(row)
    log(
        db,
        actor=actor,
        action="create",
        record_type="patient_link",
        record_id=link.id,
        version=1,
        clinic_id=link.clinic_id,
        after=link.model_dump(mode="json"),
    )
    return secret, link


def open_link(*, db: Session, secret: str, now: datetime) -> PatientLinkRead:
    """The link for a secret; NotFoundError if unknown, LinkGone if used or expired."""
    row = db.scalar(select(PatientLinkRow).where(PatientLinkRow.token_hash == digest(secret)))
    if row is None:
        raise NotFoundError.one("token", "no such link; ask the clinic for a new one")
    if row.used_at is not None:
        raise LinkUsed(row.used_at)
    if row.revoked_at is not None:
        raise LinkRevoked()
    if row.expires_at <= now:
        raise LinkGone("this link has expired; ask the clinic for a new one")
    # the rest of the transaction sees only the link's clinic (PostgreSQL row-level security)
    limit_to_clinic(db, row.clinic_id)
    link = PatientLinkRead.model_validate(row)
    if not _still_current(db, link):
        raise LinkGone(NO_LONGER_USABLE)
    return link


def _still_current(db: Session, link: PatientLinkRead) -> bool:
    """Whether the patient, episode and session the link is for are all still current (none was
    withdrawn after the link was sent). Read without an audit entry: nothing of them is shown."""
    from bontrack.injections.models import InjectionSessionRow
    from bontrack.patients.models import EpisodeRow, PatientRow
    from bontrack.records import latest

    wanted: list[tuple[Any, str]] = [(PatientRow, link.patient_id), (EpisodeRow, link.episode_id)]
    if link.session_id is not None:
        wanted.append((InjectionSessionRow, link.session_id))
    for row_cls, record_id in wanted:
        found = latest(db, row_cls, record_id)
        if found is None or found.withdrawn:
            return False
    return True


def _prefixed(exc: InputError, prefix: str) -> InputError:
    """The same error (its type and attributes kept) with each field named under ``prefix``. The
    error is changed in place: an error type's constructor need not take a list of FieldErrors
    (WithdrawnError takes a field, a record type, an id and a clinic)."""
    exc.errors = [FieldError(f"{prefix}{e.field}", e.message) for e in exc.errors]
    exc.args = ("; ".join(map(str, exc.errors)),)
    return exc


def _unscorable(i: int, form: LinkForm) -> FieldError | None:
    """A form the patient sent without enough answers for its main score (every answer empty,
    say): refused as the web form refuses an empty form, naming the questions not answered that
    it needs, and the link is not used up."""
    from bontrack.instruments.definitions import load_definition
    from bontrack.outcomes.service import score_answers

    definition = load_definition(form.instrument)
    try:
        scores = score_answers(form.instrument, form.answers).scores
    except InputError:
        return None  # a bad answer: the outcomes service names it
    if scores.get(definition.primary_score) is not None:
        return None
    needed = needed_unanswered(form.instrument, form.answers)
    return PatientWords(f"forms[{i}].answers", unanswered(definition.name, needed), needed)


def _not_in_form(i: int, form: LinkForm) -> FieldError | None:
    """An answer to a question the form does not have (a page's field made up or left over)."""
    from bontrack.instruments.definitions import load_definition

    known = load_definition(form.instrument).item_keys
    if all(key in known for key in form.answers):
        return None
    return PatientWords(f"forms[{i}].answers", NOT_IN_FORM)


def still_usable(link_id: str, clinic_id: str, now: datetime) -> ColumnElement[bool]:
    """The link's row while it can still be used (not used, not revoked, not expired): the
    condition of the one write that uses it or revokes it, so that of two at once one fails."""
    return and_(
        PatientLinkRow.id == link_id,
        PatientLinkRow.clinic_id == clinic_id,  # the whole key (one shard when distributed)
        PatientLinkRow.used_at.is_(None),
        PatientLinkRow.revoked_at.is_(None),
        PatientLinkRow.expires_at > now,
    )


def _use(db: Session, link: PatientLinkRead, now: datetime) -> None:
    """Mark the link used; the condition makes a concurrent second use fail."""
    result = db.execute(
        update(PatientLinkRow).where(still_usable(link.id, link.clinic_id, now)).values(used_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        revoked = db.scalar(
            select(PatientLinkRow.revoked_at).where(
                PatientLinkRow.id == link.id, PatientLinkRow.clinic_id == link.clinic_id
            )
        )
        raise LinkRevoked() if revoked is not None else LinkUsed(None)


def submit_through_link(
    *, db: Session, secret: str, submission: LinkSubmission, now: datetime
) -> list[OutcomeRead]:
    """Record the patient's forms (dated today) and use the link; all or nothing."""
    from bontrack.outcomes.service import record_outcome

    link = open_link(db=db, secret=secret, now=now)
    # in words the patient's page and app show as they stand (bontrack.auth.link_words)
    errors: list[FieldError] = [
        PatientWords(f"forms[{i}].instrument", NOT_IN_LINK)
        for i, form in enumerate(submission.forms)
        if form.instrument not in link.instruments
    ]
    names = [f.instrument for f in submission.forms]
    if len(set(names)) != len(names):
        errors.append(PatientWords("forms", SENT_TWICE))
    if not errors:
        errors = [e for i, form in enumerate(submission.forms) if (e := _not_in_form(i, form)) is not None]
    if not errors:
        errors = [e for i, form in enumerate(submission.forms) if (e := _unscorable(i, form)) is not None]
    if errors:
        raise InputError(errors)
    _use(db, link, now)
    weeks = link.weeks_after_session
    if link.session_id is not None and weeks is None:  # the visit the answers' date makes
        from bontrack.injections.service import session_of_patient
        from bontrack.knowledge import load_knowledge
        from bontrack.scheduling.visits import follow_up

        session = session_of_patient(
            db=db, actor=link.actor, session_id=link.session_id, patient_id=link.patient_id
        )
        visit = follow_up(session.data.date, now.date(), load_knowledge())
        weeks = visit.week if visit else None
    saved = []
    for i, form in enumerate(submission.forms):
        data = OutcomeCreate(
            patient_id=link.patient_id,
            episode_id=link.episode_id,
            instrument=form.instrument,
            date=now.date(),
            answers=form.answers,
            session_id=link.session_id if weeks is not None else None,
            weeks_after_session=weeks,
        )
        try:
            saved.append(record_outcome(db=db, actor=link.actor, data=data, patient_reported=True))
        except InputError as exc:
            raise _prefixed(exc, f"forms[{i}].") from None
    return saved
