"""Errors as RFC 9457 problem documents (application/problem+json) that name the bad field."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bontrack.auth.links import LinkGone
from bontrack.auth.service import Throttled
from bontrack.errors import (
    ConflictError,
    FieldError,
    InputError,
    NotAllowedError,
    NotFoundError,
    RefusedError,
    StaleError,
    field_errors,
)

MEDIA_TYPE = "application/problem+json"


class FieldProblem(BaseModel):
    field: str
    message: str
    text: str = Field("", description="the same error as a sentence a person reads, naming the field's label")


class Problem(BaseModel):
    """The body of every error response."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = []


class ProblemError(Exception):
    """Raised by the web face for auth and permission failures."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
        errors: list[FieldProblem] | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.errors = errors or []
        super().__init__(detail)


class LoginRequired(Exception):
    """A page needs a logged-in user: the browser is sent to the log-in page. ``ended``: the
    browser still held a session that had ended (idle, past its lifetime): "unsaved" when what
    it sent was a form, which was not saved, else "ended"; None for a browser never logged in."""

    def __init__(self, next_path: str, ended: str | None = None) -> None:
        self.next_path = next_path
        self.ended = ended


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail, errors=errors or [])
    return JSONResponse(body.model_dump(), status_code=status, media_type=MEDIA_TYPE, headers=headers)


NUL_WORDS = "A value given holds a NUL character (U+0000), which no field takes"
_PLACES = ("body", "query", "path", "header", "cookie")  # where FastAPI found the field


def _field_problems(found: list[FieldError]) -> list[FieldProblem]:
    """Each error by its field path, with the sentence the pages show for it (bontrack.web.plain)."""
    from bontrack.web.plain import sentence

    return [FieldProblem(field=e.field, message=e.message, text=sentence(e.field, e.message)) for e in found]


def _input_problem(exc: InputError, status: int, title: str) -> JSONResponse:
    errors = _field_problems(exc.errors)
    return problem(status, title, "; ".join(f"{e.field}: {e.message}" for e in errors), errors)


def wants_page(request: Request) -> bool:
    """A browser asking for a page (Accept: text/html), not an API client: it gets the app's
    error page; /api and the OpenAPI document always answer problem+json."""
    path = request.url.path
    if path.startswith("/api") or path == "/openapi.json":
        return False
    return "text/html" in request.headers.get("accept", "")


# what a person reads on the error page, by status
PAGE_WORDS = {
    400: ("Cannot do this", "The request could not be understood. Go back and try again."),
    401: ("Please log in", "You need to log in to see this page."),
    403: ("Not allowed", "Your account is not allowed to see or do this."),
    404: (
        "Page not found",
        "There is nothing at this address. It may have been typed wrongly, or the link is out of date.",
    ),
    405: ("Not possible here", "This address cannot be used that way. Use the links of the app instead."),
    409: ("Not saved", "This could not be saved because it conflicts with other records."),
    410: ("No longer available", "This link or page is no longer valid."),
    429: ("Too many attempts", "There were too many attempts. Please wait a few minutes and try again."),
    500: (
        "Something went wrong",
        "The server failed to answer this request; the error was logged. Go back and try again, "
        "and if it happens again tell your administrator.",
    ),
    503: ("Temporarily unavailable", "bontrack cannot answer just now. Please try again in a minute."),
}
# what a patient reads on an error page of their link (/p/...): they have no administrator and
# no log-in; the clinic is who they can ask
PATIENT_PAGE_WORDS = {
    400: ("Cannot do this", "This could not be understood. Please go back and try again."),
    404: ("Link not found", "This link does not work. Please ask the clinic for a new one."),
    410: (
        "This link cannot be used",
        "This link can no longer be used. Please ask the clinic for a new one.",
    ),
    429: ("Too many attempts", "There were too many attempts. Please wait a few minutes and try again."),
    500: (
        "Something went wrong",
        "Your answers could not be handled just now. Please try again later or contact the clinic.",
    ),
    503: (
        "Temporarily unavailable",
        "This page cannot be shown just now. Please try again later or contact the clinic.",
    ),
}


def is_patient_page(path: str) -> bool:
    """Whether a path is a patient's link page (no log-in, no staff words)."""
    return path.startswith("/p/")


