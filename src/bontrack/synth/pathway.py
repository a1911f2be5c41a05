"""One synthetic patient walked through the pathway: referral, screening, cycles, follow-up.

Per cycle: trigger-point examination a week before and screening on the day, physical therapy from a week
after, the session, adverse events, outcome visits at the knowledge base's weeks (some missed),
then retreatment no sooner than the product's minimum interval, or a dropout.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from bontrack.assessments.schemas import AssessmentCreate
from bontrack.injections.schemas import Override
from bontrack.knowledge import KnowledgeBase
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.patients.schemas import EpisodeCreate, PatientCreate
from bontrack.screening.schemas import ScreeningCreate
from bontrack.synth.answers import clamp, ndi_answers, nprs_answers, rand36_answers, response_shape
from bontrack.synth.calibration import Calibration
from bontrack.synth.events import adverse_events, override_reason
from bontrack.synth.items import Item, ItemKind, Staff, draw_id, opening_id_of
from bontrack.synth.names import contact, patient_name, record_number
from bontrack.synth.plans import Site, plan_session, weighted
from bontrack.therapy.schemas import TherapyPlanCreate, TherapyVisitCreate

WEEK = dt.timedelta(weeks=1)
# the blocks an early retreatment brings, which its override acknowledges: the interval, and the
# rolling window when the earlier dose and this one together pass its limit (an acknowledged code
# that does not block that plan is not recorded: injections.authority.check_override)
EARLY_BLOCKS = ["retreatment.too_soon", "dose.cumulative_window"]


@dataclass
class PatientWalk:
    """The state of one patient while the generator walks the pathway."""

    rng: random.Random
    kb: KnowledgeBase
    cal: Calibration
    staff: Staff
    as_of: dt.date  # nothing is generated after it
    first_referral: dt.date  # referrals from it to two weeks before as_of (synth.calibration.timeline)
    ids: dict[str, str] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)
    clock: int = 0

    def add(self, kind: ItemKind, day: dt.date, data: BaseModel, *, refusal: bool = False) -> str:
        record_id = draw_id(self.rng)
        self.clock += 1  # a second apart, in the order a clinic records them on a day
        at = dt.datetime.combine(day, dt.time(9, 0)) + dt.timedelta(seconds=self.clock)
        opening = opening_id_of(record_id) if kind == "session" else ""
        self.items.append(Item(kind, record_id, at, data, self.staff.clinic_id, refusal, opening))
        return record_id

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def outcome(self, day: dt.date, instrument: str, answers: Mapping[str, object], **follow: object) -> None:
        data = OutcomeCreate.model_validate(
            {
                "patient_id": self.ids["patient"],
                "episode_id": self.ids["episode"],
                "instrument": instrument,
                "date": day,
                "answers": answers,
                **follow,
            }
        )
        self.add("outcome", day, data)


def screening(w: PatientWalk, day: dt.date, sex: str, age: int, first: bool) -> tuple[ScreeningCreate, bool]:
    """A screening interview; True when it holds a contraindication that the engine blocks."""
    cal = w.cal
    meds = [m for m, share in cal.weights("screening.medications").items() if w.chance(share)]
    conditions = (
        [c for c, share in cal.weights("screening.conditions").items() if w.chance(share)] if first else []
    )
    allergies = (
        [a for a, share in cal.weights("screening.allergies").items() if w.chance(share)] if first else []
    )
    fertile = sex == "female" and age < 45
    pregnant = fertile and w.chance(cal.num("screening.states.pregnant_of_women_under_45"))
    breastfeeding = fertile and w.chance(cal.num("screening.states.breastfeeding_of_women_under_45"))
    infection = w.chance(cal.num("screening.states.infection_at_injection_site"))
    data = ScreeningCreate(
        patient_id=w.ids["patient"],
        date=day,
        pregnant=pregnant if sex == "female" else None,
        breastfeeding=breastfeeding if sex == "female" else None,
        infection_at_injection_site=infection,
        allergies=allergies,
        conditions=conditions,
        medications=meds,
    )
    blocked = pregnant or infection or any(w.kb.files.conditions[c].severity == "block" for c in conditions)
    return data, blocked


def trigger_points(w: PatientWalk) -> list[Site]:
    weights = w.cal.weights("trigger_points.muscle_weights")
    muscles = {m: weights.get(m, weights["other"]) for m in w.kb.files.muscles}
    wanted = w.rng.randint(
        int(w.cal.num("trigger_points.per_patient_low")), int(w.cal.num("trigger_points.per_patient_high"))
    )
    sites: list[Site] = []
    while len(sites) < wanted:
        site = (weighted(w.rng, muscles), w.rng.choice(w.kb.files.sides))
        if site not in sites:
            sites.append(site)
    return sites


def assessment(w: PatientWalk, day: dt.date, sites: list[Site]) -> AssessmentCreate:
    # criteria frequencies: spot tenderness 97%, referred pain 74%, local twitch 49%, recognition 46%
    # (systematic review of PT trials, REFERENCE.md section 3)
    return AssessmentCreate.model_validate(
        {
            "patient_id": w.ids["patient"],
            "episode_id": w.ids["episode"],
            "date": day,
            "assessor_id": w.ids["injector"],
            "trigger_points": [
                {
                    "muscle": m,
                    "side": s,
                    "taut_band": True,
                    "spot_tenderness": True,
                    "referred_pain": w.chance(0.74),
                    "pain_recognition": w.chance(0.46),
                    "local_twitch": w.chance(0.49),
                }
                for m, s in sites
            ],
        }
    )


def choose_product(w: PatientWalk, allergies: list[str]) -> str:
    """A product by the clinic's shares, avoiding any whose excipients the patient is allergic to."""
    shares = w.cal.weights("products.share")
    allowed = {p: s for p, s in shares.items() if not set(w.kb.product(p).excipients) & set(allergies)}
    return weighted(w.rng, allowed or shares)


