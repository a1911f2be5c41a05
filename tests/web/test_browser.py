"""The pages in a real browser: Debian's Chromium driven by Playwright against a real uvicorn
server on a temporary SQLite registry holding a small demo clinic (`bontrack demo`).

Screenshots go to tests/web/artifacts/ (not committed) for people to look at. Without Chromium
or Playwright the tests are skipped, except under CI=true, where they fail.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
DEMO_DOMAIN = "demo.example.org"
# SYN-000007 of the seed-5 demo: screened, examined, therapy plan over, so a plan today warns
WARN_PATIENT = "SYN-000007"
# SYN-000004 of the seed-5 demo: no session yet (the override test's session is not in the way of
# the tests that correct WARN_PATIENT's latest session)
NO_SESSION_PATIENT = "SYN-000004"


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


def _bontrack(db_url: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bontrack", "--db", db_url, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[str]:
    """A real server on a free loopback port over a fresh demo registry; yields its base URL."""
    folder = tmp_path_factory.mktemp("browser")
    db_url = f"sqlite:///{folder / 'demo.db'}"
    _bontrack(db_url, "demo", "--patients", "20", "--seed", "5")
    _bontrack(db_url, "user", "demo-logins")
    try:
        with live_server(db_url, folder) as base:
            ARTIFACTS.mkdir(exist_ok=True)
            yield base
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(folder / "server.log", ARTIFACTS / "server.log")


def _log_in(page: Any, base: str, role: str) -> None:
    who = role.replace("_", "-")
    page.goto(f"{base}/login")
    page.fill("#email", f"{who}@{DEMO_DOMAIN}")
    page.fill("#password", f"bontrack-demo-{who}")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def _open_chart(page: Any, base: str, record_number: str) -> None:
    page.goto(f"{base}/patients")
    page.fill("#q", record_number)
    page.click(".search button")
    page.click(f'table.list a:text-is("{record_number}")')
    page.wait_for_selector(".bodymaps svg")


def _errors(page: Any) -> list[str]:
    """The page's errors and failed loads, but for the live decision check refusing a plan still
    being filled in (422: the form shows its field errors; when the browser is slow, the check
    350 ms after a change can catch a row with no units yet): any other failure counts."""
    found: list[str] = []

    def console(message: Any) -> None:
        if message.type != "error":
            return
        url = urlsplit(str((message.location or {}).get("url", "")))
        if "status of 422" in message.text and url.path == LIVE_CHECK:
            return
        found.append(message.text)

    page.on("pageerror", lambda e: found.append(str(e)))
    page.on("console", console)
    return found


LIVE_CHECK = "/api/sessions/check"


def test_log_in_and_open_a_chart(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, server, "physician")
    assert "physician@" in page.inner_text(".who")
    _open_chart(page, server, WARN_PATIENT)
    assert page.locator('.muscle[data-muscle="upper_trapezius"][data-side="left"]').count() == 1
    assert page.locator(".trend circle").count() > 0
    page.click('.muscle[data-muscle="levator_scapulae"][data-side="right"]')
    assert "Levator scapulae, right" in page.inner_text("#bodymap-detail")
    page.screenshot(path=str(ARTIFACTS / "chart.png"), full_page=True)
    page.locator("#bodymap").screenshot(path=str(ARTIFACTS / "bodymap.png"))
    assert errors == []
    context.close()


def test_record_a_session_that_warns(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, server, "physician")
    _open_chart(page, server, WARN_PATIENT)
    # the demo patient was screened months ago: the engine blocks on answers over 30 days old,
    # so the physician screens again today first, as the pathway asks
    page.click("a.btn:text-is('Screening')")
    for state in ("pregnant", "breastfeeding", "infection_at_injection_site"):
        page.check(f'input[name="{state}"][value="no"]')
    _save(page, "Save screening", "screening")
    page.click("text=Injection session")
    page.wait_for_selector("#session-form")
    page.select_option('[name="injector_id"]', index=1)
    page.select_option('[name="guidance"]', "emg")
    page.select_option('[name="product"]', "onabotulinumtoxinA")
    page.fill('[name="vial_units"]', "100")
    page.fill('[name="diluent_ml"]', "2")
    page.fill('[name="lot"]', "C7731")
    page.fill('[name="lot_expiry"]', "2030-12-31")
    # one site from the map, one from the table
    page.click('.muscle[data-muscle="levator_scapulae"][data-side="right"]')
    page.fill('[name="sites[0].units"]', "20")
    page.select_option('[name="sites[1].muscle"]', "upper_trapezius")
    page.select_option('[name="sites[1].side"]', "right")
    page.fill('[name="sites[1].units"]', "20")
    page.wait_for_selector("#decision .decision.warn", timeout=10_000)
    text = page.inner_text("#decision")
    assert "Source" in text and "U per 0.1 mL" in text
    assert page.inner_text("tr.site-row >> nth=0 >> .site-ml").endswith("mL")
    assert page.locator("#override").is_hidden()
    page.screenshot(path=str(ARTIFACTS / "session_warn.png"), full_page=True)
    page.click("text=Save session")
    page.wait_for_selector(".notice")
    assert "injection session" in page.inner_text(".notice")
    assert page.locator(".timeline .badge.warn").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "chart_after_save.png"), full_page=True)
    # The live check of a plan still being typed is answered 422 naming the missing fields (shown
    # beside the inputs); the browser logs each such answer as a failed resource. Nothing else may fail.
    assert [e for e in errors if "status of 422" not in e] == []
    context.close()


def test_a_blocked_plan_is_saved_only_with_each_block_ticked_and_a_reason(browser: Any, server: str) -> None:
    """The live check draws one checkbox per block in the finding's words; a tick survives the
    plan being judged again; a one-character reason is refused; every block ticked saves it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, server, "physician")
    _open_chart(page, server, NO_SESSION_PATIENT)
    page.click("text=Injection session")
    page.wait_for_selector("#session-form")
    page.select_option('[name="injector_id"]', index=1)
    page.select_option('[name="guidance"]', "emg")
    page.select_option('[name="product"]', "onabotulinumtoxinA")
    page.fill('[name="vial_units"]', "100")
    page.fill('[name="diluent_ml"]', "2")
    page.fill('[name="lot"]', "C0001")
    page.fill('[name="lot_expiry"]', "2020-01-31")  # expired: lot.expired blocks
    page.select_option('[name="sites[0].muscle"]', "upper_trapezius")
    page.select_option('[name="sites[0].side"]', "left")
    page.fill('[name="sites[0].units"]', "20")
    page.wait_for_selector("#decision .decision.block", timeout=10_000)
    assert page.locator("#override").is_visible()
    expired = page.locator('#override-blocks input[value="lot.expired"]')
    expired.wait_for(timeout=10_000)
    assert "expired on 2020-01-31" in page.inner_text("#override-blocks")
    expired.check()
    page.fill('[name="sites[0].units"]', "25")  # judged again: the same blocks, the tick kept
    page.wait_for_selector("#decision p.dilution:has-text('; 25 U in')", timeout=10_000)
    assert expired.is_checked()
    page.fill('[name="override.reason"]', "x")
    page.click("text=Save session")
    page.wait_for_selector("#err-override\\.reason")
    assert "too few words of your own: 0 different words" in page.inner_text("#err-override\\.reason")
    page.screenshot(path=str(ARTIFACTS / "session_override_refused.png"), full_page=True)
    for box in page.locator('#override-blocks input[type="checkbox"]').all():
        box.check()  # every block there is (the lot's, and whatever else stands for this patient)
    page.fill('[name="override.reason"]', "Only lot in stock; potency confirmed by the pharmacy.")
    page.click("text=Save session")
    page.wait_for_selector(".notice")
    assert "injection session" in page.inner_text(".notice")
    assert "blocks acknowledged: " in page.inner_text(".timeline")
    page.screenshot(path=str(ARTIFACTS / "chart_after_override.png"), full_page=True)
    # the live check of an unfinished plan (422) and the refused save (409, the page shown again)
    assert [e for e in errors if "status of 422" not in e and "status of 409" not in e] == []
    context.close()


