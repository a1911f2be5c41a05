"""CSRF protection for forms.

Logged-in forms carry the session's CSRF token in a hidden field (``csrf_token``); scripts send
it in the X-CSRF-Token header. The log-in form has no session yet, so it uses a double-submit
token: a random value in a short-lived cookie and the same value in the form.
"""

from __future__ import annotations

from fastapi import Request, Response

from bontrack.auth.service import new_secret
from bontrack.web.deps import csrf_ok

LOGIN_CSRF_COOKIE = "bontrack_login_csrf"
FIELD = "csrf_token"


def login_token(request: Request) -> str:
    """The log-in form's token: the browser's cookie, or a new one."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or new_secret()


def set_login_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict", secure=secure, path="/login"
    )


def login_form_ok(request: Request, submitted: str | None) -> bool:
    return csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), submitted)
