"""Content negotiation of the FHIR facade: JSON is the one format served (the CapabilityStatement's
``format``), so a request that accepts no JSON is 406 and a body that is not JSON is 415, each an
OperationOutcome (in JSON) naming what is offered. Source: FHIR R4 http.html#mime ("If the server
does not support the requested format, it SHALL return 406 Not Acceptable ... or 415 Unsupported
Media Type")."""

from __future__ import annotations

from fastapi import Request

from bontrack.fhir.outcome import FhirError, Issue

# the media types of FHIR JSON (application/json+fhir: DSTU2's name, still sent by some clients)
JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
NDJSON_TYPES = ("application/fhir+ndjson", "application/ndjson")
# _format's JSON values (the mime types, or the short form)
JSON_FORMATS = ("json", *JSON_TYPES)
OFFERED = "application/fhir+json (or application/json)"


def _media_type(text: str) -> str:
    # an unencoded "+" in a query string arrives as a space: application/fhir json
    return text.split(";", 1)[0].strip().lower().replace(" ", "+")


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return 1.0  # a malformed q is not a refusal
    return 1.0


def accepts(accept: str | None, offered: tuple[str, ...] = JSON_TYPES) -> bool:
    """Whether an Accept header allows one of the ``offered`` types: for each, the most specific
    range that matches it (type/subtype, then type/*, then */*) decides, allowing it when its q
    is above 0 (RFC 9110 section 12.5.1). No header, or an empty one, accepts anything."""
    if accept is None or not accept.strip():
        return True
    ranges: list[tuple[str, float]] = []
    for item in accept.split(","):
        kind, *params = item.split(";")
        if kind.strip():
            ranges.append((kind.strip().lower(), _quality(params)))
    for media in offered:
        major = media.split("/", 1)[0] + "/*"
        for candidate in (media, major, "*/*"):
            found = [q for kind, q in ranges if kind == candidate]
            if found:
                if max(found) > 0:
                    return True
                break
    return False


def check_format(value: str) -> None:
    """A ``_format`` value: JSON, else 406 naming ``_format``."""
    if _media_type(value) not in JSON_FORMATS:
        raise FhirError(
            406,
            [
                Issue(
                    f"_format={value[:40]!r} is not served: this server answers in JSON only "
                    "(_format=json, application/fhir+json or application/json)",
                    "not-supported",
                    "_format",
                )
            ],
        )


def _negotiate(request: Request, offered: tuple[str, ...]) -> None:
    formats = request.query_params.getlist("_format")
    if formats:  # _format overrides Accept (http.html#mime)
        check_format(formats[-1])
        return
    accept = request.headers.get("accept")
    if not accepts(accept, offered):
        raise FhirError(
            406,
            [
                Issue(
                    f"this server answers in {', '.join(offered)} only; the request accepts none of "
                    f"them (Accept: {(accept or '')[:80]!r}). Send Accept: {offered[0]}, or none",
                    "not-supported",
                )
            ],
        )


async def json_accepted(request: Request) -> None:
    """Dependency of every FHIR route answering JSON: 406 unless the request accepts it."""
    _negotiate(request, JSON_TYPES)


async def ndjson_accepted(request: Request) -> None:
    """Dependency of the Bulk Data files (NDJSON; a JSON or wildcard Accept is taken too)."""
    _negotiate(request, (*NDJSON_TYPES, *JSON_TYPES))


def is_json_body(content_type: str | None) -> bool:
    """Whether a request body's Content-Type is FHIR JSON (none given: taken as JSON)."""
    return content_type is None or not content_type.strip() or _media_type(content_type) in JSON_TYPES
