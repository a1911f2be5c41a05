"""What the pages share: rendering on base.html, HTML errors, role checks, the patient in scope."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bontrack import records
from bontrack.auth.schemas import Role
from bontrack.errors import InputError, NotFoundError
from bontrack.patients.models import PatientRow
from bontrack.patients.schemas import PatientCreate, PatientRead
from bontrack.patients.service import get_patient
from bontrack.roles import a_role
from bontrack.storage.audit_log import Attempt, denied_attempt, mark_denied
from bontrack.web.deps import Principal, csrf_ok
from bontrack.web.forms import MAX_FORM_FIELDS, all_or_nothing, field_errors
from bontrack.web.pages import templates
from bontrack.web.problems import is_patient_page

T = TypeVar("T")
P = TypeVar("P", bound=BaseException)


async def form_items(request: Request) -> list[tuple[str, str]]:
    """The posted form's fields in order (read here, so the route itself can be a plain def); at
    most MAX_FORM_FIELDS of them, which also bounds a row number (bontrack.web.forms.nest)."""
    form = await request.form(max_fields=MAX_FORM_FIELDS)
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


FormItems = Annotated[list[tuple[str, str]], Depends(form_items)]


def csrf_of(items: list[tuple[str, str]]) -> str | None:
    return next((v for k, v in items if k == "csrf_token"), None)


def save(
    db: Session, write: Callable[[], T], labels: Mapping[str, str] | None = None
) -> tuple[T | None, dict[str, str], int]:
    """Run a write all or nothing: (result, {}, 303) or (None, errors by field as sentences naming
    the field's label (``labels`` adds to the forms' own), 409 if blocked by the engine or by other
    records (a withdrawal), else 400). A role the service refuses is no error of the form's: it
    goes on to the app's 403 page (audited as denied), nothing written."""
    from bontrack.errors import ConflictError, NotAllowedError, RefusedError

    try:
        return all_or_nothing(db, write), {}, 303
    except NotAllowedError:
        raise
    except InputError as exc:
        status = 409 if isinstance(exc, RefusedError | ConflictError) else 400
        return None, field_errors(exc, labels), status


class PageProblem(Exception):
    """A page that cannot be shown (403, 404, expired form): rendered as error.html."""

    def __init__(self, status: int, title: str, message: str, link: tuple[str, str] | None = None) -> None:
        self.status = status
        self.title = title
        self.message = message
        self.link = link  # (href, words): where to go instead
        super().__init__(message)


def install(app: FastAPI) -> None:
    @app.exception_handler(PageProblem)
    async def _page_problem(request: Request, exc: PageProblem) -> Response:
        user = getattr(request.state, "principal", None)
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "user": user,
                "patient": is_patient_page(request.url.path),  # no log-in link for a patient
                "title": exc.title,
                "message": exc.message,
                "link": exc.link,
            },
            status_code=exc.status,
        )


def page(
    request: Request, principal: Principal | None, name: str, status: int = 200, **ctx: Any
) -> HTMLResponse:
    """A page on base.html for the logged-in user."""
    return templates.TemplateResponse(request, name, {"user": principal, **ctx}, status_code=status)


ROLE_WORDS = {
    "physician": "physicians",
    "physical_therapist": "physical therapists",
    "staff": "staff",
    "researcher": "researchers",
    "admin": "administrators",
}


def allow(request: Request, principal: Principal, roles: tuple[Role, ...]) -> None:
    """403 page unless the user has one of the roles."""
    request.state.principal = principal
    if principal.role not in roles:
        who = ", ".join(ROLE_WORDS[r] for r in roles)
        raise mark_denied(
            PageProblem(
                403, "Not allowed", f"Only {who} can do this; you are logged in as {a_role(principal.role)}."
            ),
            Attempt(principal.actor, detail=f"role {principal.role} not allowed"),
        )


def check_csrf(request: Request, principal: Principal, given: str | None) -> None:
    """A form post must carry the session's token (a page of this site, not another site's)."""
    request.state.principal = principal
    if not csrf_ok(principal.csrf_token, given):
        raise mark_denied(
            PageProblem(403, "Form expired", "The form had expired. Go back, reload the page and try again."),
            Attempt(principal.actor, detail="no valid CSRF token"),
        )


def patient_for(db: Session, principal: Principal, patient_id: str) -> PatientRead:
    """The patient, if the user may see their clinic (else a 404 page; the read is audited)."""
    try:
        return get_patient(db=db, actor=principal.actor, patient_id=patient_id)
    except NotFoundError as exc:  # missing, withdrawn, or of another clinic (the service says which)
        raise carry_denial(PageProblem(404, "Not found", NO_PATIENT), exc) from None


NO_PATIENT = "There is no such patient."


def withdrawn_patient(db: Session, principal: Principal, patient_id: str) -> PatientRead | None:
    """The last version of a patient whose record was withdrawn, if the user may see their
    clinic (the history is read and audited, as the API's); None for any other patient."""
    try:
        rows = records.history(db, row_cls=PatientRow, record_id=patient_id, actor=principal.actor)
    except NotFoundError:
        return None
    return records.to_read(rows[-1], PatientCreate) if rows[-1].withdrawn else None


def patient_for_history(db: Session, principal: Principal, patient_id: str) -> PatientRead:
    """The patient, current or withdrawn (a withdrawn patient's history stays readable)."""
    try:
        return patient_for(db, principal, patient_id)
    except PageProblem:
        withdrawn = withdrawn_patient(db, principal, patient_id)
        if withdrawn is None:
            raise
        return withdrawn


def patient_for_chart(db: Session, principal: Principal, patient_id: str) -> PatientRead:
    """The current patient for their chart; a withdrawn one: a 404 page linking to the history."""
    try:
        return patient_for(db, principal, patient_id)
    except PageProblem as problem:
        if withdrawn_patient(db, principal, patient_id) is None:
            raise
        raise PageProblem(
            404,
            "Patient withdrawn",
            "This patient's record was withdrawn (entered in error): there is no chart. "
            "Its history, with who withdrew it and why, is kept.",
            link=(f"/patients/{patient_id}/records/patient/{patient_id}/history", "The patient's history"),
        ) from problem


def carry_denial(problem: P, exc: BaseException) -> P:
    """The page for a service's not-found error; when the service refused a record of another
    clinic, the page carries that denied attempt, for the face to audit."""
    attempt = denied_attempt(exc)
    return problem if attempt is None else mark_denied(problem, attempt)


def clinic_choices(db: Session) -> list[tuple[str, str]]:
    """(id, name) of the current clinics, by name (clinic names are not patient data): for the
    choices of a user who sees every clinic (the users page, the report's filter)."""
    from bontrack.patients.models import ClinicRow
    from bontrack.storage.versioned import newest_versions

    current = db.scalars(newest_versions(ClinicRow).order_by(ClinicRow.id))
    return sorted(((c.id, str(c.data.get("name", c.id))) for c in current), key=lambda c: c[1])
