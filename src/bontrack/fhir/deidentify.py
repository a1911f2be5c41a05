"""De-identified resources for researchers: no names, identifiers, free text or exact dates.

Every id and reference is replaced by a keyed pseudonym (the registry's pseudonym key, as the
research export uses), so a researcher can follow a patient's records without learning who they
are; dates keep only the year (HIPAA Safe Harbor), and a birth year is left out at 90 and over.
AuditEvent names the people who read records: it cannot be de-identified, and is refused (403).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from bontrack.fhir.mapping import Resource
from bontrack.fhir.outcome import FhirError, Issue
from bontrack.research.service import pseudonym

REFUSED = ("AuditEvent",)
KEEP_IDS = ("Questionnaire", "Organization")  # not about a person: their ids are kept (and all else)
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T.*)?)?)?$")
DATE_KEYS = frozenset(
    {
        "birthDate",
        "onsetDateTime",
        "recordedDate",
        "performedDateTime",
        "effectiveDateTime",
        "authored",
        "date",
        "detected",
        "start",
        "end",
        "authoredOn",
        "expirationDate",
    }
)
_CODING = ("coding.system", "coding.code")
_KNOWN_CODING = (*_CODING, "coding.display")  # display from bontrack's knowledge, never typed


def _under(prefix: str, *paths: str) -> tuple[str, ...]:
    return tuple(f"{prefix}.{p}" for p in paths)


# What a researcher gets of each type: an allow-list of element paths (list positions left out).
# Every other element is dropped, so a free-text element added to a mapping stays out of
# de-identified output until it is listed here. Left out on purpose: names, identifiers, telecom,
# meta (times of saving), notes, the override's written reason, AdverseEvent.event.text and
# .outcome (the clinician's words), CarePlan exercises (activity.detail.description), the
# diagnosis label (Condition.code's display and text: typed), lot numbers (they join to the
# recall list), device names, free-text answers (valueString).
ALLOWED: dict[str, frozenset[str]] = {
    rtype: frozenset(("resourceType", "id", "subject.reference", *paths))
    for rtype, paths in {
        "Patient": ("active", "gender", "birthDate", "managingOrganization.reference"),
        "Practitioner": ("active", "qualification.code.text"),
        "Condition": (
            *_under("clinicalStatus", *_CODING),
            *_under("verificationStatus", *_CODING),
            *_under("category", *_CODING),
            *_under("code", *_CODING),  # the ICD-10-CM code; its label is typed text
            "onsetDateTime",
            "recordedDate",
        ),
        "Procedure": (
            "extension.url",
            "extension.valueCode",  # the safety decision
            "status",
            *_under("code", *_KNOWN_CODING, "text"),
            "performedDateTime",
            "performer.actor.reference",
            "reasonReference.reference",
            *_under("bodySite", *_KNOWN_CODING, "text"),
        ),
        "MedicationAdministration": (
            "contained.resourceType",
            "contained.id",
            *_under("contained.code", *_KNOWN_CODING, "text"),
            "contained.batch.expirationDate",
            "extension.url",
            "extension.extension.url",
            *_under("extension.extension.valueCodeableConcept", *_KNOWN_CODING, "text"),
            "extension.extension.valueQuantity.value",
            "extension.extension.valueQuantity.unit",
            "status",
            "medicationReference.reference",
            "effectiveDateTime",
            "performer.actor.reference",
            "reasonReference.reference",
            "partOf.reference",
            "dosage.text",  # made from the sites' knowledge names and units
            *_under("dosage.route", *_KNOWN_CODING, "text"),
            "dosage.dose.value",
            "dosage.dose.unit",
        ),
        "QuestionnaireResponse": (
            "questionnaire",
            "status",
            "authored",
            "partOf.reference",
            "item.linkId",
            "item.text",  # the question, from the instrument's definition
            *_under("item.answer.valueCoding", "system", "code", "display"),
            "item.answer.valueInteger",
            "item.answer.valueDecimal",
            "item.answer.valueBoolean",
        ),
        "Observation": (
            "status",
            *_under("category", *_CODING),
            *_under("code", *_KNOWN_CODING, "text"),
            "effectiveDateTime",
            *_under("valueQuantity", "value", "unit", "system", "code"),
            "derivedFrom.reference",
            "partOf.reference",
            "performer.reference",
            *_under("bodySite", *_KNOWN_CODING, "text"),
        ),
        "AdverseEvent": (
            "actuality",
            *_under("event", *_KNOWN_CODING),  # a coded event type, were one recorded; never its text
            "date",
            "detected",
            "recordedDate",
            *_under("seriousness", *_CODING),
            *_under("severity", *_CODING),
            "suspectEntity.instance.reference",
            *_under("suspectEntity.causality.assessment", *_CODING),  # a code, never words typed
            *_under("outcome", *_CODING),  # the status's code; its text is the clinician's notes
        ),
        "CarePlan": (
            "status",
            "intent",
            "title",  # a fixed title
            "description",  # made from the numbers of weeks and visits
            "period.start",
            "period.end",
            "author.reference",
            "addresses.reference",
            "activity.reference.reference",
            "activity.detail.kind",
            "activity.detail.status",
            *_under("activity.detail.code", *_KNOWN_CODING),  # a coded exercise, were one recorded
        ),
        "ServiceRequest": (
            "basedOn.reference",
            "status",
            "intent",
            "code.text",  # a fixed text
            *_under("occurrenceTiming.repeat", "frequency", "period", "periodUnit"),
            *_under("occurrenceTiming.repeat.boundsPeriod", "start", "end"),
            "authoredOn",
            "performer.reference",
            "reasonReference.reference",
        ),
        "Encounter": (
            "status",
            "class.system",
            "class.code",
            "class.display",
            "type.text",  # a fixed text
            "basedOn.reference",
            "participant.individual.reference",
            "period.start",
            "period.end",
        ),
    }.items()
}
_PREFIXES: dict[str, frozenset[str]] = {
    rtype: frozenset(p.rsplit(".", n)[0] for p in paths for n in range(1, p.count(".") + 1))
    for rtype, paths in ALLOWED.items()
}


class Deidentifier:
    def __init__(self, key: bytes, today: dt.date) -> None:
        self.key = key
        self.today = today

    def pseudonym(self, record_id: str) -> str:
        return pseudonym(self.key, record_id)

    def refuse(self, resource_type: str) -> None:
        if resource_type in REFUSED:
            raise FhirError(
                403,
                [
                    Issue(
                        f"{resource_type} cannot be de-identified: it is not available to researchers",
                        "forbidden",
                        resource_type,
                    )
                ],
            )

    def resource(self, resource: Resource) -> Resource:
        rtype = resource["resourceType"]
        self.refuse(rtype)
        if rtype in KEEP_IDS:
            return resource
        if rtype not in ALLOWED:  # a type with no allow-list is not served de-identified
            raise FhirError(
                403, [Issue(f"{rtype} has no de-identified form: not available to researchers", "forbidden")]
            )
        out: Resource = self._clean(resource, rtype, "") or {}
        out["resourceType"] = rtype
        out["id"] = self.pseudonym(resource["id"])
        if rtype == "Patient" and "birthDate" in resource:
            born = int(resource["birthDate"][:4])
            if self.today.year - born >= 90:
                out.pop("birthDate", None)
        return out

    def _clean(self, node: Any, rtype: str, path: str) -> Any:
        """The allowed part of ``node`` (at ``path`` in a resource of ``rtype``); None when nothing
        of it is allowed. References are pseudonymised, dates cut to the year."""
        if isinstance(node, list):
            kept = [c for c in (self._clean(v, rtype, path) for v in node) if c is not None]
            return kept or None
        if not isinstance(node, dict):
            return node if path in ALLOWED[rtype] else None
        out: dict[str, Any] = {}
        for k, v in node.items():
            where = f"{path}.{k}" if path else k
            if where not in ALLOWED[rtype] and where not in _PREFIXES[rtype]:
                continue
            if k == "reference" and isinstance(v, str) and not v.startswith("#"):
                target, _, rid = v.partition("/")
                out[k] = v if target in KEEP_IDS else f"{target}/{self.pseudonym(rid)}"
                continue
            if k in DATE_KEYS and isinstance(v, str) and _DATE.match(v):
                out[k] = v[:4]
                continue
            cleaned = self._clean(v, rtype, where)
            if cleaned is not None:
                out[k] = cleaned
        if set(out) <= {"url"}:  # nothing left, or an extension with nothing but its url
            return None
        return out
