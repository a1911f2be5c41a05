"""Screening rules: allergies, pregnancy and other states, conditions, and medications.

Sources are the knowledge base's screening.toml entries; each finding cites its own.
"""

from __future__ import annotations

from bontrack.clinical.findings import Finding, finding
from bontrack.clinical.plan import Patient
from bontrack.knowledge import KnowledgeBase
from bontrack.knowledge.models import ScreeningItem


def _applies(item: ScreeningItem, product_id: str, kb: KnowledgeBase) -> bool:
    if item.products and product_id not in item.products:
        return False
    return not item.excipient or item.excipient in kb.product(product_id).excipients


def _unknown(kb: KnowledgeBase, code: str, what: str, name: str) -> Finding:
    """An entry the knowledge base does not know: accepted, but the clinician must check it."""
    return Finding(
        code=code,
        severity="info",
        message=f"{what} {name!r} is not in the knowledge base (version {kb.version}): check it yourself.",
        source=f"bontrack knowledge base {kb.version}",
    )


def screen_allergies(patient: Patient, product_id: str, kb: KnowledgeBase) -> list[Finding]:
    out = []
    for name in patient.allergies:
        item = kb.files.allergies.get(name.strip().lower())
        if item is None:
            out.append(_unknown(kb, "allergy.unknown", "Allergy", name))
        elif _applies(item, product_id, kb):
            out.append(
                finding(
                    kb,
                    f"allergy.{name.strip().lower()}",
                    item.severity,
                    f"{item.label}: contraindicates {product_id}.",
                    item,
                    item.advice,
                )
            )
        else:
            out.append(
                finding(
                    kb,
                    f"allergy.{name.strip().lower()}",
                    "info",
                    f"{item.label}: recorded; does not apply to {product_id}.",
                    item,
                )
            )
    return out


def screen_states(patient: Patient, kb: KnowledgeBase) -> list[Finding]:
    """Pregnancy, breastfeeding and infection at the site; an unanswered question warns."""
    out = []
    answers = {
        "pregnant": patient.pregnant,
        "breastfeeding": patient.breastfeeding,
        "infection_at_injection_site": patient.infection_at_injection_site,
    }
    for state_id, answer in answers.items():
        item = kb.files.states[state_id]
        if answer:
            out.append(
                finding(kb, f"screening.{state_id}", item.severity, f"{item.label}.", item, item.advice)
            )
        elif answer is None and not (state_id != "infection_at_injection_site" and patient.sex == "male"):
            out.append(
                finding(
                    kb,
                    f"screening.{state_id}.unanswered",
                    "warn",
                    f"Screening question not answered: {item.label.lower()}. Ask before injecting.",
                    item,
                    item.advice,
                )
            )
    return out


def screen_conditions(patient: Patient, kb: KnowledgeBase) -> list[Finding]:
    out = []
    for name in patient.conditions:
        key = name.strip().lower()
        item = kb.files.conditions.get(key)
        if item is None:
            out.append(_unknown(kb, "condition.unknown", "Condition", name))
        else:
            out.append(finding(kb, f"condition.{key}", item.severity, f"{item.label}.", item, item.advice))
    return out


def screen_medications(patient: Patient, kb: KnowledgeBase) -> list[Finding]:
    out = []
    for name in patient.medications:
        match = kb.drug(name)
        if match is None:
            out.append(_unknown(kb, "medication.unknown", "Medication", name))
            continue
        shown = name if name.strip().lower() == match.generic else f"{name} ({match.generic})"
        cls = match.drug_class
        out.append(
            finding(
                kb,
                f"medication.{match.class_id}",
                cls.severity,
                f"{cls.label}: {shown}.",
                cls,
                cls.advice,
            )
        )
    return out


def screen(patient: Patient, product_id: str, kb: KnowledgeBase) -> list[Finding]:
    """All screening findings for one patient and the planned product."""
    return [
        *screen_allergies(patient, product_id, kb),
        *screen_states(patient, kb),
        *screen_conditions(patient, kb),
        *screen_medications(patient, kb),
    ]
