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
from bontrack.fhir.outcome import FhirError, Issue
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
                    f"unknown search parameter {k!r} for {resource_type}; supported: "
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
    if fmt and fmt[-1] not in ("json", "application/fhir+json", "application/json"):
        raise _bad("_format", "only JSON is served: _format=json (or application/fhir+json)")
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
                "_include", f"_include={value!r} is not supported for {resource_type}; supported: {known}"
            )
        includes.append((source, param))
    for value in (v for k, v in given if k in ("_lastUpdated", "birthdate", "date")):
        _date_filter(value)  # checked now: a bad date is reported before any read
    return Query(resource_type, given, count, offset, includes)


def _int(given: list[tuple[str, str]], name: str, default: int, low: int, high: int) -> int:
    values = [v for k, v in given if k == name]
    if not values:
        return default
    text = values[-1]
    if not re.fullmatch(r"\d{1,9}", text) or not low <= int(text) <= high:
        raise _bad(name, f"{name} must be a whole number from {low} to {high}, got {text!r}")
    return int(text)


_DATE = re.compile(r"^(\d{4})(-(\d{2})(-(\d{2}))?)?(T.*)?$")


def _date_filter(value: str) -> tuple[str, dt.date, dt.date]:
    """A date search value: prefix, and the first and last day it covers (2025 = the whole year)."""
    prefix = value[:2] if value[:2] in DATE_PREFIXES else "eq"
    text = value[2:] if value[:2] in DATE_PREFIXES else value
    m = _DATE.match(text)
    try:
        if m is None:
            raise ValueError
        year, month, day = int(m.group(1)), m.group(3), m.group(5)
        if day is not None:
            first = last = dt.date(year, int(month or 1), int(day))
        elif month is not None:
            first = dt.date(year, int(month), 1)
            last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        else:
            first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    except ValueError:
        raise FhirError(
            400,
            [
                Issue(
                    f"{value!r} is not a date: give YYYY, YYYY-MM or YYYY-MM-DD, optionally after "
                    "a prefix (eq, ne, gt, lt, ge, le, sa, eb)",
                    "invalid",
                )
            ],
        ) from None
    return prefix, first, last


def date_matches(value: str, when: str | None) -> bool:
    if not when:
        return False
    prefix, first, last = _date_filter(value)
    day = dt.date.fromisoformat(when[:10]) if len(when) >= 10 else dt.date(int(when[:4]), 1, 1)
    return {
        "eq": first <= day <= last,
        "ne": not first <= day <= last,
        "gt": day > last,
        "sa": day > last,
        "lt": day < first,
        "eb": day < first,
        "ge": day >= first,
        "le": day <= last,
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
        if name == "_lastUpdated" and not date_matches(value, resource.get("meta", {}).get("lastUpdated")):
            return False
        if name in ("date",) and not date_matches(value, _when(resource)):
            return False
        if name == "code" and not set(value.split(",")) & _codes(resource):
            return False
        if name == "birthdate" and not date_matches(value, resource.get("birthDate")):
            return False
        if name == "gender" and resource.get("gender") != value:
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
