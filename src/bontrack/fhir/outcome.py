"""The FHIR content type and errors as ``OperationOutcome`` (with the FHIRPath of the bad element).

Errors raised inside /fhir routes (``FhirError``) become an OperationOutcome directly; errors the
rest of the app reports as problem+json (authentication, permission, the services' InputError and
NotFoundError, FastAPI's validation) are rewritten into an OperationOutcome by ``FhirErrors`` for
every path under /fhir, so a FHIR client never sees another error format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FHIR_JSON = "application/fhir+json"
PREFIX = "/fhir"

# OperationOutcome.issue.code (http://hl7.org/fhir/issue-type) for each HTTP status
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    500: "exception",
    503: "transient",
}


class FhirResponse(JSONResponse):
    """A FHIR JSON body (``application/fhir+json; fhirVersion=4.0``)."""

    media_type = f"{FHIR_JSON}; fhirVersion=4.0"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


@dataclass(frozen=True)
class Issue:
    """One problem: what is wrong (in words), the issue-type code, and where (FHIRPath)."""

    diagnostics: str
    code: str = "invalid"
    expression: str | None = None
    severity: str = "error"


ECHO_LIMIT = 64  # characters of what a client sent that an error repeats (a FHIR id's longest)


def shown(value: object) -> str:
    """What a client sent, quoted for an error's words: cut after ``ECHO_LIMIT`` characters (a
    5,000-character parameter is not repeated whole)."""
    text = str(value)
    return repr(text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT] + "…")


class FhirError(Exception):
    """An error of the FHIR facade, answered as an OperationOutcome with this status."""

    def __init__(self, status: int, issues: list[Issue], headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.issues = issues
        self.headers = headers or {}
        super().__init__("; ".join(i.diagnostics for i in issues))

    @classmethod
    def one(
        cls, status: int, diagnostics: str, *, code: str | None = None, expression: str | None = None
    ) -> FhirError:
        return cls(status, [Issue(diagnostics, code or ISSUE_CODES.get(status, "processing"), expression)])


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """An OperationOutcome resource (validated with fhir.resources)."""
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    body: dict[str, Any] = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": i.severity,
                "code": i.code,
                "diagnostics": i.diagnostics,
                **({"expression": [i.expression[:ECHO_LIMIT]]} if i.expression else {}),
            }
            for i in issues
        ],
    }
    OperationOutcome.model_validate(body)
    return body


def outcome_response(status: int, issues: list[Issue], headers: dict[str, str] | None = None) -> FhirResponse:
    return FhirResponse(operation_outcome(issues), status_code=status, headers=headers)


def _expression(field: str) -> str | None:
    """A problem document's field (``query.name``, ``body.entry[0]``) as a FHIRPath-ish location."""
    if not field or field == "(body)":
        return None
    return field


def from_problem(status: int, problem: dict[str, Any]) -> tuple[int, list[Issue]]:
    """The OperationOutcome issues of a problem document (RFC 9457, as web/problems.py writes)."""
    code = ISSUE_CODES.get(status, "processing")
    status = 400 if status == 422 else status  # FHIR reports bad input as 400
    errors = problem.get("errors") or []
    if errors:
        issues = [
            Issue(str(e.get("message", "")), code, _expression(str(e.get("field", "")))) for e in errors
        ]
    else:
        issues = [Issue(str(problem.get("detail") or problem.get("title") or "error"), code)]
    return status, issues


class FhirErrors:
    """Rewrites the app's problem+json errors under /fhir into OperationOutcome (plain ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("application/problem+json"):
                    held = message
                    return
                await send(message)
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            try:
                problem = orjson.loads(b"".join(chunks))
            except orjson.JSONDecodeError:
                problem = {}
            status, issues = from_problem(int(held["status"]), problem if isinstance(problem, dict) else {})
            body = orjson.dumps(operation_outcome(issues))
            headers = MutableHeaders(scope=held)
            headers["content-type"] = f"{FHIR_JSON}; fhirVersion=4.0"
            headers["content-length"] = str(len(body))
            await send({**held, "status": status})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)


def install(app: FastAPI) -> None:
    """Answer FhirError as OperationOutcome, and rewrite other errors under /fhir."""

    @app.exception_handler(FhirError)
    async def _fhir_error(_request: Request, exc: FhirError) -> Response:
        return outcome_response(exc.status, exc.issues, exc.headers)

    app.add_middleware(FhirErrors)