def test_self_report_through_a_patient_link_on_a_phone(browser: Any, server: str) -> None:
    staff = browser.new_context(viewport={"width": 1280, "height": 900})
    page = staff.new_page()
    _log_in(page, server, "staff")
    _open_chart(page, server, WARN_PATIENT)
    page.click("text=Patient link")
    page.click("text=Issue link")
    url = page.get_attribute("#issued-link", "href")
    assert url and "/p/" in url
    staff.close()

    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = phone.new_page()
    errors = _errors(page)
    page.goto(url)
    page.check('input[name="nprs.1"][value="3"]')
    page.screenshot(path=str(ARTIFACTS / "self_report_phone.png"))
    # a tap target is at least 44 CSS pixels high
    box = page.locator('input[name="ndi.1"]').first.locator("xpath=..").bounding_box()
    assert box is not None and box["height"] >= 44
    for item in range(1, 11):
        page.check(f'input[name="ndi.{item}"][value="1"]')
    page.screenshot(path=str(ARTIFACTS / "self_report_phone_full.png"), full_page=True)
    page.click("text=Send my answers")
    page.wait_for_selector("text=Thank you")
    page.screenshot(path=str(ARTIFACTS / "self_report_done.png"))
    page.goto(url)  # Back, Reload or the link again: the answers arrived, nothing more to do
    assert "Your answers were received on " in page.inner_text("main")
    assert errors == []
    phone.close()


