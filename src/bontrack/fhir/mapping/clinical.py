"""Condition (the pain episode), Procedure and MedicationAdministration (an injection session),
and AdverseEvent."""

from __future__ import annotations

from typing import Any

from bontrack.clinical.findings import site_name
from bontrack.fhir import codes
from bontrack.fhir.mapping import Resource, meta, ref
from bontrack.injections import ae_terms
from bontrack.injections.schemas import AdverseEventRead, InjectionSite, SessionRead
from bontrack.knowledge import load_knowledge
from bontrack.patients.schemas import EpisodeRead
from bontrack.planning.knowledge import load_planning

EXT_DECISION = f"{codes.EXTENSION_BASE}/safety-decision"
EXT_OVERRIDE = f"{codes.EXTENSION_BASE}/override"
EXT_SITE_DOSE = f"{codes.EXTENSION_BASE}/site-dose"
TOXIN_UNITS = {"value": 0.0, "unit": "U"}  # product-specific units: no UCUM code exists


def condition(e: EpisodeRead) -> Resource:
    care = ", ".join(e.data.conservative_care) or "none recorded"
    return {
        "resourceType": "Condition",
        "id": e.id,
        "meta": meta(e),
        "clinicalStatus": {"coding": [{"system": codes.CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": codes.CONDITION_VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [{"system": codes.CONDITION_CATEGORY, "code": "problem-list-item"}]}],
        "code": {
            "coding": [
                {"system": codes.ICD10CM, "code": d.code, **({"display": d.label} if d.label else {})}
                for d in e.data.diagnosis_codes
            ],
            "text": "; ".join(d.label or d.code for d in e.data.diagnosis_codes),
        },
        "subject": ref("Patient", e.data.patient_id),
        "onsetDateTime": e.data.pain_onset_date.isoformat(),
        "recordedDate": e.recorded_at.date().isoformat(),
        "note": [
            {"text": f"Conservative care before toxin: {care}, for {e.data.conservative_care_weeks} weeks."}
        ],
    }


def body_site(site: InjectionSite) -> Resource:
    """A muscle and side: the muscle's SNOMED CT code from muscles.toml when it has one."""
    muscle = load_knowledge().muscle(site.muscle)
    coding = [{"system": codes.LOCAL_MUSCLES, "code": site.muscle}]
    if muscle is not None and muscle.snomed:
        coding.insert(0, {"system": codes.SNOMED, "code": muscle.snomed, "display": muscle.name})
    name = muscle.name if muscle is not None else site.muscle.replace("_", " ")
    return {"coding": coding, "text": f"{name}, {site.side}"}


def _decision_note(s: SessionRead) -> str:
    d = s.data.decision
    words = "; ".join(f.message for f in d.findings if f.severity != "info")
    return f"Safety check (knowledge {d.knowledge_version}): {d.decision}" + (f" - {words}" if words else "")


def procedure(s: SessionRead) -> Resource:
    term = codes.terminology().procedure["toxin_injection"]
    extensions: list[Resource] = [{"url": EXT_DECISION, "valueCode": s.data.decision.decision}]
    notes = [{"text": _decision_note(s)}]
    override = s.data.override
    if override is not None:
        parts: list[Resource] = [{"url": "reason", "valueString": override.reason}]
        if override.clinician_id:
            parts.insert(
                0, {"url": "clinician", "valueReference": ref("Practitioner", override.clinician_id)}
            )
        parts.extend({"url": "acknowledged", "valueCode": code} for code in override.acknowledged)
        extensions.append({"url": EXT_OVERRIDE, "extension": parts})
        notes.append({"text": f"Overridden by the physician: {override.reason}"})
    return {
        "resourceType": "Procedure",
        "id": s.id,
        "meta": meta(s),
        "extension": extensions,
        "status": "completed",
        "code": {
            "coding": [
                *codes.coding(term),
                {"system": codes.LOCAL_PROCEDURES, "code": "toxin_injection", "display": term.display},
            ],
            "text": term.display,
        },
        "subject": ref("Patient", s.data.patient_id),
        "performedDateTime": s.data.date.isoformat(),
        "performer": [{"actor": ref("Practitioner", s.data.injector_id)}],
        "reasonReference": [ref("Condition", s.data.episode_id)],
        "bodySite": [body_site(site) for site in s.data.sites],
        "note": notes,
    }


def _units(value: float) -> Resource:
    return {**TOXIN_UNITS, "value": value}


def product_concept(product_id: str, vial_units: float) -> Resource:
    """The product: NDC of its vial (billing.toml), RxNorm (terminology.toml) when known, local id."""
    coding: list[Resource] = []
    ndc = load_planning().billing.ndc.get(product_id, {}).get(f"{int(vial_units)}")
    if ndc is not None:
        coding.append({"system": codes.NDC, "code": ndc.ndc})
    rx = codes.terminology().rxnorm.get(product_id)
    if rx is not None and rx.code:
        coding.append({"system": codes.RXNORM, "code": rx.code, "display": rx.display})
    product = load_knowledge().files.products.get(product_id)
    name = product.name if product is not None else product_id
    brands = "/".join(b.upper() for b in product.brands) if product is not None else ""
    coding.append({"system": codes.LOCAL_PRODUCTS, "code": product_id, "display": name})
    return {"coding": coding, "text": f"{name} ({brands}) {vial_units:g} U vial" if brands else name}


def medication_administration(s: SessionRead) -> Resource:
    data = s.data
    route = codes.terminology().route["intramuscular"]
    medication: Resource = {
        "resourceType": "Medication",
        "id": "product",
        "code": product_concept(data.product, data.vial_units),
        "batch": {"lotNumber": data.lot, "expirationDate": data.lot_expiry.isoformat()},
    }
    site_doses: list[Any] = [
        {
            "url": EXT_SITE_DOSE,
            "extension": [
                {"url": "bodySite", "valueCodeableConcept": body_site(site)},
                {"url": "dose", "valueQuantity": _units(site.units)},
            ],
        }
        for site in data.sites
    ]
    per_site = "; ".join(f"{site_name(site.muscle, site.side)} {site.units:g} U" for site in data.sites)
    return {
        "resourceType": "MedicationAdministration",
        "id": s.id,
        "meta": meta(s),
        "contained": [medication],
        "extension": site_doses,
        "status": "completed",
        "medicationReference": {"reference": "#product"},
        "subject": ref("Patient", data.patient_id),
        "effectiveDateTime": data.date.isoformat(),
        "performer": [{"actor": ref("Practitioner", data.injector_id)}],
        "reasonReference": [ref("Condition", data.episode_id)],
        "partOf": [ref("Procedure", s.id)],
        "dosage": {
            "text": f"{data.total_units:g} U in all: {per_site}",
            "route": {"coding": codes.coding(route), "text": "intramuscular"},
            "dose": _units(data.total_units),
        },
    }


def adverse_event(a: AdverseEventRead) -> Resource:
    data = a.data
    out: Resource = {
        "resourceType": "AdverseEvent",
        "id": a.id,
        "meta": meta(a),
        "actuality": "actual",
        "event": {"text": data.event},
        "subject": ref("Patient", data.patient_id),
        "date": data.onset_date.isoformat(),
        "detected": data.reported_date.isoformat(),
        "recordedDate": a.recorded_at.date().isoformat(),
        "seriousness": {
            "coding": [
                {
                    "system": codes.ADVERSE_EVENT_SERIOUSNESS,
                    "code": "serious" if data.serious else "non-serious",
                }
            ]
        },
        "severity": {"coding": [{"system": codes.ADVERSE_EVENT_SEVERITY, "code": data.severity}]},
        "suspectEntity": [
            {"instance": ref("MedicationAdministration", data.session_id)} | _causality(data.relatedness),
        ],
    }
    outcome: Resource = {}
    if data.status is not None:  # the FHIR R4 AdverseEvent.outcome code (injections.ae_terms)
        terms = ae_terms.terms("status")
        outcome["coding"] = [{"system": terms.system, "code": terms.fhir[data.status]}]
    if data.outcome:  # the clinician's notes on it
        outcome["text"] = data.outcome
    if outcome:
        out["outcome"] = outcome
    return out


def _causality(relatedness: str | None) -> Resource:
    """The WHO-UMC category as FHIR's causality assessment code, with its words."""
    if relatedness is None:
        return {}
    terms = ae_terms.terms("relatedness")
    coding = {"system": terms.system, "code": terms.fhir[relatedness]}
    return {"causality": [{"assessment": {"coding": [coding], "text": terms.words[relatedness]}}]}