async def error_page(
    request: Request,
    status: int,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The app's error page for a browser (web/error_page.py renders it; the app registers it on
    its state, so this module needs neither the templates nor the session look-up)."""
    render = request.app.state.error_page
    response: Response = await render(request, status, message, headers)
    return response


def install(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into problem documents."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        found = field_errors(exc.errors(), skip=_PLACES, empty="(body)", cap=80)
        if request.url.path.startswith("/api/patient-link/"):  # a patient's app: plain words
            from bontrack.web.patient_words import request_words

            said = request_words(found)
            words = [FieldProblem(field=s.field, message=s.text, text=s.text) for s in said]
            return problem(422, "Answers not sent", " ".join(s.text for s in said), words)
        errors = _field_problems(found)
        if wants_page(request):
            from bontrack.web.plain import sentence

            return await error_page(request, 400, " ".join(sentence(e.field, e.message) for e in errors))
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return problem(422, "Invalid input", detail, errors)

    def sentences(exc: InputError) -> str:
        from bontrack.web.plain import sentence

        return " ".join(sentence(e.field, e.message) for e in exc.errors)

    @app.exception_handler(RefusedError)
    async def _refused(request: Request, exc: RefusedError) -> Response:
        if wants_page(request):
            return await error_page(request, 409, "Blocked by the decision engine. " + sentences(exc))
        return _input_problem(exc, 409, "Blocked by the decision engine")

    @app.exception_handler(ConflictError)
    async def _conflict(request: Request, exc: ConflictError) -> Response:
        if wants_page(request):
            return await error_page(request, 409, "Not saved: " + sentences(exc))
        if isinstance(exc, StaleError):  # a change made from an earlier version: the current one's ETag
            answer = _input_problem(exc, 409, "Changed since you read it")
            answer.headers["ETag"] = f'"{exc.current_version}"'
            return answer
        return _input_problem(exc, 409, "Conflict with other records")

    @app.exception_handler(NotAllowedError)
    async def _not_allowed(request: Request, exc: NotAllowedError) -> Response:
        # a service's own role rule: the same 403 as a face's, in the service's words
        if wants_page(request):
            words = " ".join(e.message[:1].upper() + e.message[1:] + "." for e in exc.errors)
            return await error_page(request, 403, words + " Nothing was saved.")
        return _input_problem(exc, 403, "Not allowed")

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> Response:
        if wants_page(request):
            return await error_page(request, 404)
        return _input_problem(exc, 404, "Not found")

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> Response:
        if wants_page(request):
            return await error_page(request, 400, sentences(exc))
        return _input_problem(exc, 400, "Invalid input")

    @app.exception_handler(LinkGone)
    async def _gone(request: Request, exc: LinkGone) -> Response:
        if wants_page(request):
            return await error_page(request, 410)
        return problem(410, "Link no longer valid", str(exc))

    @app.exception_handler(Throttled)
    async def _throttled(_request: Request, exc: Throttled) -> Response:
        return problem(
            429, "Too many failed log-ins", str(exc), headers={"Retry-After": str(exc.retry_after_seconds)}
        )

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        if wants_page(request):
            return await error_page(request, exc.status, headers=exc.headers)
        return problem(exc.status, exc.title, exc.detail, exc.errors, headers=exc.headers)

    @app.exception_handler(LoginRequired)
    async def _login(_request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        ended = f"&ended={exc.ended}" if exc.ended else ""
        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}{ended}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_page(request):
            return await error_page(request, exc.status_code, headers=dict(exc.headers or {}))
        titles = {404: "Not found", 405: "Method not allowed"}
        return problem(
            exc.status_code,
            titles.get(exc.status_code, "Error"),
            str(exc.detail),
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        # PostgreSQL stores no NUL in text, and its driver refuses one before sending it. Every
        # input schema refuses control characters (bontrack.schemas.NoControls); this is for a
        # value no schema holds (a search, an id in an address, a log-in name): 400, not 500.
        if "NUL" not in str(exc.orig):
            return await _unexpected(request, exc)
        if wants_page(request):
            return await error_page(request, 400, NUL_WORDS + ".")
        return problem(400, "Invalid input", NUL_WORDS)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _exc: Exception) -> Response:
        if wants_page(request):
            return await error_page(request, 500)
        return problem(500, "Internal error", "the server failed; the error was logged")
