"""The chart's banner, its timeline by cycle with filters, and the injection dates on the plot's
axis: through the TestClient on a real registry (the banner test on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import Counter

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bontrack.audit.models import AuditEntry
from bontrack.injections.schemas import AdverseEventCreate
from bontrack.injections.service import report_adverse_event
from bontrack.knowledge import load_knowledge
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.outcomes.service import outcomes_of_patient, record_outcome, update_outcome
from bontrack.patients.listing import age_on
from bontrack.screening.schemas import ScreeningCreate
from bontrack.screening.service import create_screening
from bontrack.storage.engine import transaction
from bontrack.therapy.schemas import TherapyVisitCreate
from bontrack.therapy.service import record_visit
from factories import ACTOR, DAY, World, saved_session
from web.conftest import Site, log_in, make_site, populate

KB = load_knowledge()
INTERVAL = int(KB.product("onabotulinumtoxinA").min_retreatment_days.value)
STALE_AFTER = int(KB.files.pathway.screening_max_age_days.value)


def _nprs(
    db: Session, w: World, day: dt.date, score: int, session_id: str | None = None, weeks: int | None = None
) -> None:
    record_outcome(
        db=db,
        actor=ACTOR,
        data=OutcomeCreate(
            patient_id=w.patient_id,
            episode_id=w.episode_id,
            instrument="nprs",
            date=day,
            answers={"1": score},
            session_id=session_id,
            weeks_after_session=weeks,
        ),
    )


def two_cycles_without_response(engine: Engine, w: World) -> list[str]:
    """Two sessions INTERVAL days apart, each NPRS 8 before and 7 at week 6 (12.5% better: no
    response), screened with an NSAID, an unknown medicine and a cow's milk allergy; one open and one
    resolved adverse event. Returns the session ids."""
    ids = []
    with transaction(engine) as db:
        create_screening(
            db=db,
            actor=ACTOR,
            data=ScreeningCreate(
                patient_id=w.patient_id,
                date=DAY - dt.timedelta(days=1),
                pregnant=False,
                breastfeeding=False,
                infection_at_injection_site=False,
                allergies=["cows_milk_protein"],
                medications=["Advil 200 mg", "paracetamol", "zzqx tablets"],
            ),
        )
        for n in range(2):
            day = DAY + dt.timedelta(days=n * INTERVAL)
            _nprs(db, w, day, 8)
            session = saved_session(db, w, day=day)
            ids.append(session.id)
            _nprs(db, w, day + dt.timedelta(weeks=6), 7, session.id, 6)
        for outcome, event in (("resolved after a week", "neck weakness"), ("", "dysphagia")):
            report_adverse_event(
                db=db,
                actor=ACTOR,
                data=AdverseEventCreate(
                    patient_id=w.patient_id,
                    session_id=ids[-1],
                    event=event,
                    onset_date=DAY + dt.timedelta(days=INTERVAL + 3),
                    reported_date=DAY + dt.timedelta(days=INTERVAL + 5),
                    severity="mild",
                    outcome=outcome,
                ),
            )
    return ids


def banner_text(page: str) -> str:
    found = re.search(r'<section class="card banner".*?</section>', page, re.DOTALL)
    assert found, "no banner on the chart"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())


def test_banner__the_facts_for_can_i_inject_today_on_each_engine(engine: Engine) -> None:
    site = make_site(engine, populate(engine))
    w = site.world
    two_cycles_without_response(engine, w)
    last = DAY + dt.timedelta(days=INTERVAL)
    site.clock.now = dt.datetime.combine(last + dt.timedelta(days=60), dt.time(9))
    log_in(site, "physician")
    text = banner_text(site.client.get(f"/patients/{w.patient_id}").text)
    assert "Test Patient" in text and "P-001" in text and "female" in text
    assert f"{age_on(dt.date(1978, 5, 4), site.clock.now.date())} years" in text  # the factory's birth date
    assert "Allergies Cow's milk protein allergy" in text  # the knowledge base's words
    # medicines as the engine reads them: the NSAID warns, paracetamol has no finding, the unknown is info
    assert re.search(r"Advil 200 mg warn Non-steroidal", text), text
    assert "paracetamol zzqx tablets" in text  # no flag between them
    assert "zzqx tablets info not in the knowledge base" in text
    assert f"Last session {last} · onabotulinumtoxinA (Botox) · 50 U" in text
    # the engine's same-product interval: the earliest date is INTERVAL days after the last session
    assert f"onabotulinumtoxinA (Botox): now (from {last + dt.timedelta(days=INTERVAL)})" not in text
    assert f"onabotulinumtoxinA (Botox): {last + dt.timedelta(days=INTERVAL)}" in text
    assert "Last cycle no response" in text
    # the engine's stop-and-review warning, among what stands today (once: no separate flag)
    assert text.count("The last 2 cycles brought no 30% fall in pain: stop and review") == 1
    assert "dysphagia (mild) since" in text and "neck weakness" not in text  # only the open event
    # the screening (re-done on the second session day) is 60 days old: red, and the engine's
    # 30-day rule blocks, said once, among what stands today
    assert f"Screening {last}, 60 days ago" in text
    assert text.count(f"block Screening is 60 days old ({last})") == 1


def test_banner__fresh_screening_and_eligible_today(site: Site) -> None:
    w = site.world
    with transaction(site.engine) as db:
        saved_session(db, w, day=DAY)
    site.clock.now = dt.datetime.combine(DAY + dt.timedelta(days=INTERVAL), dt.time(9))
    with transaction(site.engine) as db:  # screened today: not stale
        create_screening(
            db=db,
            actor=ACTOR,
            data=ScreeningCreate(patient_id=w.patient_id, date=site.clock.now.date(), pregnant=False),
        )
    log_in(site, "physician")
    text = banner_text(site.client.get(f"/patients/{w.patient_id}").text)
    assert "too old" not in text and "(today)" in text
    assert f"onabotulinumtoxinA (Botox): now (from {site.clock.now.date()})" in text
    assert "Stop and review" not in text and "Last cycle not judged yet" in text
    assert "Open adverse events none" in text and "Medications none recorded" in text


def test_banner__a_stale_screening_on_the_boundary_day(site: Site) -> None:
    """Day 30 passes, day 31 is too old (the engine's rule, pathway.screening_max_age_days)."""
    w = site.world
    screened = DAY - dt.timedelta(days=7)  # the factory's screening
    for days, stale in ((STALE_AFTER, False), (STALE_AFTER + 1, True)):
        site.clock.now = dt.datetime.combine(screened + dt.timedelta(days=days), dt.time(9))
        log_in(site, "staff")  # a new day, a new log-in
        text = banner_text(site.client.get(f"/patients/{w.patient_id}").text)
        assert ("block Screening is 31 days old" in text) is stale, (days, text)


def test_chart__each_outcome_is_read_once_for_timeline_and_banner(site: Site) -> None:
    """The banner reuses the chart's reads: no second read (audit entry) of any record."""
    w = site.world
    two_cycles_without_response(site.engine, w)
    log_in(site, "physician")
    with transaction(site.engine) as db:
        before = db.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    assert site.client.get(f"/patients/{w.patient_id}").status_code == 200
    with transaction(site.engine) as db:
        entries = list(db.scalars(select(AuditEntry).where(AuditEntry.seq > before)))
    reads = Counter((e.record_type, e.record_id) for e in entries if e.action == "read")
    outcomes = [k for k in reads if k[0] == "outcome"]
    assert len(outcomes) == 4  # two baselines, two follow-ups
    assert all(reads[k] == 1 for k in outcomes), reads


def test_timeline__grouped_by_cycle_newest_first_with_filters_and_folded_therapy(site: Site) -> None:
    w = site.world
    ids = two_cycles_without_response(site.engine, w)
    with transaction(site.engine) as db:
        for n in range(3):  # three visits of the plan in the first cycle: one folded line
            record_visit(
                db=db,
                actor=ACTOR,
                data=TherapyVisitCreate(
                    patient_id=w.patient_id,
                    plan_id=w.plan_id,
                    date=DAY + dt.timedelta(days=3 + 7 * n),
                    therapist_id=w.clinician_id,
                    attended=n != 1,
                ),
            )
        follow = [
            o for o in outcomes_of_patient(db=db, actor=ACTOR, patient_id=w.patient_id) if o.data.session_id
        ]
        update_outcome(
            db=db,
            actor=ACTOR,
            outcome_id=follow[0].id,
            data=OutcomeCreate(
                **follow[0].data.model_dump(exclude={"scoring", "patient_reported", "date"}),
                date=follow[0].data.date + dt.timedelta(days=1),
            ),
            reason="typed on the wrong day",
        )
    site.clock.now = dt.datetime.combine(DAY + dt.timedelta(days=2 * INTERVAL), dt.time(9))
    log_in(site, "physician")
    page = site.client.get(f"/patients/{w.patient_id}").text
    headings = re.findall(r"<h3>(Cycle \d|Before the first injection)", page)
    assert headings == ["Cycle 2", "Cycle 1", "Before the first injection"]  # the factory's exam
    cycle1 = page[page.index("Cycle 1:") :]
    assert "3 visits from" in cycle1 and "2 attended, 1 missed" in cycle1
    assert cycle1.count("<strong>Therapy visit</strong>") == 0  # folded, not one line each
    assert f"?session={ids[0]}" in cycle1

    outcomes_only = site.client.get(f"/patients/{w.patient_id}?show=outcomes").text
    timeline = outcomes_only[outcomes_only.index('id="timeline"') :]
    assert "<strong>NPRS</strong>" in timeline
    assert "<strong>Injection</strong>" not in timeline and "<strong>Screening</strong>" not in timeline
    assert 'value="outcomes" data-autosubmit checked' in timeline

    events = site.client.get(f"/patients/{w.patient_id}?show=adverse_events").text
    timeline = events[events.index('id="timeline"') :]
    assert timeline.count("<strong>Adverse event</strong>") == 2 and "<strong>NPRS</strong>" not in timeline

    corrected = site.client.get(f"/patients/{w.patient_id}?show=corrections").text
    timeline = corrected[corrected.index('id="timeline"') :]
    assert timeline.count("<strong>NPRS</strong>") == 1 and "corrected</span>" in timeline
    assert "<strong>Injection</strong>" not in timeline

    therapy = site.client.get(f"/patients/{w.patient_id}?show=therapy&show=nonsense").text
    assert "<strong>Therapy visits</strong>" in therapy and "<strong>Therapy plan</strong>" in therapy


def test_plot__each_injection_date_is_on_the_axis(site: Site) -> None:
    w = site.world
    two_cycles_without_response(site.engine, w)
    log_in(site, "staff")
    page = site.client.get(f"/patients/{w.patient_id}").text
    dates = re.findall(r'class="injection-date"[^>]*>([^<]+)</text>', page)
    second = DAY + dt.timedelta(days=INTERVAL)
    assert dates == [f"{DAY:%d %b %Y}", f"{second:%d %b %Y}"]


def test_screening_api__a_list_of_10000_medicines_is_refused_naming_the_field_and_the_maximum(
    site: Site,
) -> None:
    body = {"patient_id": site.world.patient_id, "date": str(DAY), "medications": ["ibuprofen"] * 10_000}
    refused = site.client.post("/api/screenings", json=body, headers=site.bearer("staff"))
    assert refused.status_code == 422
    ((field, message, text),) = [(e["field"], e["message"], e["text"]) for e in refused.json()["errors"]]
    assert (field, message) == ("medications", "can have at most 100 medicines; 10,000 were given")
    assert text == "Medications can have at most 100 medicines; 10,000 were given."
    for field, words in (("allergies", "allergies"), ("conditions", "conditions")):
        many = {"patient_id": site.world.patient_id, "date": str(DAY), field: ["dysphagia"] * 101}
        error = site.client.post("/api/screenings", json=many, headers=site.bearer("staff")).json()["errors"][
            0
        ]
        assert (error["field"], error["message"]) == (field, f"can have at most 100 {words}; 101 were given")
    body["medications"] = [f"medicine {n}" for n in range(100)]
    assert site.client.post("/api/screenings", json=body, headers=site.bearer("staff")).status_code == 201


def test_screening_form__too_many_medicines_in_plain_words(site: Site) -> None:
    log_in(site, "staff")
    path = f"/patients/{site.world.patient_id}/screenings/new"
    token = re.search(r'name="csrf_token" value="([^"]+)"', site.client.get(path).text)
    assert token
    fields = {"csrf_token": token.group(1), "date": str(DAY), "medications": "ibuprofen\n" * 150}
    page = site.client.post(path, data=fields)
    assert page.status_code == 400
    assert "Medications can have at most 100 medicines; 150 were given." in html.unescape(page.text)


def test_banner__each_medicine_once_and_a_long_stored_list_capped(site: Site) -> None:
    """A screening stored before lists had a maximum (10,000 entries) still renders: each entry
    once, case and spacing ignored, at most 20 of them, every flagged one among them."""
    from bontrack.screening.service import _SCREENING

    w = site.world
    listed = [f"vitamin {n}" for n in range(40)] + ["warfarin 5 mg"]
    stored = ScreeningCreate.model_validate(
        {
            "patient_id": w.patient_id,
            "date": str(DAY),
            "medications": ["ibuprofen", "Ibuprofen ", "IBUPROFEN"] * 3_000 + listed + ["ibuprofen"] * 999,
            "allergies": ["albumin", "Albumin", "ALBUMIN"],
        },
        context={"stored": True},  # as read back: no maximum applies
    )
    with transaction(site.engine) as db:
        _SCREENING.create(db, ACTOR, stored, w.clinic_id)
    site.clock.now = dt.datetime.combine(DAY, dt.time(9))
    log_in(site, "physician")
    page = site.client.get(f"/patients/{w.patient_id}")
    assert page.status_code == 200
    shown = {
        name: " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
        for name, body in re.findall(r"<dt>(\w+)</dt><dd>(.*?)</dd>", page.text)
    }
    medicines = shown["Medications"]
    assert medicines.lower().count("ibuprofen") == 1 and medicines.startswith("ibuprofen warn")  # once
    assert "warfarin 5 mg warn" in medicines  # flagged: shown although it comes after the cap
    assert "vitamin 17" in medicines and "vitamin 18" not in medicines  # 20 shown: 2 flagged, 18 others
    assert medicines.endswith("and 22 more")  # 42 distinct entries
    assert shown["Allergies"] == "Allergy to human albumin"  # "albumin", "Albumin", "ALBUMIN": once
    # the decision's findings, among what stands today: one per distinct drug, each written once
    standing = banner_text(page.text)
    assert standing.count("Non-steroidal anti-inflammatory drug: ibuprofen.") == 1
    assert standing.count("Anticoagulant: warfarin (entered as 'warfarin 5 mg').") == 1
    # the screening's line on the timeline: 43 distinct entries (with the allergy), 20 shown
    assert "and 23 more" in page.text


def test_entries__doctests() -> None:
    import doctest

    import bontrack.web.entries

    failed, tried = doctest.testmod(bontrack.web.entries)
    assert tried and not failed


def test_timeline__a_therapy_plan_counts_in_words() -> None:
    from types import SimpleNamespace

    from bontrack.web.chart_timeline import timeline_rows

    def plan(weeks: int, visits: int) -> SimpleNamespace:
        goals = ["reduce neck pain"]
        data = SimpleNamespace(start_date=DAY, weeks=weeks, visits_per_week=visits, goals=goals)
        return SimpleNamespace(id=f"plan-{weeks}-{visits}", data=data, withdrawn=False, version=1, reason="")

    kinds = ("assessments", "screenings", "sessions", "outcomes", "adverse_events", "visits", "followups")
    empty: dict[str, list[object]] = {k: [] for k in kinds}
    rows = timeline_rows(**empty, plans=[plan(1, 1), plan(6, 2)])
    texts = [str(r["text"]) for r in rows if r["kind"] == "Therapy plan"]
    goal = "<bdi>reduce neck pain</bdi>"
    assert texts == [f"1 week, 1 visit a week: {goal}", f"6 weeks, 2 visits a week: {goal}"]
