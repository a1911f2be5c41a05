"""The report's side effects: an event written in several ways is one row (analytics.event_terms),
serious events are counted per product, and the JSON and the page carry both.

Hand-made frames (as ``reports.data.cohort_frames`` shapes them) for the numbers worked out here;
a demo registry with events in tricky spellings for the reads (text ids, ids coded by DuckDB on
the session's connection and by the ADBC driver, a Parquet export): the same report from each.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bontrack.analytics.event_terms import event_key
from bontrack.analytics.intervals import clustered_wilson, wilson_interval
from bontrack.injections.schemas import AdverseEventCreate
from bontrack.injections.service import report_adverse_event
from bontrack.knowledge.loader import load_knowledge
from bontrack.reports.content import MIN_JUDGED, Report, build_report
from bontrack.reports.data import CohortFrames, cohort_frames, parquet_frames
from bontrack.reports.plots import render_figures
from bontrack.reports.render import render_html, report_json
from bontrack.storage.engine import make_engine, transaction
from demo_exports import bontrack

KB = load_knowledge()
D = dt.date(2026, 4, 20)
OLD = "2026-01-05"  # rated on D (at least the window before it)


def frames(sessions: list[tuple[str, str, str]], events: list[tuple[str, str, bool]]) -> CohortFrames:
    """sessions: (patient, session, product), each on OLD; events: (session, event, serious),
    each reported a week later. No scores."""
    pat = pd.DataFrame(
        {
            "patient_id": sorted({p for p, _, _ in sessions}),
            "record_number": "R",
            "sex": "female",
            "birth_date": "1970-01-01",
        }
    )
    ses = pd.DataFrame(
        {
            "patient_id": [p for p, _, _ in sessions],
            "session_id": [s for _, s, _ in sessions],
            "date": pd.to_datetime([OLD] * len(sessions)),
            "product": [x for _, _, x in sessions],
            "total_units": 100.0,
            "physical_therapy": False,
            "decision": "allow",
            "override": False,
        }
    )
    mea = pd.DataFrame(
        {
            "patient_id": pd.Series([], dtype=object),
            "session_id": pd.Series([], dtype=object),
            "weeks_after_session": pd.Series([], dtype=float),
            "date": pd.to_datetime([]),
            "instrument": pd.Series([], dtype=object),
            "score": pd.Series([], dtype=object),
            "value": pd.Series([], dtype=float),
        }
    )
    ev = pd.DataFrame(
        {
            "session_id": [s for s, _, _ in events],
            "event": [e for _, e, _ in events],
            "severity": "mild",
            "serious": [x for *_, x in events],
            "reported_date": pd.to_datetime(["2026-01-12"] * len(events)),
        }
    )
    return CohortFrames(pat, ses, mea, ev)


# botox: 12 sessions of 8 patients (a, b, c twice; d and e once more); dysport: 3 sessions
SESSIONS = [(p, f"s{i}", "onabotulinumtoxinA") for i, p in enumerate("aabbccdeefgh")] + [
    (p, f"t{i}", "abobotulinumtoxinA") for i, p in enumerate("xyx")
]
EVENTS = [
    ("s0", "Dysphagia", False),
    ("s1", "DYSPHAGIA ", False),
    ("s2", "dysphagia", False),
    ("s3", "dysphagia", True),  # serious
    ("s3", "aspiration pneumonia, hospitalised", True),  # serious, the same session
    ("s4", "Difficulty swallowing", False),  # the knowledge base's other name of dysphagia
    ("s6", "Headache", False),
    ("t0", "anaphylaxis", True),
]


def test_report__spellings_of_one_event_are_one_row_with_the_label_beside_it() -> None:
    r = build_report(frames(SESSIONS, EVENTS), KB, today=D)
    rows = {x.event: x for x in r.adverse_events}
    # before: "DYSPHAGIA" 1, "Dysphagia" 1, "dysphagia" 2 and "Difficulty swallowing" 1, and
    # only the lowercase row beside the label's rate
    assert [x for x in rows if "swallow" in x.lower() or "dysphagia" in x.lower()] == ["dysphagia"]
    dysphagia = rows["dysphagia"]
    assert (dysphagia.cycles, dysphagia.n_cycles) == (5, 15)  # s0-s4, of the 15 rated sessions
    assert (
        dysphagia.label_percent == KB.files.label_adverse_reactions["onabotulinumtoxinA"].percent["dysphagia"]
    )
    assert rows["headache"].cycles == 1 and rows["headache"].label_percent is not None
    assert rows["any"].cycles == 7  # s0-s4, s6, t0


def test_report__serious_events_per_product_events_patients_and_sessions() -> None:
    r = build_report(frames(SESSIONS, EVENTS), KB, today=D)
    serious = {x.product: x for x in r.serious_events}
    assert list(serious) == ["abobotulinumtoxinA", "onabotulinumtoxinA"]
    botox, dysport = serious["onabotulinumtoxinA"], serious["abobotulinumtoxinA"]
    # BOTOX: two serious reports, both of session s3 (patient b's second); 12 sessions, 8 patients
    assert (botox.events, botox.patients, botox.n_patients, botox.cycles, botox.n_cycles) == (2, 1, 8, 1, 12)
    c = clustered_wilson([0, 1, 0, 0, 0, 0, 0, 0], [2, 2, 2, 1, 2, 1, 1, 1])
    assert botox.n_cycles >= MIN_JUDGED
    assert (botox.rate, botox.low, botox.high, botox.n_eff) == (c.estimate, c.low, c.high, c.n_eff)
    # DYSPORT: 3 sessions, fewer than MIN_JUDGED: counts only
    assert (dysport.events, dysport.patients, dysport.n_patients, dysport.cycles, dysport.n_cycles) == (
        1,
        1,
        2,
        1,
        3,
    )
    assert dysport.rate is None and dysport.low is None and dysport.high is None


def test_report__the_json_and_the_page_carry_the_serious_events() -> None:
    r = build_report(frames(SESSIONS, EVENTS), KB, today=D)

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the JSON")

    data = json.loads(report_json(r), parse_constant=refuse)
    by_product = {x["product"]: x for x in data["serious_events"]}
    assert (
        by_product["onabotulinumtoxinA"]["events"] == 2 and by_product["abobotulinumtoxinA"]["rate"] is None
    )
    assert "serious_events" in data["definitions"]
    html = render_html(r, render_figures(r))
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    assert "<h3>Serious adverse events</h3>" in text
    assert '<td data-label="Serious events" class="num">2</td>' in text
    assert '<td data-label="Patients affected" class="num">1 / 8</td>' in text
    low, high = (
        100 * (by_product["onabotulinumtoxinA"]["low"]),
        100 * by_product["onabotulinumtoxinA"]["high"],
    )
    assert f"8.3% ({low:.1f}\u2013{high:.1f})" in text
    assert "too few to estimate" in text
    assert not re.search(r"\b(nan|inf|NaN|None)\b", text)


def test_report__no_serious_event_is_a_zero_with_its_interval() -> None:
    quiet = [(s, e, False) for s, e, _ in EVENTS]
    r = build_report(frames(SESSIONS, quiet), KB, today=D)
    botox = next(x for x in r.serious_events if x.product == "onabotulinumtoxinA")
    assert (botox.events, botox.patients, botox.cycles, botox.rate, botox.low) == (0, 0, 0, 0.0, 0.0)
    assert botox.high == pytest.approx(wilson_interval(0, 12).high)


def test_report__nothing_rated_yet_no_serious_rows() -> None:
    r = build_report(frames(SESSIONS, EVENTS), KB, today=dt.date(2026, 1, 20))
    assert r.serious_events == [] and r.adverse_events == []
    assert "No sessions old enough to rate yet." in render_html(r, {})


# ---- the reads: a registry with events written in tricky ways --------------------------------
TRICKY = [
    "Dysphagia",
    "DYSPHAGIA ",
    "dysphagia",
    "dysphagia\t",
    "\u00a0Dysphagia",
    "difficulty  swallowing",
    "NECK\u00a0PAIN",
    "Neck  pain",
    "ÄRGER",
    "ärger",
    "A\u0308rger",
    "İnjection site bruise",
    "Injection site bruise",
    "injection site bruise",
]
AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, list[dict[str, Any]]]:
    """A demo clinic with the tricky events (every other one serious) added to its old sessions,
    its Parquet export, and the added events (the first item: the serious events per product
    before they were added)."""
    folder = tmp_path_factory.mktemp("events")
    url = f"sqlite:///{folder / 'clinic.db'}"
    assert bontrack("--db", url, "demo", "--patients", "30", "--seed", "717").exit_code == 0
    assert bontrack("--db", url, "export", str(folder / "all.jsonl")).exit_code == 0
    recs = [json.loads(line) for line in (folder / "all.jsonl").read_text().splitlines()]
    old = sorted(
        (r for r in recs if r["type"] == "injection_session" and r["data"]["date"] <= "2026-06-01"),
        key=lambda r: r["id"],
    )
    with transaction(make_engine(url)) as db:
        before = build_report(cohort_frames(db=db, actor="test"), load_knowledge(), today=AS_OF)
    added: list[dict[str, Any]] = [{x.product: x.events for x in before.serious_events}]
    with transaction(make_engine(url)) as db:
        for i, event in enumerate(TRICKY):
            s = old[(3 * i) % len(old)]
            day = dt.date.fromisoformat(s["data"]["date"]) + dt.timedelta(days=5)
            data = AdverseEventCreate(
                patient_id=s["data"]["patient_id"],
                session_id=s["id"],
                event=event,
                onset_date=day,
                reported_date=day,
                severity="moderate",
                serious=i % 2 == 0,
            )
            report_adverse_event(db=db, actor="test:events", data=data)
            added.append({"session": s["id"], "event": event, "product": s["data"]["product"]})
    result = bontrack("--db", url, "export", "--format", "parquet", str(folder / "parquet"))
    assert result.exit_code == 0, result.output
    return url, folder, added


def test_reads__every_read_gives_the_same_rows(registry: tuple[str, Path, list[dict[str, Any]]]) -> None:
    url, folder, (before, *added) = registry
    kb = load_knowledge()
    with transaction(make_engine(url)) as db:
        reads = {
            "text ids": cohort_frames(db=db, actor="test"),
            "coded, session": cohort_frames(db=db, actor="test", coded_ids=True),
            "coded, adbc": cohort_frames(db=db, actor="test", committed=True, coded_ids=True),
        }
    reads["parquet"] = parquet_frames(folder / "parquet")
    reads["parquet, coded"] = parquet_frames(folder / "parquet", coded_ids=True)
    reports: dict[str, Report] = {name: build_report(f, kb, today=AS_OF) for name, f in reads.items()}
    expected = reports.pop("text ids").to_dict()
    for name, r in reports.items():
        got = r.to_dict()
        assert got["adverse_events"] == expected["adverse_events"], name
        assert got["serious_events"] == expected["serious_events"], name
        assert got == expected, name
    rows = {x["event"]: x for x in expected["adverse_events"]}
    # one row each: the keys of the added texts, the known ones by the reaction's name
    assert "dysphagia" in rows and "neck pain" in rows and "ärger" not in rows
    assert sum(1 for e in rows if event_key(e) == "ärger") == 1  # ÄRGER, ärger, A + diaeresis
    assert sum(1 for e in rows if event_key(e) == "injection site bruise") == 1
    assert sum(1 for e in rows if event_key(e) == event_key("İnjection site bruise")) == 1  # apart
    assert not [e for e in rows if e != e.strip() or "  " in e or "\t" in e or "\u00a0" in e]
    # the serious ones counted per product: every other added event, beside the demo's own
    by_product = {x["product"]: x["events"] for x in expected["serious_events"]}
    assert sum(by_product.values()) == sum(before.values()) + len(TRICKY[::2])
    for product in by_product:
        extra = sum(1 for i, a in enumerate(added) if i % 2 == 0 and a["product"] == product)
        assert by_product[product] == before.get(product, 0) + extra
