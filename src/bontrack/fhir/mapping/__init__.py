"""bontrack records -> FHIR resources (plain JSON, validated by ``validate``).

Each function takes what a service returned (``XRead``) and gives one resource as a dict; ids
are the records' own ids (a score's Observation: ``<outcome id>-<score>``), and ``meta`` carries
the version and when it was saved.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from bontrack.records import Stored

Resource = dict[str, Any]


def meta(record: Stored[Any]) -> dict[str, str]:
    """meta.versionId and meta.lastUpdated of a stored record."""
    return {"versionId": str(record.version), "lastUpdated": instant(record.recorded_at)}


def instant(at: Any) -> str:
    """A stored time (naive UTC) as a FHIR instant."""
    text: str = at.isoformat(timespec="seconds")
    return text if at.tzinfo is not None else text + "Z"


def ref(resource_type: str, record_id: str, display: str | None = None) -> dict[str, str]:
    out = {"reference": f"{resource_type}/{record_id}"}
    if display:
        out["display"] = display
    return out


@cache
def model(resource_type: str) -> Any:
    return get_fhir_model_class(resource_type)


def validate(resource: Resource) -> Resource:
    """Check a resource against fhir.resources' model of its type (raises on an invalid one)."""
    model(resource["resourceType"]).model_validate(resource)
    return resource
