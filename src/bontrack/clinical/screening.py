"""Screening rules: allergies, pregnancy and other states, conditions, medications, and whether
the answers are current. What a medicine entry names is read by bontrack.clinical.medicine_entries.

Sources are the knowledge base's screening.toml and pathway.toml entries; each finding cites its own.
One finding per code: entries that mean the same thing (a brand and its generic, "Coumadin" and
"warfarin 5 mg") or fall under the same rule are named together in one message, in a fixed
order, so neither repeating an entry nor reordering the list changes the findings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bontrack.clinical.findings import Finding, finding, screening_finding
from bontrack.clinical.medicine_entries import UNNAMED_TOXIN, read_entry
from bontrack.clinical.plan import Context, Patient
from bontrack.knowledge import KnowledgeBase
from bontrack.knowledge.loader import screening_key
from bontrack.knowledge.models import ScreeningItem, Severity
from bontrack.knowledge.screening_names import allergies_named, allergies_not_named, conditions_named


def _applies(item: ScreeningItem, product_id: str, kb: KnowledgeBase) -> bool:
    if item.products and product_id not in item.products:
        return False
    return not item.excipient or item.excipient in kb.product(product_id).excipients


def _distinct(names: Iterable[str]) -> list[str]:
    """Entries as written, once each (case and spacing ignored), in alphabetical order."""
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(" ".join(name.lower().split()), " ".join(name.split()))
    return [seen[key] for key in sorted(seen)]


def _quoted(names: Iterable[str]) -> str:
    """'Coumadin', 'warfarin 5 mg': each entry in single quotes, as written (no Python repr)."""
    return ", ".join(f"'{n}'" for n in _distinct(names))


def _as_entered(item_id: str, names: list[str]) -> str:
    """ " (entered as 'MG', 'Myasthenia Gravis')": the entries as written, leaving out the
    knowledge base's own id ("cows_milk_protein" is not quoted back to the clinician); "" when
    nothing is left."""
    shown = [n for n in names if screening_key(n) != item_id]
    return f" (entered as {_quoted(shown)})" if shown else ""


def _unknown(
    kb: KnowledgeBase, code: str, what: str, names: list[str], why: Iterable[str] = ()
) -> list[Finding]:
    """Entries the knowledge base does not know: accepted, but the clinician must check them;
    ``why``: what the knowledge base says of a phrase in them ("coconut milk: a plant milk ...")."""
    if not names:
        return []
    said = "; ".join(dict.fromkeys(why))
    return [
        Finding(
            code=code,
            severity="info",
            message=f"Not in the knowledge base (version {kb.version}), check yourself: {what} "
            f"{_quoted(names)}{f' ({said})' if said else ''}.",
            source=f"bontrack knowledge base {kb.version}",
        )
    ]


def _age_years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def screen_allergies(patient: Patient, product_id: str | None, kb: KnowledgeBase) -> list[Finding]:
    """Allergies against the planned product; without one (None), against every product: an
    allergy names the products it contraindicates, "every botulinum toxin product" if all. An
    entry is read by ``knowledge.screening_names.allergies_named`` ("Botox (hives)" is an allergy
    to botulinum toxin); one naming none is "not in the knowledge base" (info), saying why a
    phrase in it is not the allergy whose name it contains ("coconut milk": ``not_when``)."""
    products = list(kb.files.products) if product_id is None else [product_id]
    out = []
    unknown: list[str] = []
    by_item: dict[str, list[str]] = defaultdict(list)
    for name in patient.allergies:
        matches = allergies_named(name, kb)
        if not matches:
            unknown.append(name)
        for match in matches:
            by_item[match.item_id].append(name)
    for item_id in sorted(by_item):
        item, entered = kb.files.allergies[item_id], _as_entered(item_id, by_item[item_id])
        hit = [pid for pid in products if _applies(item, pid, kb)]
        if hit:
            every = product_id is None and len(hit) == len(products) > 1
            which = "every botulinum toxin product" if every else ", ".join(hit)
            message = f"{item.label}{entered}: contraindicates {which}."
            out.append(
                screening_finding(
                    kb, f"allergy.{item_id}", item.severity, message, item, product_id, item.advice
                )
            )
        else:
            message = f"{item.label}{entered}: recorded; does not apply to {product_id or 'any product'}."
            out.append(screening_finding(kb, f"allergy.{item_id}", "info", message, item, product_id))
    why = [reason for name in unknown for reason in allergies_not_named(name, kb)]
    return [*out, *_unknown(kb, "allergy.unknown", "allergy", unknown, why)]


STATES = ("pregnant", "breastfeeding", "infection_at_injection_site")
NOT_ASKED_OF_MALE = ("pregnant", "breastfeeding")


def states_asked(sex: str) -> tuple[str, ...]:
    """The screening's yes/no questions asked of a patient of this recorded sex: pregnancy and
    breastfeeding are not asked of a male patient (anyone else, "other" and "unknown" included,
    is asked). An answer given all the same is judged like any other: a "yes" still blocks.

    >>> states_asked("male")
    ('infection_at_injection_site',)
    >>> states_asked("unknown")
    ('pregnant', 'breastfeeding', 'infection_at_injection_site')
    """
    return tuple(s for s in STATES if not (sex == "male" and s in NOT_ASKED_OF_MALE))


def screen_states(patient: Patient, kb: KnowledgeBase, product_id: str | None = None) -> list[Finding]:
    """Pregnancy, breastfeeding and infection at the site; an unanswered question warns (one
    not asked of the patient, ``states_asked``, does not). Each cites the planned product's own
    label where recorded, else the class's fact (``product_id`` None: no plan yet)."""
    out = []
    answers = {
        "pregnant": patient.pregnant,
        "breastfeeding": patient.breastfeeding,
        "infection_at_injection_site": patient.infection_at_injection_site,
    }
    asked = states_asked(patient.sex)
    for state_id, answer in answers.items():
        item = kb.files.states[state_id]
        if answer:
            out.append(
                screening_finding(
                    kb,
                    f"screening.{state_id}",
                    item.severity,
                    f"{item.label}.",
                    item,
                    product_id,
                    item.advice,
                )
            )
        elif answer is None and state_id in asked:
            out.append(
                screening_finding(
                    kb,
                    f"screening.{state_id}.unanswered",
                    "warn",
                    f"Screening question not answered: {item.label.lower()}. Ask before injecting.",
                    item,
                    product_id,
                    item.advice,
                )
            )
    return out


