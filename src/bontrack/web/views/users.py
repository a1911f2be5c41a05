"""Accounts page (administrators): add users, deactivate and reactivate them, set a password, end
their sessions. The same actions as `bontrack user ...` and /api/users; every one is audited.

Adding a user or setting a password hashes it (slow on purpose): those routes look the admin up,
and write, in short transactions of their own, and hash in between, holding no transaction and
not the request's turn at the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bontrack.auth import service
from bontrack.auth.models import ROLES
from bontrack.auth.passwords import MIN_LENGTH
from bontrack.auth.schemas import UserCreate
from bontrack.errors import ConflictError, InputError
from bontrack.schemas import parse
from bontrack.storage.versioned import newest_versions
from bontrack.web import accounts
from bontrack.web.deps import ADMIN, NowDep, PageUser, Principal, SessionDep, SettingsDep, in_transaction
from bontrack.web.deps import page_user_briefly as _page_user_briefly
from bontrack.web.forms import field_errors
from bontrack.web.plain import form_labels
from bontrack.web.settings import WebSettings
from bontrack.web.views.common import FormItems, allow, check_csrf, clinic_choices, csrf_of, page

router = APIRouter(include_in_schema=False)
UserId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
BriefPageUser = Annotated[Principal, Depends(_page_user_briefly)]
ROLE_NAMES = {
    "physician": "Physician",
    "physical_therapist": "Physical therapist",
    "staff": "Staff",
    "researcher": "Researcher (de-identified data only)",
    "admin": "Administrator",
}
DONE = {
    "added": "added",
    "deactivated": "deactivated: can no longer log in; every session and API token ended",
    "reactivated": "reactivated: can log in again with the same password",
    "password": "has a new password; every session and API token ended",
    "ended": "every session and API token ended",
    "role": "has a new role; every session and API token ended (it applies from the next log-in)",
}


def _clinicians(db: Session, clinic_names: dict[str, str], scope: str | None) -> list[tuple[str, str]]:
    """(id, "name, role, clinic") of the current clinician records, to link a new account to
    (``scope``: an administrator of one clinic: that clinic's only, not another clinic's staff)."""
    from bontrack.patients.models import ClinicianRow

    current = newest_versions(ClinicianRow).order_by(ClinicianRow.id)
    if scope is not None:
        current = current.where(ClinicianRow.clinic_id == scope)
    described = []
    for c in db.scalars(current):
        where = clinic_names.get(c.clinic_id, c.clinic_id)
        described.append((c.id, f"{c.data.get('name', c.id)}, {c.data.get('role', '')}, {where}"))
    return sorted(described, key=lambda c: c[1])


def _users_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    row_errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    users = service.list_users(db=db, actor=principal.actor)
    scope = principal.user.clinic_id  # an administrator of one clinic adds users of it only
    clinics = [c for c in clinic_choices(db) if scope is None or c[0] == scope]
    if notice is None:
        done, who = request.query_params.get("done", ""), request.query_params.get("user", "")
        user = next((u for u in users if u.id == who), None)
        if done in DONE and user is not None:
            notice = f"{user.email} {DONE[done]}."
    return page(
        request,
        principal,
        "users.html",
        status=status,
        users=users,
        clinics=clinics,
        clinic_names=dict(clinics),
        clinicians=_clinicians(db, dict(clinics), scope),
        every_clinic=scope is None,
        roles=[(r, ROLE_NAMES[r]) for r in ROLES],
        errors=errors or {},
        values=values or {"role": "physician", "clinic_id": scope or ""},
        row_errors=row_errors or {},
        notice=notice,
        min_length=MIN_LENGTH,
    )


def _done(code: str, user_id: str) -> RedirectResponse:
    return RedirectResponse(f"/users?done={code}&user={user_id}", status_code=303)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, db: SessionDep, principal: PageUser) -> Response:
    """Every account, with what an administrator can do to it (an administrator of one clinic:
    that clinic's; on PostgreSQL every transaction of these pages is limited to it)."""
    allow(request, principal, ADMIN)
    return _users_page(request, db, principal)


async def _show_errors(
    request: Request, settings: WebSettings, principal: Principal, status: int, **shown: Any
) -> Response:
    return await in_transaction(
        settings,
        lambda db: _users_page(request, db, principal, status=status, **shown),
        clinic_id=principal.user.clinic_id,
    )


@router.post("/users", response_class=HTMLResponse)
async def add_user(
    request: Request, principal: BriefPageUser, items: FormItems, settings: SettingsDep, at: NowDep
) -> Response:
    """Add an account (the password is checked, never shown back)."""
    check_csrf(request, principal, csrf_of(items))
    allow(request, principal, ADMIN)
    form = dict(items)
    raw = {
        "email": form.get("email", ""),
        "role": form.get("role", ""),
        "clinic_id": form.get("clinic_id") or None,
        "clinician_id": form.get("clinician_id") or None,
        "password": form.get("password", ""),
    }
    values = {k: v for k, v in form.items() if k in ("email", "role", "clinic_id", "clinician_id")}
    try:
        data = parse(UserCreate, raw)
        user = await accounts.add_user(settings, principal, data, at)
    except InputError as exc:
        errors = field_errors(exc, form_labels("users.html"))  # "E-mail", not another form's label
        return await _show_errors(request, settings, principal, 400, errors=errors, values=values)
    return _done("added", user.id)


async def _act(
    request: Request,
    settings: WebSettings,
    principal: Principal,
    items: list[tuple[str, str]],
    user_id: str,
    code: str,
    work: Callable[[Session], object],
) -> Response:
    check_csrf(request, principal, csrf_of(items))
    allow(request, principal, ADMIN)
    try:
        await in_transaction(settings, work, clinic_id=principal.user.clinic_id)
    except InputError as exc:
        status = 409 if isinstance(exc, ConflictError) else 404 if exc.errors[0].field == "user_id" else 400
        message = "; ".join(e.message for e in exc.errors)
        return await _show_errors(request, settings, principal, status, row_errors={user_id: message})
    return _done(code, user_id)


@router.post("/users/{user_id}/deactivate", response_class=HTMLResponse)
async def deactivate(
    request: Request,
    user_id: UserId,
    principal: BriefPageUser,
    items: FormItems,
    settings: SettingsDep,
    at: NowDep,
) -> Response:
    def work(db: Session) -> object:
        if user_id == principal.user.id:
            raise ConflictError.one("user_id", "you cannot deactivate your own account; ask another admin")
        return service.deactivate_user(db=db, actor=principal.actor, user_id=user_id, now=at)

    return await _act(request, settings, principal, items, user_id, "deactivated", work)


@router.post("/users/{user_id}/reactivate", response_class=HTMLResponse)
async def reactivate(
    request: Request, user_id: UserId, principal: BriefPageUser, items: FormItems, settings: SettingsDep
) -> Response:
    return await _act(
        request,
        settings,
        principal,
        items,
        user_id,
        "reactivated",
        lambda db: service.reactivate_user(db=db, actor=principal.actor, user_id=user_id),
    )


@router.post("/users/{user_id}/end-sessions", response_class=HTMLResponse)
async def end_sessions(
    request: Request,
    user_id: UserId,
    principal: BriefPageUser,
    items: FormItems,
    settings: SettingsDep,
    at: NowDep,
) -> Response:
    return await _act(
        request,
        settings,
        principal,
        items,
        user_id,
        "ended",
        lambda db: service.end_sessions(db=db, actor=principal.actor, user_id=user_id, now=at),
    )


@router.post("/users/{user_id}/password", response_class=HTMLResponse)
async def set_password(
    request: Request,
    user_id: UserId,
    principal: BriefPageUser,
    items: FormItems,
    settings: SettingsDep,
    at: NowDep,
) -> Response:
    """A new password for the user (checked, never shown back); their sessions and tokens end."""
    check_csrf(request, principal, csrf_of(items))
    allow(request, principal, ADMIN)
    password = dict(items).get("password", "")
    try:
        user = await in_transaction(
            settings,
            lambda db: service.get_user(db=db, user_id=user_id, actor=principal.actor),
            clinic_id=principal.user.clinic_id,
        )
        password_hash = await run_in_threadpool(service.hash_new_password, password, email=user.email)
    except InputError as exc:
        status = 404 if exc.errors[0].field == "user_id" else 400
        message = "; ".join(f"{e.field.replace('_', ' ')} {e.message}" for e in exc.errors)
        return await _show_errors(request, settings, principal, status, row_errors={user_id: message})
    return await _act(
        request,
        settings,
        principal,
        items,
        user_id,
        "password",
        lambda db: service.set_password(
            db=db, actor=principal.actor, user_id=user_id, password_hash=password_hash, now=at
        ),
    )


@router.post("/users/{user_id}/role", response_class=HTMLResponse)
async def change_role(
    request: Request,
    user_id: UserId,
    principal: BriefPageUser,
    items: FormItems,
    settings: SettingsDep,
    at: NowDep,
) -> Response:
    """Another role for the user (not your own; not the last active admin's)."""
    role = dict(items).get("role", "")
    return await _act(
        request,
        settings,
        principal,
        items,
        user_id,
        "role",
        lambda db: service.change_role(db=db, actor=principal.actor, user_id=user_id, role=role, now=at),
    )