def _pathway_page(browser: Any, server: str, role: str, **context: Any) -> tuple[Any, Any, list[str]]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, **context)
    page = ctx.new_page()
    errors = _errors(page)
    _log_in(page, server, role)
    return ctx, page, errors


def _save(page: Any, button: str, saved: str) -> None:
    """Submit a form; the chart comes back saying what was saved."""
    page.click(f"button:text-is('{button}')")
    page.wait_for_selector(".notice")
    assert page.inner_text(".notice") == f"Saved: {saved}."


def test_whole_pathway_of_a_new_patient(browser: Any, server: str) -> None:
    """Staff register a patient; a physician opens the episode, examines (trigger point and
    pressure-pain threshold), screens and injects (the engine warns: conservative care was short);
    a physical therapist plans therapy and records a visit; staff record an outcome and an adverse
    event and issue a link, which the patient completes on a phone. The chart shows it all."""
    from bontrack.knowledge import load_knowledge

    pathway = load_knowledge().files.pathway
    onset = (dt.date.today() - dt.timedelta(weeks=2 * pathway.chronic_pain_min_weeks.value)).isoformat()
    short_care = f"{pathway.conservative_care_min_weeks.value / 2:g}"  # below the pathway's minimum
    errors: list[str] = []

    # -- staff: register the patient (first with a mistake, shown on the field)
    staff, page, seen = _pathway_page(browser, server, "staff")
    errors += seen
    page.goto(f"{server}/patients")
    page.click("text=New patient")
    page.fill("#f-record_number", "WEB-0001")
    page.fill("#f-name", "Ines Calder")
    page.select_option("#f-sex", "female")
    page.click("button:text-is('Register patient')")
    page.wait_for_selector("#err-birth_date")
    assert "Nothing was saved" in page.inner_text(".errors")
    page.screenshot(path=str(ARTIFACTS / "pathway_patient_error.png"), full_page=True)
    page.fill("#f-birth_date", "1975-04-12")
    _save(page, "Register patient", "patient")
    chart = page.url.split("?")[0]
    assert "No pain episode yet" in page.inner_text("main")

    # -- physician: episode, assessment, screening, injection session
    doctor, page, seen = _pathway_page(browser, server, "physician")
    errors += seen
    page.goto(chart)
    page.click("a.btn:text-is('Episode')")
    page.check('input[name="diagnosis_codes"][value="M54.2"]')
    page.fill("#f-diagnosis_other", "M79.12")
    page.fill("#f-pain_onset_date", onset)
    page.check('input[name="conservative_care"][value="NSAIDs"]')
    page.check('input[name="conservative_care"][value="Exercise / physical therapy"]')
    page.fill("#f-conservative_care_weeks", short_care)
    aside = page.inner_text("aside.pathway")
    assert f"at least {pathway.chronic_pain_min_weeks.value:g} weeks" in aside
    assert f"at least {pathway.conservative_care_min_weeks.value:g} weeks" in aside
    page.screenshot(path=str(ARTIFACTS / "pathway_episode.png"), full_page=True)
    _save(page, "Open episode", "episode")
    assert "M54.2, M79.12" in page.inner_text("main")

    page.click("a.btn:text-is('Assessment')")
    page.select_option("#f-assessor_id", index=1)
    # one trigger point from the map, one from the table
    page.click('.muscle[data-muscle="levator_scapulae"][data-side="right"]')
    assert page.is_checked('input[name="tp.levator_scapulae.right.present"]')
    page.check('input[name="tp.upper_trapezius.left.present"]')
    for criterion in ("taut_band", "spot_tenderness", "referred_pain"):
        page.check(f'input[name="tp.upper_trapezius.left.{criterion}"]')
        page.check(f'input[name="tp.levator_scapulae.right.{criterion}"]')
    thresholds = [("upper_trapezius", "left", "250"), ("levator_scapulae", "right", "180")]
    thresholds += [("upper_trapezius", "right", "240")]  # a third row, added by the button
    assert page.locator("tr.ppt-row").count() == len(thresholds) - 1
    page.click("text=Add a row")
    for row, (muscle, side, value) in enumerate(thresholds):
        name = f"pressure_pain_thresholds[{row}]"
        page.select_option(f'[name="{name}.muscle"]', muscle)
        page.select_option(f'[name="{name}.side"]', side)
        page.fill(f'[name="{name}.value"]', value)
        page.select_option(f'[name="{name}.unit"]', "kPa")
        page.fill(f'[name="{name}.device"]', "Wagner FPX 25")
    page.screenshot(path=str(ARTIFACTS / "pathway_assessment.png"), full_page=True)
    # a threshold of 0 is refused on its row; the rows come back as typed
    page.fill('[name="pressure_pain_thresholds[2].value"]', "0")
    page.click("button:text-is('Save assessment')")
    page.wait_for_selector('[id="err-pressure_pain_thresholds[2].value"]')
    assert page.input_value('[name="pressure_pain_thresholds[1].value"]') == "180"
    assert page.is_checked('input[name="tp.levator_scapulae.right.present"]')
    page.locator("#ppt").screenshot(path=str(ARTIFACTS / "pathway_assessment_error.png"))
    page.fill('[name="pressure_pain_thresholds[2].value"]', "240")
    _save(page, "Save assessment", "assessment")

    page.click("a.btn:text-is('Screening')")
    for state in ("pregnant", "breastfeeding", "infection_at_injection_site"):
        page.check(f'input[name="{state}"][value="no"]')
    _save(page, "Save screening", "screening")

    page.click("a.btn:text-is('Injection session')")
    page.wait_for_selector("#session-form")
    page.select_option('[name="injector_id"]', index=1)
    page.select_option('[name="guidance"]', "emg")
    page.select_option('[name="product"]', "onabotulinumtoxinA")
    page.fill('[name="vial_units"]', "100")
    page.fill('[name="diluent_ml"]', "2")
    page.fill('[name="lot"]', "C7731")
    page.fill('[name="lot_expiry"]', "2030-12-31")
    page.click('.muscle[data-muscle="levator_scapulae"][data-side="right"]')
    page.fill('[name="sites[0].units"]', "15")
    page.select_option('[name="sites[1].muscle"]', "upper_trapezius")
    page.select_option('[name="sites[1].side"]', "left")
    page.fill('[name="sites[1].units"]', "20")
    page.wait_for_selector("#decision .decision.warn", timeout=10_000)
    assert f"Conservative care tried for {short_care} weeks" in page.inner_text("#decision")
    page.screenshot(path=str(ARTIFACTS / "pathway_session.png"), full_page=True)
    _save(page, "Save session", "injection session")
    doctor.close()

    # -- physical therapist: plan and a visit
    therapist, page, seen = _pathway_page(browser, server, "physical_therapist")
    errors += seen
    page.goto(chart)
    page.click("a.btn:text-is('Therapy plan')")
    page.select_option("#f-therapist_id", index=1)
    page.fill("#f-weeks", "6")
    page.fill("#f-visits_per_week", "2")
    page.fill("#f-goals", "Relax the upper trapezius\nStretch and strengthen")
    _save(page, "Save plan", "therapy plan")
    page.click("a.btn:text-is('Therapy visit')")
    page.select_option("#f-therapist_id", index=1)
    page.fill("#f-notes", "Stretching taught")
    _save(page, "Save visit", "therapy visit")
    therapist.close()

    # -- staff: an outcome, an adverse event reported after the session, a patient link
    page = staff.pages[0]
    page.goto(chart)
    page.click("a.btn:text-is('Outcome')")
    page.check('input[name="answers.1"][value="6"]')
    _save(page, "Save NPRS", "outcome")
    page.click(".timeline a.report-ae")
    page.fill("#f-event", "headache")
    page.fill("#f-onset_date", page.input_value("#f-reported_date"))
    page.select_option("#f-severity", "mild")
    page.fill("#f-outcome", "Resolved with paracetamol")
    page.screenshot(path=str(ARTIFACTS / "pathway_adverse_event.png"), full_page=True)
    _save(page, "Save adverse event", "adverse event")
    page.click("a.btn:text-is('Patient link')")
    page.click("text=Issue link")
    url = page.get_attribute("#issued-link", "href")
    assert url and "/p/" in url

    # -- the patient, on a phone
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    mobile = phone.new_page()
    errors += _errors(mobile)
    mobile.goto(url)
    mobile.check('input[name="nprs.1"][value="3"]')
    for item in range(1, 11):
        mobile.check(f'input[name="ndi.{item}"][value="1"]')
    mobile.click("text=Send my answers")
    mobile.wait_for_selector("text=Thank you")
    mobile.screenshot(path=str(ARTIFACTS / "pathway_self_report_done.png"))
    phone.close()

    # -- the chart at the end
    page.goto(chart)
    main = page.inner_text("main")
    assert "Ines Calder" in main and "M54.2, M79.12" in main
    rows = [page.inner_text(f".timeline li >> nth={i}") for i in range(page.locator(".timeline li").count())]

    def kind(name: str) -> list[str]:
        return [r for r in rows if re.search(rf"\b{name}\b", r)]

    assert len(rows) == 9, rows
    [assessment] = kind("Assessment")
    assert "Trigger points: Upper trapezius (left), Levator scapulae (right)" in assessment
    assert (
        "Pressure-pain thresholds: Upper trapezius (left) 250 kPa, Levator scapulae (right) 180 kPa, "
        "Upper trapezius (right) 240 kPa"
    ) in assessment
    [screening] = kind("Screening")
    assert "nothing of note" in screening
    [injection] = kind("Injection")
    assert "onabotulinumtoxinA (Botox) 35 U at 2 sites (emg)" in injection and "WARN" in injection.upper()
    assert page.locator(".timeline .badge.warn").count() == 1
    assert len(kind("Therapy plan")) == 1 and len(kind("Therapy visit")) == 1
    [event] = kind("Adverse event")
    assert "headache (mild)" in event
    assert len(kind("NPRS")) == 2 and len(kind("NDI")) == 1
    assert page.locator(".trend circle").count() >= 3
    page.screenshot(path=str(ARTIFACTS / "pathway_chart.png"), full_page=True)
    staff.close()
    assert [e for e in errors if "status of 422" not in e and "410" not in e] == [], errors


