"""OperationOutcome for the FHIR import: each problem names the FHIRPath of the offending element.

Kept apart from the read facade's outcome module so the two branches merge without conflict; the
lead may fold them into one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from bontrack.plain_words import wording

Severity = Literal["fatal", "error", "warning", "information"]
# FHIR IssueType codes used here (http://hl7.org/fhir/R4/valueset-issue-type.html)
IssueCode = Literal[
    "invalid",
    "structure",
    "required",
    "value",
    "not-supported",
    "business-rule",
    "not-found",
    "processing",
    "informational",
    "forbidden",
    "login",
    "security",
]


@dataclass(frozen=True)
class Issue:
    """One problem (or note) about one element, named by its FHIRPath (``Bundle.entry[2].resource.code``)."""

    expression: str | None
    message: str
    code: IssueCode = "invalid"
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.expression}: {self.message}" if self.expression else self.message


class FhirImportError(Exception):
    """Input the import refuses: 400 (not parsable as FHIR R4), 415 (not JSON) or 422 (against
    bontrack's rules). Raised before or during the writes, so the request's one transaction rolls back."""

    def __init__(self, status: int, issues: list[Issue]) -> None:
        self.status = status
        self.issues = issues
        super().__init__("; ".join(map(str, issues)))


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """An R4 OperationOutcome (as JSON), validated with fhir.resources' model."""
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    body: dict[str, Any] = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": i.severity,
                "code": i.code,
                "diagnostics": i.message,
                "details": {"text": i.message},
                **({"expression": [i.expression]} if i.expression else {}),
            }
            for i in issues
        ],
    }
    result: dict[str, Any] = OperationOutcome.model_validate(body).model_dump(mode="json", exclude_none=True)
    return result


def fhirpath(prefix: str, loc: tuple[int | str, ...]) -> str:
    """A pydantic location under ``prefix`` as FHIRPath: ("entry", 2, "resource", "code") ->
    Bundle.entry[2].resource.code."""
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


_SPEC = {  # fhir.resources' wording of a primitive not written as FHIR R4 writes it
    "Date": "must be a date written YYYY, YYYY-MM or YYYY-MM-DD",
    "DateTime": "must be a date written YYYY, YYYY-MM or YYYY-MM-DD, or a date and time with its zone",
    "Instant": "must be a date and time with its zone (YYYY-MM-DDThh:mm:ssZ)",
    "Time": "must be a time written hh:mm:ss",
}


def _plain(err: dict[str, Any]) -> str:
    """An error in plain words (bontrack.plain_words, as the web's forms and the JSONL import say
    it): what the element must be, and the value given."""
    kind = err["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not an element of this resource in FHIR R4"
    message = str(err["msg"]).removeprefix("Value error, ")
    spec = message.removesuffix(" value string does not match spec regex.")
    words = _SPEC.get(spec) or wording(message)
    if words == "must be yes or no":
        words += " (true or false)"
    value = err.get("input")
    if isinstance(value, str | int | float | bool) and (kind != "value_error" or spec in _SPEC):
        text = str(value).lower() if isinstance(value, bool) else repr(value)
        words += f"; {text[:80]}{'…' if len(text) > 80 else ''} was given"
    return words


def issues_of(exc: ValidationError, prefix: str) -> list[Issue]:
    """fhir.resources' validation errors as issues naming each element (at most 50)."""
    found = []
    for err in exc.errors(include_url=False)[:50]:
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        code: IssueCode = "required" if err["type"] == "missing" else "structure"
        found.append(Issue(fhirpath(prefix, loc), _plain(dict(err)), code))
    return found
