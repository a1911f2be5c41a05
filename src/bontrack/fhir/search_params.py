"""Search parameters: each type's parameters and _include values (the CapabilityStatement's
tables), checked (an unknown one is an error, never ignored), and the filters a resource is kept
by (dates with prefixes, codes, names, identifiers). No reading: ``bontrack.fhir.search`` reads,
pages and answers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bontrack.fhir.mapping import Resource
from bontrack.fhir.mapping.people import GENDER
from bontrack.fhir.negotiation import check_format
from bontrack.fhir.outcome import FhirError, Issue, shown
from bontrack.fhir.sources import PATIENT_TYPES

DEFAULT_COUNT = 50
MAX_COUNT = 500
COMMON = ("_id", "_lastUpdated", "_count", "_offset", "_include", "_format", "_total", "_summary")
# search parameters of each type, beyond COMMON
PARAMETERS: dict[str, tuple[str, ...]] = {
    "Patient": ("identifier", "name", "birthdate", "gender"),
    **{t: ("patient", "subject") for t in PATIENT_TYPES},
    "Observation": ("patient", "subject", "code", "date"),
    "Condition": ("patient", "subject", "code"),
    "Practitioner": (),
    "Organization": ("name",),
    "Questionnaire": ("url",),
    "AuditEvent": (),
}
# _include values: (type, search parameter) -> the element holding the reference
INCLUDES: dict[tuple[str, str], str] = {
    **{(t, "patient"): "subject" for t in PATIENT_TYPES},
    **{(t, "subject"): "subject" for t in PATIENT_TYPES},
    ("Procedure", "performer"): "performer.actor",
    ("MedicationAdministration", "performer"): "performer.actor",
    ("Observation", "derived-from"): "derivedFrom",
    ("Observation", "performer"): "performer",
    ("Patient", "organization"): "managingOrganization",
    ("Encounter", "participant"): "participant.individual",
    ("CarePlan", "author"): "author",
}
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")


@dataclass(frozen=True)
class Query:
    """A search's checked parameters."""

    resource_type: str
    params: list[tuple[str, str]]
    count: int
    offset: int
    includes: list[tuple[str, str]]

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.params if k == name]

    def value(self, name: str) -> str | None:
        found = self.values(name)
        return found[-1] if found else None


def _bad(param: str, message: str) -> FhirError:
    return FhirError(400, [Issue(message, "invalid", param)])


def parse(resource_type: str, params: Iterable[tuple[str, str]], *, extra: tuple[str, ...] = ()) -> Query:
    """Check the search parameters: unknown names, modifiers and bad values are a 400 naming them."""
    given = list(params)
    allowed = set(COMMON) | set(PARAMETERS[resource_type]) | set(extra)
    unknown = [k for k, _v in given if k not in allowed]
    if unknown:
        raise FhirError(
            400,
            [
                Issue(
                    f"unknown search parameter {shown(k)} for {resource_type}; supported: "
                    + ", ".join(sorted(allowed)),
                    "not-supported",
                    k,
                )
                for k in dict.fromkeys(unknown)
            ],
        )
    count = _int(given, "_count", DEFAULT_COUNT, 0, MAX_COUNT)
    offset = _int(given, "_offset", 0, 0, 10_000_000)
    fmt = [v for k, v in given if k == "_format"]
    if fmt:
        check_format(fmt[-1])
    for value in (v for k, v in given if k == "gender"):
        unknown = [g for g in value.split(",") if g not in GENDER.values()]
        if unknown:
            raise _bad(
                "gender",
                f"gender={unknown[0][:40]!r} is not a gender; allowed: {', '.join(GENDER.values())} "
                "(several, comma-separated, match any of them)",
            )
    for name, allowed_values in (
        ("_total", ("none", "estimate", "accurate")),
        ("_summary", ("count", "false")),
    ):
        chosen = [v for k, v in given if k == name]
        if chosen and chosen[-1] not in allowed_values:
            raise _bad(name, f"{name} must be one of {', '.join(allowed_values)} (the total is always exact)")
    if [v for k, v in given if k == "_summary"][-1:] == ["count"]:
        count = 0  # only the total
    includes = []
    for value in (v for k, v in given if k == "_include"):
        source, _, param = value.partition(":")
        if (source, param) not in INCLUDES or source != resource_type:
            known = ", ".join(f"{s}:{p}" for s, p in INCLUDES if s == resource_type) or "none"
            raise _bad(
                "_include",
                f"_include={shown(value)} is not supported for {resource_type}; supported: {known}",
            )
        includes.append((source, param))
    for name, value in ((k, v) for k, v in given if k in ("_lastUpdated", "birthdate", "date")):
        _date_filter(value, name)  # checked now: a bad date is reported before any read
    return Query(resource_type, given, count, offset, includes)


def _int(given: list[tuple[str, str]], name: str, default: int, low: int, high: int) -> int:
    values = [v for k, v in given if k == name]
    if not values:
        return default
    text = values[-1]
    if not re.fullmatch(r"\d{1,9}", text) or not low <= int(text) <= high:
        raise _bad(name, f"{name} must be a whole number from {low} to {high}, got {shown(text)}")
    return int(text)