def health_level(pain: float, ndi_percent: float) -> float:
    """Latent RAND-36 health (0-100) that falls with pain and disability."""
    return clamp(95 - 6 * pain - 0.3 * ndi_percent, 0, 100)


def therapy(w: PatientWalk, prep: dt.date, start: dt.date, until: dt.date) -> None:
    cal = w.cal
    weeks = int(cal.num("therapy.weeks"))
    per_week = int(w.rng.choice(cal.get("therapy.visits_per_week_choices")))
    plan = TherapyPlanCreate(
        patient_id=w.ids["patient"],
        episode_id=w.ids["episode"],
        therapist_id=w.ids["therapist"],
        start_date=start,
        weeks=weeks,
        visits_per_week=per_week,
        goals=["reduce neck pain", "restore cervical range of motion"],
        exercises=["myofascial release", "stretching", "scapular stabilisation"],
    )
    plan_id = w.add("therapy_plan", prep, plan)
    for week in range(weeks):
        for i in range(per_week):
            day = start + dt.timedelta(days=7 * week + (7 * i) // per_week)
            if day > until:
                return
            visit = TherapyVisitCreate(
                patient_id=w.ids["patient"],
                plan_id=plan_id,
                date=day,
                therapist_id=w.ids["therapist"],
                attended=w.chance(cal.num("therapy.attendance")),
            )
            w.add("therapy_visit", day, visit)


def walk(w: PatientWalk, number: int, batch: int) -> None:
    """Generate one patient's records into ``w.items``."""
    cal, rng, kb = w.cal, w.rng, w.kb
    sex = "female" if w.chance(cal.num("patients.female_fraction")) else "male"
    age = rng.randint(int(cal.num("patients.age_min")), int(cal.num("patients.age_max")))
    first = w.first_referral
    referral = first + dt.timedelta(days=rng.randrange((w.as_of - first).days - 14))
    birth = referral - dt.timedelta(days=age * 365 + rng.randrange(365))
    phone, email = contact(batch, number)
    patient = PatientCreate(
        record_number=record_number(batch, number),
        name=patient_name(rng),
        birth_date=birth,
        sex=sex,
        phone=phone,
        email=email,
    )
    w.ids["patient"] = w.add("patient", referral, patient)
    w.ids["injector"] = rng.choice(w.staff.physicians)
    w.ids["therapist"] = rng.choice(w.staff.therapists)
    months = rng.uniform(
        cal.num("patients.pain_duration_months.low"), cal.num("patients.pain_duration_months.high")
    )
    care = max(
        kb.files.pathway.conservative_care_min_weeks.value,
        rng.uniform(
            cal.num("patients.conservative_care_weeks.low"), cal.num("patients.conservative_care_weeks.high")
        ),
    )
    episode = EpisodeCreate.model_validate(
        {
            "patient_id": w.ids["patient"],
            "diagnosis_codes": [{"code": "M79.12", "label": "Myalgia of auxiliary muscles, head and neck"}]
            + ([{"code": "M54.2", "label": "Cervicalgia"}] if w.chance(0.5) else []),
            "pain_onset_date": referral - dt.timedelta(days=int(months * 30.4)),
            "conservative_care": ["home exercise", "physical therapy", "NSAIDs"][: rng.randint(1, 3)],
            "conservative_care_weeks": round(care),
        }
    )
    w.ids["episode"] = w.add("episode", referral, episode)

    pain0 = clamp(rng.gauss(cal.num("baseline.nprs.mean"), cal.num("baseline.nprs.sd")),
                  cal.num("baseline.nprs.low"), cal.num("baseline.nprs.high"))  # fmt: skip
    ndi0 = clamp(rng.gauss(cal.num("baseline.ndi_percent.mean"), cal.num("baseline.ndi_percent.sd")), 4, 90)
    peak = (
        cal.num("response.nonspecific_mean")
        + cal.num("response.specific_mean")
        + rng.gauss(0, cal.num("response.between_patient_sd"))
    )
    sites = trigger_points(w)
    # decided once per patient: who declines therapy declines it in every cycle
    declines_therapy = w.chance(cal.num("therapy.declined"))
    visit_weeks = kb.files.pathway.outcome_visit_weeks.weeks
    ndi_ratio = cal.num("response.ndi.ratio_to_pain")
    product = ""
    session_day = referral + WEEK
    override: Override | None = None
    for cycle in range(int(cal.num("cycles.max"))):
        prep = session_day - WEEK
        if session_day > w.as_of:
            return
        # the trigger points are examined a week before; the screening questions are asked on the
        # day of the injection, as the pathway asks (knowledge: pathway.screening_max_age_days and
        # pathway.pregnancy_check_ages)
        screen, blocked = screening(w, session_day, sex, age, first=cycle == 0)
        w.add("screening", session_day, screen)  # added here, dated the session day: same draws
        w.add("assessment", prep, assessment(w, prep, sites))
        if cycle == 0:
            product = choose_product(w, screen.allergies)
            w.outcome(prep, "nprs", nprs_answers(rng, pain0, cal))
            w.outcome(prep, "ndi", ndi_answers(rng, ndi0, cal))
            w.outcome(prep, "rand36", rand36_answers(rng, health_level(pain0, ndi0)))
        plan = plan_session(
            rng, kb, cal, ids=w.ids, product_id=product, sites=sites, day=session_day, first=cycle == 0,
            batch=batch, lot_draw=rng.randint(10000, 99999),
        )  # fmt: skip
        if override is not None and not blocked:
            # the override was written for the early date; a contraindication found at this
            # screening is another matter: the plan goes to the engine as it is, and is refused
            plan = plan.model_copy(update={"override": override})
        dropout = w.chance(cal.num("visits.dropout.after_cycle_responder"))  # re-drawn below by response
        response = peak + rng.gauss(0, cal.num("response.within_patient_sd"))
        responded = response * response_shape(6, cal) * 100 >= cal.num(
            "response.responder_target.threshold_percent"
        )
        key = "responder" if responded else "non_responder"
        dropout = w.chance(cal.num(f"visits.dropout.after_cycle_{key}"))
        gap = int(kb.product(product).min_retreatment_days.value)
        early = cycle + 1 < cal.num("cycles.max") and w.chance(cal.num("cycles.early_with_override"))
        next_day = session_day + dt.timedelta(
            days=gap - rng.randint(3, 7)
            if early
            else gap + round(rng.expovariate(1 / cal.num("cycles.extra_days_mean")))
        )
        # the therapy plan is written at the preparation visit, before the session
        lost = session_day + 6 * WEEK if dropout else min(w.as_of, next_day)
        if not declines_therapy:
            therapy(w, prep, session_day + WEEK, min(lost, w.as_of))
        session_id = w.add("session", session_day, plan, refusal=blocked)
        if blocked:
            return  # the engine refuses; the clinic does not inject and the patient leaves the pathway
        for event in adverse_events(
            rng, kb, cal, plan.model_copy(update={"product": product}), session_id=session_id, as_of=w.as_of
        ):
            w.add("adverse_event", event.reported_date, event)
        for week in visit_weeks:
            day = session_day + week * WEEK
            if (
                day > w.as_of
                or day > next_day
                or (dropout and day > lost)
                or w.chance(cal.num("visits.missed_visit"))
            ):
                continue
            effect = response * response_shape(week, cal)
            follow = {"session_id": session_id, "weeks_after_session": week}
            due = kb.files.pathway.outcome_visit_weeks.due_at(week)  # the visit's questionnaires
            if "nprs" in due:
                w.outcome(day, "nprs", nprs_answers(rng, pain0 * (1 - effect), cal), **follow)
            if "ndi" in due:
                w.outcome(day, "ndi", ndi_answers(rng, ndi0 * (1 - ndi_ratio * effect), cal), **follow)
            if "rand36" in due:
                pain = pain0 * (1 - effect)
                w.outcome(
                    day,
                    "rand36",
                    rand36_answers(rng, health_level(pain, ndi0 * (1 - ndi_ratio * effect))),
                    **follow,
                )
        if dropout:
            return
        override = (
            Override(clinician_id=w.ids["injector"], reason=override_reason(rng), acknowledged=EARLY_BLOCKS)
            if early
            else None
        )
        session_day = next_day
