"""Questionnaire (from the instrument files), QuestionnaireResponse (an answered form) and
Observation (each score of a form; each pressure-pain threshold of an examination)."""

from __future__ import annotations

from typing import Any

from bontrack.assessments.schemas import AssessmentRead
from bontrack.fhir import codes
from bontrack.fhir.mapping import Resource, meta, ref
from bontrack.fhir.mapping.clinical import body_site
from bontrack.injections.schemas import InjectionSite
from bontrack.instruments.definitions import INSTRUMENT_IDS, Definition, Item, load_definition
from bontrack.outcomes.schemas import OutcomeRead

RECORD_ID_LENGTH = 36  # bontrack record ids are UUIDs; a score's Observation id adds "-<score>"
UCUM_UNITS = {"kPa": "kPa", "%": "%", "mm": "mm", "kg/cm2": "kg/cm2", "N/cm2": "N/cm2", "lbf": "[lbf_av]"}


def questionnaire_url(instrument: str) -> str:
    return f"{codes.QUESTIONNAIRE_BASE}/{instrument}"


def answers_system(instrument: str) -> str:
    return f"{codes.QUESTIONNAIRE_BASE}/{instrument}/answers"


def _item_text(d: Definition, item: Item) -> str:
    words = item.text or item.title
    stem = d.stems.get(item.stem, "") if item.stem else ""
    return f"{stem} {words}".strip() if stem else words


def questionnaire(instrument: str) -> Resource:
    d = load_definition(instrument)
    items: list[Resource] = []
    for item in d.items:
        entry: Resource = {"linkId": str(item.number), "text": _item_text(d, item), "required": False}
        if item.loinc:
            entry["code"] = [{"system": codes.LOINC, "code": item.loinc}]
        if item.options:
            entry["type"] = "choice"
            entry["answerOption"] = [
                {
                    "valueCoding": {
                        "system": answers_system(instrument),
                        "code": str(o.code),
                        "display": o.text,
                    }
                }
                for o in item.options
            ]
        else:
            entry["type"] = "integer"
            bounds = [("minValue", item.min), ("maxValue", item.max)]
            entry["extension"] = [
                {"url": f"http://hl7.org/fhir/StructureDefinition/{name}", "valueInteger": value}
                for name, value in bounds
                if value is not None
            ]
            if not entry["extension"]:
                del entry["extension"]
        items.append(entry)
    out: Resource = {
        "resourceType": "Questionnaire",
        "id": d.id,
        "url": questionnaire_url(d.id),
        "version": d.version,
        "name": d.short_name.replace("-", ""),
        "title": d.name,
        "status": "active",
        "subjectType": ["Patient"],
        "description": d.instructions,
        "copyright": f"{d.license} {d.attribution}",
        "item": items,
    }
    if d.codes.panel:
        out["code"] = [{"system": d.codes.system, "code": d.codes.panel}]
    return out


def questionnaires() -> list[Resource]:
    return [questionnaire(i) for i in INSTRUMENT_IDS]


def _answer(d: Definition, number: int, value: Any) -> Resource | None:
    item = d.item(number)
    if value is None:
        return None
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if item.options and isinstance(value, int | float) and float(value).is_integer():
        option = next((o for o in item.options if o.code == int(value)), None)
        display = {"display": option.text} if option is not None else {}
        return {"valueCoding": {"system": answers_system(d.id), "code": str(int(value)), **display}}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, float):
        return {"valueInteger": int(value)} if value.is_integer() else {"valueDecimal": value}
    return {"valueString": str(value)}


def questionnaire_response(o: OutcomeRead) -> Resource:
    d = load_definition(o.data.instrument)
    items: list[Resource] = []
    for key, value in sorted(o.data.answers.items(), key=lambda kv: d.item_keys.get(kv[0], 0)):
        number = d.item_keys.get(key)
        answer = _answer(d, number, value) if number is not None else None
        if number is not None and answer is not None:
            items.append({"linkId": str(number), "text": _item_text(d, d.item(number)), "answer": [answer]})
    out: Resource = {
        "resourceType": "QuestionnaireResponse",
        "id": o.id,
        "meta": meta(o),
        "questionnaire": questionnaire_url(d.id),
        "status": "completed",
        "subject": ref("Patient", o.data.patient_id),
        "authored": o.data.date.isoformat(),
        "item": items,
    }
    if o.data.session_id:
        out["partOf"] = [ref("Procedure", o.data.session_id)]
    return out


def observation_id(record_id: str, part: str) -> str:
    """A score's Observation id: the record id, "-", the score (FHIR ids allow no "_")."""
    return f"{record_id}-{part.replace('_', '-')}"


def score_observations(o: OutcomeRead) -> list[Resource]:
    d = load_definition(o.data.instrument)
    found: list[Resource] = []
    for name, value in o.data.scoring.scores.items():
        score = d.scores.get(name)
        if value is None or score is None:
            continue
        code = (
            {"system": codes.LOINC, "code": score.loinc, "display": score.label}
            if score.loinc
            else {
                "system": codes.LOCAL_SCORES,
                "code": f"{d.id}-{name}",
                "display": f"{d.short_name} {score.label}",
            }
        )
        quantity: Resource = {"value": value, "unit": score.unit}
        if score.unit in UCUM_UNITS:
            quantity |= {"system": codes.UCUM, "code": UCUM_UNITS[score.unit]}
        obs: Resource = {
            "resourceType": "Observation",
            "id": observation_id(o.id, name),
            "meta": meta(o),
            "status": "final",
            "category": [{"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": "survey"}]}],
            "code": {"coding": [code], "text": f"{d.short_name} {score.label}"},
            "subject": ref("Patient", o.data.patient_id),
            "effectiveDateTime": o.data.date.isoformat(),
            "valueQuantity": quantity,
            "derivedFrom": [ref("QuestionnaireResponse", o.id)],
        }
        if o.data.session_id:
            obs["partOf"] = [ref("Procedure", o.data.session_id)]
        found.append(obs)
    return found


def threshold_observations(a: AssessmentRead) -> list[Resource]:
    found: list[Resource] = []
    for i, t in enumerate(a.data.pressure_pain_thresholds, start=1):
        quantity: Resource = {"value": t.value, "unit": t.unit}
        if t.unit in UCUM_UNITS:
            quantity |= {"system": codes.UCUM, "code": UCUM_UNITS[t.unit]}
        found.append(
            {
                "resourceType": "Observation",
                "id": observation_id(a.id, f"ppt-{i}"),
                "meta": meta(a),
                "status": "final",
                "category": [{"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": "exam"}]}],
                "code": {
                    "coding": [
                        {
                            "system": codes.LOCAL_OBSERVATIONS,
                            "code": "pressure-pain-threshold",
                            "display": "Pressure-pain threshold",
                        }
                    ],
                    "text": "Pressure-pain threshold",
                },
                "subject": ref("Patient", a.data.patient_id),
                "effectiveDateTime": a.data.date.isoformat(),
                "performer": [ref("Practitioner", a.data.assessor_id)],
                "valueQuantity": quantity,
                "bodySite": body_site(InjectionSite.model_construct(muscle=t.muscle, side=t.side, units=1.0)),
                "device": {"display": t.device},
            }
        )
    return found