_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def date_range(text: str) -> tuple[dt.datetime, dt.datetime]:
    """The implicit range of a FHIR date, dateTime or instant, as naive UTC: its first moment and
    the first moment after it (2025: the whole year; 2025-03-04T10:15Z: that minute; with
    seconds, that second). A time without a zone is taken as UTC. ValueError if it is not one
    (an impossible month, day, hour or minute included)."""
    m = _DATE.match(text)
    if m is None:
        raise ValueError(text)
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    if day is None:
        first = dt.datetime(int(year), int(month or 1), 1)
        if month is None:
            return first, first.replace(year=first.year + 1)
        after = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return first, after
    if hour is None:
        first = dt.datetime(int(year), int(month), int(day))
        return first, first + dt.timedelta(days=1)
    micro = int((fraction or ".0")[1:].ljust(6, "0"))
    first = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError(text)
        first -= sign * dt.timedelta(hours=hours, minutes=minutes)
    step = (
        dt.timedelta(microseconds=10 ** (6 - len(fraction) + 1))
        if fraction
        else dt.timedelta(seconds=1)
        if second is not None
        else dt.timedelta(minutes=1)
    )
    return first, first + step


def _date_filter(value: str, param: str = "date") -> tuple[str, dt.datetime, dt.datetime]:
    """A date search value: its prefix, and the range its precision implies (FHIR search: 2025 is
    the whole year, 2026-12-06T02:38:00Z that second)."""
    prefix = value[:2] if value[:2] in DATE_PREFIXES else "eq"
    text = value[2:] if value[:2] in DATE_PREFIXES else value
    try:
        low, high = date_range(text)
    except ValueError:
        raise FhirError(
            400,
            [
                Issue(
                    f"{param}={shown(value)} is not a date: give YYYY, YYYY-MM, YYYY-MM-DD or an instant "
                    "such as 2026-12-06T02:38:00Z (hours 00-23, minutes and seconds 00-59), "
                    "optionally after a prefix (eq, ne, gt, lt, ge, le, sa, eb)",
                    "invalid",
                    param,
                )
            ],
        ) from None
    return prefix, low, high


def date_matches(value: str, when: str | None, param: str = "date") -> bool:
    """Whether a resource's date, dateTime or instant ``when`` matches a search value, comparing
    the two implicit ranges as the FHIR search specification says for each prefix."""
    if not when:
        return False
    prefix, low, high = _date_filter(value, param)
    try:
        start, end = date_range(when)
    except ValueError:
        return False
    inside = low <= start and end <= high
    return {
        "eq": inside,
        "ne": not inside,
        "gt": end > high,
        "lt": start < low,
        "ge": end > high or inside,
        "le": start < low or inside,
        "sa": start >= high,
        "eb": end <= low,
    }[prefix]


def _when(resource: Resource) -> str | None:
    for key in ("effectiveDateTime", "performedDateTime", "authored", "onsetDateTime", "date"):
        if key in resource:
            return str(resource[key])
    return None


def _codes(resource: Resource) -> set[str]:
    found: set[str] = set()
    for c in resource.get("code", {}).get("coding", []) if isinstance(resource.get("code"), dict) else []:
        found |= {c.get("code", ""), f"{c.get('system', '')}|{c.get('code', '')}"}
    return found


def reference_id(value: str, resource_type: str) -> str:
    return value.removeprefix(f"{resource_type}/").rsplit("/", 1)[-1]


def keep(q: Query, resource: Resource) -> bool:
    """Whether a resource matches the query's filters (those not applied when reading)."""
    for name, value in q.params:
        if name == "_id" and resource.get("id") not in value.split(","):
            return False
        if name == "_lastUpdated" and not date_matches(
            value, resource.get("meta", {}).get("lastUpdated"), name
        ):
            return False
        if name in ("date",) and not date_matches(value, _when(resource), name):
            return False
        if name == "code" and not set(value.split(",")) & _codes(resource):
            return False
        if name == "birthdate" and not date_matches(value, resource.get("birthDate"), name):
            return False
        if name == "gender" and resource.get("gender") not in value.split(","):
            return False
        if name == "url" and resource.get("url") != value:
            return False
        if name == "name" and not _name_matches(resource, value):
            return False
        if name == "identifier" and not _identifier_matches(resource, value):
            return False
    return True


def _name_matches(resource: Resource, value: str) -> bool:
    """FHIR string search: any word of the name starts with the value, ignoring case."""
    wanted = value.strip().lower()
    names = (
        [n.get("text", "") for n in resource.get("name", [])]
        if isinstance(resource.get("name"), list)
        else [str(resource.get("name", ""))]
    )
    return any(
        full.lower().startswith(wanted) or any(w.startswith(wanted) for w in full.lower().split())
        for full in names
    )


def _identifier_matches(resource: Resource, value: str) -> bool:
    system, bar, wanted = value.rpartition("|")
    for ident in resource.get("identifier", []):
        if ident.get("value") == wanted and (not bar or not system or ident.get("system") == system):
            return True
    return False