def screening_stale(screened: date, on: date, kb: KnowledgeBase) -> bool:
    """Are screening answers of ``screened`` too old for a plan on ``on``? (pathway.screening_max_age_days:
    day 30 passes, day 31 blocks screening.stale)"""
    return (on - screened).days > kb.files.pathway.screening_max_age_days.value


def screen_currency(req: Context, kb: KnowledgeBase) -> list[Finding]:
    """Are the screening answers current? Unknown date warns; older than the pathway allows blocks;
    a woman who may be pregnant is asked again on the day of the injection."""
    path, patient = kb.files.pathway, req.patient
    out: list[Finding] = []
    screened = patient.screened_on
    max_days = path.screening_max_age_days
    if screened is None:
        out.append(
            finding(
                kb,
                "screening.date_unknown",
                "warn",
                "The date of these screening answers is not known.",
                max_days,
                "Confirm allergies, medicines, pregnancy and infection with the patient today.",
            )
        )
    else:
        days = (req.date - screened).days
        if screening_stale(screened, req.date, kb):
            out.append(
                finding(
                    kb,
                    "screening.stale",
                    "block",
                    f"Screening is {days} days old ({screened}); the plan may rely on answers at most "
                    f"{max_days.value:g} days old.",
                    max_days,
                    "Screen again today.",
                )
            )
    # Asked of everyone the pregnancy question is asked of (not of a male patient): a patient
    # whose sex is "other" or "unknown" may be pregnant too.
    ages = path.pregnancy_check_ages
    if (
        patient.sex != "male"
        and patient.pregnant is not None
        and ages.low <= _age_years(patient.birth_date, req.date) <= ages.high
        and screened != req.date
    ):
        when = f"last asked on {screened}" if screened is not None else "date of the answer unknown"
        out.append(
            finding(
                kb,
                "screening.pregnancy_not_today",
                "warn",
                f"Pregnancy status not confirmed today ({when}).",
                ages,
                "Confirm pregnancy status today before injecting.",
            )
        )
    return out


