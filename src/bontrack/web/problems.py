"""Errors as RFC 9457 problem documents (application/problem+json) that name the bad field."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from bontrack.auth.links import LinkGone
from bontrack.auth.service import Throttled
from bontrack.errors import ConflictError, InputError, NotFoundError, RefusedError, field_errors

MEDIA_TYPE = "application/problem+json"


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """The body of every error response."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = []


class ProblemError(Exception):
    """Raised by the web face for auth and permission failures."""

    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        super().__init__(detail)


class LoginRequired(Exception):
    """A page needs a logged-in user: the browser is sent to the log-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail, errors=errors or [])
    return JSONResponse(body.model_dump(), status_code=status, media_type=MEDIA_TYPE, headers=headers)


_PLACES = ("body", "query", "path", "header", "cookie")  # where FastAPI found the field


def _input_problem(exc: InputError, status: int, title: str) -> JSONResponse:
    errors = [FieldProblem(field=e.field, message=e.message) for e in exc.errors]
    return problem(status, title, "; ".join(f"{e.field}: {e.message}" for e in errors), errors)


def install(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into problem documents."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        found = field_errors(exc.errors(), skip=_PLACES, empty="(body)", cap=80)
        errors = [FieldProblem(field=e.field, message=e.message) for e in found]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return problem(422, "Invalid input", detail, errors)

    @app.exception_handler(RefusedError)
    async def _refused(_request: Request, exc: RefusedError) -> Response:
        return _input_problem(exc, 409, "Blocked by the decision engine")

    @app.exception_handler(ConflictError)
    async def _conflict(_request: Request, exc: ConflictError) -> Response:
        return _input_problem(exc, 409, "Conflict with other records")

    @app.exception_handler(NotFoundError)
    async def _not_found(_request: Request, exc: NotFoundError) -> Response:
        return _input_problem(exc, 404, "Not found")

    @app.exception_handler(InputError)
    async def _input(_request: Request, exc: InputError) -> Response:
        return _input_problem(exc, 400, "Invalid input")

    @app.exception_handler(LinkGone)
    async def _gone(_request: Request, exc: LinkGone) -> Response:
        return problem(410, "Link no longer valid", str(exc))

    @app.exception_handler(Throttled)
    async def _throttled(_request: Request, exc: Throttled) -> Response:
        return problem(
            429, "Too many failed log-ins", str(exc), headers={"Retry-After": str(exc.retry_after_seconds)}
        )

    @app.exception_handler(ProblemError)
    async def _problem(_request: Request, exc: ProblemError) -> Response:
        return problem(exc.status, exc.title, exc.detail, headers=exc.headers)

    @app.exception_handler(LoginRequired)
    async def _login(_request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed"}
        return problem(
            exc.status_code,
            titles.get(exc.status_code, "Error"),
            str(exc.detail),
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, _exc: Exception) -> Response:
        return problem(500, "Internal error", "the server failed; the error was logged")