def test_correct_a_session_and_read_its_history(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, server, "physician")
    _open_chart(page, server, WARN_PATIENT)
    injection = page.locator('.timeline li:has(strong:text-is("Injection"))').first
    injection.locator("text=Correct").click()
    page.wait_for_selector("#session-form[data-correcting]")
    # judged live again, without the version being corrected (else it would block as a repeat)
    page.fill('[name="sites[0].units"]', "15")
    page.wait_for_selector("#check-status:has-text('Decision updated')", timeout=10_000)
    assert page.locator("#decision .decision.block").count() == 0
    assert " right 15 U = " in page.inner_text("#decision") or " left 15 U = " in page.inner_text("#decision")
    assert "Reason for correction" in page.inner_text("#session-form")
    page.fill("#f-reason", "units per site misread from the paper chart")
    page.screenshot(path=str(ARTIFACTS / "session_correct.png"), full_page=True)
    page.click("text=Save session")
    page.wait_for_selector(".notice")
    assert "corrected" in page.inner_text(".notice")
    page.locator('.timeline li:has(strong:text-is("Injection"))').first.locator("text=History").click()
    page.wait_for_selector("#v2")
    assert "units per site misread" in page.inner_text("#v2")
    changed = page.locator("#v2 table.diff th[scope=row]").all_inner_texts()
    assert "Injection site 1: units" in changed and "Lot" not in changed  # changed fields only, in words
    page.screenshot(path=str(ARTIFACTS / "session_history.png"), full_page=True)
    assert errors == []
    context.close()