def screen_conditions(patient: Patient, kb: KnowledgeBase, product_id: str | None = None) -> list[Finding]:
    """Conditions, each citing the planned product's own label where recorded, else the class's
    fact. An entry is read as allergies are (``knowledge.screening_names.conditions_named``): a
    known name standing as whole words in it, so "Myasthenia gravis (ocular)" is myasthenia gravis."""
    out = []
    unknown: list[str] = []
    by_item: dict[str, list[str]] = defaultdict(list)
    for name in patient.conditions:
        matches = conditions_named(name, kb)
        if not matches:
            unknown.append(name)
        for match in matches:
            by_item[match.item_id].append(name)
    for item_id in sorted(by_item):
        item = kb.files.conditions[item_id]
        message = f"{item.label}{_as_entered(item_id, by_item[item_id])}."
        out.append(
            screening_finding(
                kb, f"condition.{item_id}", item.severity, message, item, product_id, item.advice
            )
        )
    return [*out, *_unknown(kb, "condition.unknown", "condition", unknown)]


def _named(generics: dict[str, list[str]]) -> str:
    """'warfarin (entered as 'Coumadin', 'warfarin 5 mg')', or just 'warfarin' when typed as such."""
    parts = []
    for generic in sorted(generics):
        entered = _distinct(generics[generic])
        if [e.lower() for e in entered] == [generic]:
            parts.append(generic)
        else:
            parts.append(f"{generic} (entered as {_quoted(entered)})")
    return "; ".join(parts)


def screen_medications(patient: Patient, kb: KnowledgeBase, product_id: str | None = None) -> list[Finding]:
    """Medicines by drug class, each citing the planned product's own label where recorded, else
    the class's fact; a botulinum toxin among them cites the pathway's interval rule."""
    out = []
    toxins: dict[str, list[str]] = defaultdict(list)
    classes: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    unknown: list[str] = []
    for name in patient.medications:
        read = read_entry(name, kb)
        for toxin in read.toxins:
            toxins[toxin].append(name)
        for match in read.drugs:
            classes[match.class_id][match.generic].append(name)
        if not read.known:
            unknown.append(name)
    if toxins:
        record = (
            "record its dates and doses in the history so the interval and cumulative rules can see it"
            if UNNAMED_TOXIN not in toxins
            else "record the dates and doses of a product the check knows in the history; for any "
            "other, judge the interval yourself"
        )
        out.append(
            finding(
                kb,
                "medication.botulinum_toxin",
                "warn",
                f"A botulinum toxin is listed among the medicines: {_named(toxins)}. {record[0].upper()}"
                f"{record[1:]}.",
                kb.files.pathway.other_product_interval,
                "Ask who gives it, for what, and when it was last given.",
            )
        )
    for class_id in sorted(classes):
        cls = kb.files.drug_classes[class_id]
        out.append(
            screening_finding(
                kb,
                f"medication.{class_id}",
                cls.severity,
                f"{cls.label}: {_named(classes[class_id])}.",
                cls,
                product_id,
                cls.advice,
            )
        )
    return [*out, *_unknown(kb, "medication.unknown", "medication", unknown)]


@dataclass(frozen=True)
class MedicationFlag:
    """What the engine reads in one medicine entry: the severity of its worst rule (None: a
    medicine with no labelled interaction) and the words for it."""

    entry: str
    severity: Severity | None
    label: str


def medication_flags(names: Iterable[str], kb: KnowledgeBase) -> list[MedicationFlag]:
    """Each entry as ``screen_medications`` reads it: a botulinum toxin (warn), the interacting
    drug classes it names, not in the knowledge base (info), or nothing to flag."""
    order = {"block": 0, "warn": 1, "info": 2}
    out = []
    for name in names:
        read = read_entry(name, kb)
        flags: list[tuple[Severity, str]] = [("warn", "botulinum toxin")] if read.toxins else []
        flags += [(m.drug_class.severity, m.drug_class.label) for m in read.drugs]
        if not read.known:
            flags.append(("info", "not in the knowledge base: check it yourself"))
        flags.sort(key=lambda f: order[f[0]])
        labels = "; ".join(dict.fromkeys(label for _, label in flags))
        out.append(MedicationFlag(name, flags[0][0] if flags else None, labels or "no known interaction"))
    return out
