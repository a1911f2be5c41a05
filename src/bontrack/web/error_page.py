"""The app's HTML error page for browsers: the words for the status, the user's navigation when
they are logged in, and a way back. Registered on the app's state by create_app, so that
web/problems.py (imported by the dependencies) does not import the pages or the dependencies."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from bontrack.web.deps import SESSION_COOKIE, Principal, in_transaction, session_owner
from bontrack.web.pages import templates
from bontrack.web.problems import PAGE_WORDS, PATIENT_PAGE_WORDS, is_patient_page


async def render(
    request: Request,
    status: int,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The app's error page for a browser: the words for the status, the user's navigation if
    they are logged in, and a way back."""
    if is_patient_page(request.url.path):  # a patient: the clinic's words, no log-in link
        title, words = PATIENT_PAGE_WORDS.get(status, PATIENT_PAGE_WORDS[500 if status >= 500 else 400])
        return templates.TemplateResponse(
            request,
            "error.html",
            {"user": None, "patient": True, "title": title, "message": message or words},
            status_code=status,
            headers=headers,
        )
    title, words = PAGE_WORDS.get(status, PAGE_WORDS[500 if status >= 500 else 400])
    user = getattr(request.state, "principal", None)
    if user is None:
        user = await _session_user(request)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"user": user, "patient": False, "title": title, "message": message or words},
        status_code=status,
        headers=headers,
    )


async def _session_user(request: Request) -> Any:
    """The logged-in user of the session cookie, if any (an unknown URL has no route that looked)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    settings = getattr(request.app.state, "settings", None)
    if not cookie or settings is None:
        return None
    try:
        owner = await in_transaction(
            settings, lambda db: session_owner(db, cookie, settings.clock(), settings)
        )
    except Exception:  # the error page must not fail: without the database, no navigation
        return None
    return None if owner is None else Principal(owner.user, "session", owner.csrf_token)