def test_correct_an_episode_and_read_a_session_history(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, server, "physician")
    _open_chart(page, server, WARN_PATIENT)
    page.click('.row-actions a[href*="/records/episode/"][href$="/correct"]')
    page.wait_for_selector("#f-reason")
    assert page.locator('input[name="diagnosis_codes"]:checked').count() >= 1
    page.screenshot(path=str(ARTIFACTS / "correct_episode.png"), full_page=True)
    page.click("text=Save correction")
    page.wait_for_selector("#err-reason")  # no reason: shown inline, nothing saved
    errors.remove("Failed to load resource: the server responded with a status of 400 (Bad Request)")
    page.fill("#f-reason", "onset date confirmed with the patient")
    page.click("text=Save correction")
    page.wait_for_selector(".errors")  # nothing changed: refused in words, nothing saved
    assert "Nothing was changed" in page.inner_text(".errors")
    errors.remove("Failed to load resource: the server responded with a status of 400 (Bad Request)")
    weeks = page.input_value("#f-conservative_care_weeks")
    page.fill("#f-conservative_care_weeks", str(float(weeks) + 1))
    page.fill("#f-reason", "two more weeks of physiotherapy than recorded")
    page.click("text=Save correction")
    page.wait_for_selector(".notice")
    assert "episode corrected" in page.inner_text(".notice")
    page.click('.timeline a[href*="/records/injection_session/"][href$="/history"] >> nth=0')
    page.wait_for_selector("#v1 details.fields")
    assert page.locator("#v1 details.fields table").is_hidden()  # folded until opened
    page.screenshot(path=str(ARTIFACTS / "history_session.png"), full_page=True)
    page.click("#v1 details.fields summary")
    assert page.locator("#v1 details.fields table").is_visible()
    page.screenshot(path=str(ARTIFACTS / "history_session_open.png"), full_page=True)
    assert errors == []
    context.close()


