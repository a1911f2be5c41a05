"""The user's own account: change my password (every role; QA pass 4, finding 10).

The form asks for the current password, the new one and the new one again, and says what is
wrong by field (never a password back). A wrong current password counts as a failed log-in, so
the form cannot be used to guess one. After a change every other session and API token of the
user ends, and the browser's session is replaced by a new one (it stays logged in). The work is
bontrack.web.accounts.change_own_password's, shared with POST /api/auth/password.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bontrack.auth.passwords import MIN_LENGTH
from bontrack.auth.schemas import PasswordChange
from bontrack.auth.service import Throttled
from bontrack.errors import InputError
from bontrack.web.accounts import change_own_password
from bontrack.web.api.auth import CHANGED, client_address
from bontrack.web.deps import (
    SESSION_COOKIE,
    NowDep,
    PageUser,
    Principal,
    SettingsDep,
    page_user_briefly,
    set_session_cookie,
)
from bontrack.web.forms import field_errors
from bontrack.web.views.common import FormItems, check_csrf, csrf_of, page

router = APIRouter(include_in_schema=False)
PATH = "/account/password"
BriefPageUser = Annotated[Principal, Depends(page_user_briefly)]


def _form(
    request: Request,
    principal: Principal,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    return page(
        request,
        principal,
        "account_password.html",
        status=status,
        errors=errors or {},
        values={},  # a password is never shown back
        problem=problem,
        notice=notice,
        min_length=MIN_LENGTH,
    )


@router.get(PATH, response_class=HTMLResponse)
def password_page(request: Request, principal: PageUser, done: str | None = None) -> Response:
    """The form (after a change: that it was changed, and that every other session ended)."""
    request.state.principal = principal
    return _form(request, principal, notice=CHANGED if done == "changed" else None)


@router.post(PATH, response_class=HTMLResponse)
async def change_password(
    request: Request, principal: BriefPageUser, items: FormItems, settings: SettingsDep, at: NowDep
) -> Response:
    """Change the user's own password; on success a new session (cookie) and the form again,
    saying so."""
    check_csrf(request, principal, csrf_of(items))
    form = dict(items)
    data = PasswordChange(
        current_password=form.get("current_password", ""),
        new_password=form.get("new_password", ""),
        new_password_again=form.get("new_password_again", ""),
    )
    try:
        _, token = await change_own_password(
            settings,
            principal,
            data,
            client=client_address(request),
            at=at,
            kept=request.cookies.get(SESSION_COOKIE, ""),
            reissue=settings.session_lifetime,
        )
    except InputError as exc:
        return _form(request, principal, status=400, errors=field_errors(exc))
    except Throttled as exc:
        minutes = max(1, round(exc.retry_after_seconds / 60))
        words = (
            "Too many wrong passwords were typed for this account (here or at log-in). Nothing was "
            f"changed. Try again in about {minutes} minute{'s' if minutes != 1 else ''}."
        )
        response = _form(request, principal, status=429, problem=words)
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    done = RedirectResponse(f"{PATH}?done=changed", status_code=303)
    assert token is not None  # a session is replaced by a new one
    set_session_cookie(done, token.secret, settings)
    return done
