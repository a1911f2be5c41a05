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
from bontrack.fhir.mapping.clinical import EXT_OVERRIDE
from bontrack.fhir.outcome import FhirError, Issue
from bontrack.research.service import pseudonym

REFUSED = ("AuditEvent",)
KEEP_IDS = ("Questionnaire", "Organization")  # not about a person: their ids are kept
DROPPED = frozenset({"name", "identifier", "telecom", "address", "note", "outcomeDesc", "meta", "device"})
FREE_TEXT_EXTENSIONS = (EXT_OVERRIDE,)  # the override's written reason
FREE_TEXT_ELEMENTS = ("outcome",)  # AdverseEvent.outcome.text is the clinician's words
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
        out: Resource = self._clean(resource, top=True)
        if rtype not in KEEP_IDS:
            out["id"] = self.pseudonym(resource["id"])
        if rtype == "Patient" and "birthDate" in resource:
            born = int(resource["birthDate"][:4])
            if self.today.year - born >= 90:
                out.pop("birthDate", None)
        return out

    def _clean(self, node: Any, top: bool = False, key: str = "") -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for k, v in node.items():
                if k in DROPPED or (k in FREE_TEXT_ELEMENTS and top):
                    continue
                if k == "display" and key in ("subject", "actor", "individual", "author", "who"):
                    continue
                if k == "reference" and isinstance(v, str) and not v.startswith("#"):
                    rtype, _, rid = v.partition("/")
                    out[k] = v if rtype in KEEP_IDS else f"{rtype}/{self.pseudonym(rid)}"
                    continue
                if k in DATE_KEYS and isinstance(v, str) and _DATE.match(v):
                    out[k] = v[:4]
                    continue
                out[k] = self._clean(v, key=k)
            return out
        if isinstance(node, list):
            return [
                self._clean(v, key=key)
                for v in node
                if not (isinstance(v, dict) and v.get("url") in FREE_TEXT_EXTENSIONS)
            ]
        return node