def test_admin_closes_and_reopens_an_account(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, server, "admin")
    page.click("nav >> text=Users")
    page.wait_for_url(re.compile(r".*/users$"))
    row = page.locator("tr", has_text=f"researcher@{DEMO_DOMAIN}")
    row.locator("input[name=password]").fill("passwordpassword")
    row.locator("text=Set password").click()
    page.wait_for_selector(".error")
    assert "too easy to guess" in page.inner_text(".error")
    assert "passwordpassword" not in page.content()
    row = page.locator("tr", has_text=f"researcher@{DEMO_DOMAIN}")
    row.locator("text=Deactivate").click()
    page.wait_for_selector(".notice")
    assert "deactivated" in page.inner_text(".notice")
    page.screenshot(path=str(ARTIFACTS / "users.png"), full_page=True)
    page.locator("tr", has_text=f"researcher@{DEMO_DOMAIN}").locator("text=Reactivate").click()
    page.wait_for_selector(".notice:has-text('reactivated')")
    # the refused password's page is a 400, which the browser reports; nothing else may be
    assert [e for e in errors if "status of 400" not in e] == []
    context.close()


# A select cut short: its chosen option's text (in its own font) wider than the room beside its
# arrow. Chromium's scrollWidth of a select does not count the arrow ("rig▾" for "right" passed).
_CUT_SELECTS = """() => {
  const canvas = document.createElement('canvas').getContext('2d');
  const cut = [];
  for (const s of document.querySelectorAll('#sites tr.site-row select')) {
    if (!s.value) continue;
    const style = getComputedStyle(s);
    canvas.font = style.font;
    const text = canvas.measureText(s.selectedOptions[0].text).width;
    const room = s.clientWidth - parseFloat(style.paddingLeft) - 20;  // the arrow takes ~20 px
    const name = s.getAttribute('aria-label');
    if (text > room) cut.push(`${name}: ${Math.round(text)} px in ${Math.round(room)}`);
  }
  return cut;
}"""


@pytest.mark.parametrize("width", [390, 1280])
def test_session_site_rows_show_whole_muscle_and_side_names(browser: Any, server: str, width: int) -> None:
    """At 390 px the four columns of a site row cut the muscle and the side ("Upper trap▾ |
    rig▾ | 40"), so like muscles could not be told apart. On a phone each row wraps (the muscle on
    a line of its own, then side, units and mL); no select is narrower than its text, at either
    width, with the longest muscle names, and nothing scrolls sideways."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, server, "physician")
    _open_chart(page, server, WARN_PATIENT)
    page.click("text=Injection session")
    page.wait_for_selector("#session-form")
    page.select_option('[name="product"]', "onabotulinumtoxinA")
    longest = ["semispinalis_capitis", "sternocleidomastoid", "longissimus_capitis"]
    for row, (muscle, side) in enumerate(zip(longest, ["right", "left", "right"], strict=True)):
        page.select_option(f'[name="sites[{row}].muscle"]', muscle)
        page.select_option(f'[name="sites[{row}].side"]', side)
        page.fill(f'[name="sites[{row}].units"]', "15")
    assert page.evaluate(_CUT_SELECTS) == []
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= width
    first, second = (page.locator(f'[name="sites[0].{f}"]').bounding_box() for f in ("muscle", "side"))
    assert first is not None and second is not None
    if width == 390:  # the side under the muscle, which has the row's width
        assert second["y"] >= first["y"] + first["height"] and first["width"] > 250
    else:  # the table as it was: one line a row
        assert abs(second["y"] - first["y"]) < 4
    page.locator("#sites").screenshot(path=str(ARTIFACTS / f"session_sites_{width}.png"))
    assert errors == []
    context.close()


def test_report_on_a_phone_shows_no_label_without_a_value(browser: Any, server: str) -> None:
    """At 390 px each table row of the report is a card of "Column: value" lines; a cell with
    nothing in it (no effective n for too few cycles, no label) is left out, and no cell carries
    an empty column name (a lone ": ")."""
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    _log_in(page, server, "physician")
    page.goto(f"{server}/report")
    assert "too few to estimate" in page.inner_text("body")
    shown = page.evaluate(
        """() => [...document.querySelectorAll('td')].filter(td => td.offsetParent !== null)
            .map(td => [td.textContent.trim(), td.getAttribute('data-label'),
                        getComputedStyle(td, '::before').content])"""
    )
    assert shown
    empty = [before for text, _, before in shown if not text]
    assert empty == [], empty  # a label alone, with no value after it
    lone = [text for text, label, _ in shown if label == ""]
    assert lone == [], lone  # an empty column name: the line would begin with ": "
    phone.close()
