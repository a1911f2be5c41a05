"""The idle end of a page's session in a real browser (static/session_idle.js): the warning two
minutes before it, "Stay logged in", and a typed form sent after the session ended, which opens a
log-in dialog and is then saved with what was typed.

Headless Chromium (Playwright) against the app on a real uvicorn server in this process, whose
clock the test moves; the page's timers run on Playwright's clock, moved alongside."""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine, select

from bontrack.auth.models import AuthTokenRow
from bontrack.storage.engine import transaction
from bontrack.web.app import create_app
from bontrack.web.settings import WebSettings
from factories import World
from live_server import free_port
from web.conftest import Clock, email, password

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
# screenshots for people to look at (not committed): EYE_DIR, else tests/web/artifacts
EYE = Path(os.environ.get("EYE_DIR") or Path(__file__).parent / "artifacts")
WARNING = "Your session will end in 2 minutes because it has not been used."


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("the playwright package is not installed")
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


class Served:
    def __init__(self, engine: Engine, world: World) -> None:
        self.engine = engine
        self.world = world
        self.clock = Clock()
        self.settings = WebSettings(engine=engine, clock=self.clock)
        port = free_port()
        config = uvicorn.Config(create_app(self.settings), host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.base = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self.thread.start()
        for _ in range(1000):  # until it listens (a readiness poll, not a timed assertion)
            if self.server.started:
                return
            time.sleep(0.01)
        pytest.fail("the server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def last_used(self) -> list[dt.datetime | None]:
        with transaction(self.engine) as db:
            return list(db.scalars(select(AuthTokenRow.last_used_at).where(AuthTokenRow.kind == "session")))


@pytest.fixture
def served(sqlite_engine: Engine, template_db: tuple[Path, World], browser: Any) -> Iterator[Served]:
    site = Served(sqlite_engine, template_db[1])
    site.start()
    yield site
    site.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.clock.install()
    yield tab
    context.close()
    assert errors == []


def _log_in(page: Any, served: Served, role: str, next_path: str) -> None:
    page.goto(f"{served.base}/login?next={next_path}")
    page.fill("#email", email(role))
    page.fill("#password", password(role))
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(".*" + re.escape(next_path) + "$"))


def _shoot(page: Any, name: str) -> None:
    EYE.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(EYE / f"{name}-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 800})


def test_warning__shown_two_minutes_before_the_idle_end_and_stay_logged_in_keeps_the_session(
    served: Served, page: Any
) -> None:
    _log_in(page, served, "staff", "/patients")
    warning = page.locator(".idle-warning")
    assert warning.is_hidden()
    served.clock.advance(minutes=28, seconds=30)
    page.clock.fast_forward("27:05")  # the page asks the server at 27 minutes: 90 seconds left
    warning.wait_for(state="visible")
    assert warning.locator("p").inner_text() == WARNING
    assert warning.locator("p").get_attribute("aria-live") == "assertive"
    keep = warning.get_by_role("button", name="Stay logged in")
    assert keep.evaluate("b => document.activeElement === b")  # nothing else had the focus
    _shoot(page, "idle-warning")

    keep.press("Enter")  # by keyboard
    warning.wait_for(state="hidden")
    assert served.last_used() == [served.clock.now]  # the idle clock starts again now
    served.clock.advance(minutes=29)  # 57 minutes after the page was opened
    page.goto(f"{served.base}/patients")
    assert page.url.endswith("/patients")


def test_warning__typing_near_the_end_shows_it_but_does_not_keep_the_session(
    served: Served, page: Any
) -> None:
    _log_in(page, served, "physician", "/patients/new")
    served.clock.advance(minutes=28, seconds=30)
    # the page's time moves on but its timer has not run (a background tab's timers may run late)
    now_ms = page.evaluate("Date.now()")
    page.clock.set_system_time(dt.datetime.fromtimestamp(now_ms / 1000 + 27 * 60, dt.UTC))
    assert page.locator(".idle-warning").is_hidden()
    before = served.last_used()
    page.fill("#f-name", "Typed")
    page.locator(".idle-warning").wait_for(state="visible")
    assert served.last_used() == before  # typing did not reach the server


def test_ended__a_typed_form_is_saved_after_logging_in_again_in_the_page(served: Served, page: Any) -> None:
    _log_in(page, served, "physician", "/patients/new")
    page.fill("#f-record_number", "IDLE-31")
    page.fill("#f-name", "Typed Before Lunch")
    page.fill("#f-birth_date", "1971-04-05")
    page.select_option("#f-sex", "female")
    served.clock.advance(minutes=31)  # the session ended on the server while the person was away
    page.clock.fast_forward("31:00")  # and for the page too

    page.click("button:text('Register patient')")
    dialog = page.locator("dialog.relogin")
    dialog.wait_for(state="visible")
    assert dialog.locator("h2").inner_text() == "Your session has ended"
    assert dialog.locator("#relogin-email").input_value() == email("physician")
    assert page.url.endswith("/patients/new")  # nothing sent yet
    _shoot(page, "relogin-dialog")

    # another user may not send this page's form
    page.fill("#relogin-email", email("staff"))
    page.fill("#relogin-password", password("staff"))
    dialog.get_by_role("button", name="Log in and save").click()
    refused = dialog.locator(".error")
    refused.wait_for(state="visible")
    assert refused.inner_text().startswith(f"This page was filled in by {email('physician')}.")
    _shoot(page, "relogin-other-user")

    page.fill("#relogin-email", email("physician"))
    page.fill("#relogin-password", "wrong-password-1")
    dialog.get_by_role("button", name="Log in and save").click()
    expect(refused).to_have_text("Wrong e-mail or password.")

    page.fill("#relogin-password", password("physician"))
    dialog.get_by_role("button", name="Log in and save").click()
    page.wait_for_url(re.compile(r".*/patients/[0-9a-f-]{36}\?saved=patient$"))
    assert "Typed Before Lunch" in page.inner_text("main")
    assert "IDLE-31" in page.inner_text("main")


def test_fresh__a_form_sent_soon_after_the_page_was_served_goes_without_asking(
    served: Served, page: Any
) -> None:
    """Within a minute of the server last saying the session was live, Save sends the form at
    once: no question to /login/state first (no idle end falls in that minute)."""
    _log_in(page, served, "physician", "/patients/new")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/login/state" in r.url else None)
    page.fill("#f-record_number", "FRESH-1")
    page.fill("#f-name", "Saved At Once")
    page.fill("#f-birth_date", "1980-02-03")
    page.select_option("#f-sex", "male")
    page.clock.fast_forward("00:50")
    with page.expect_navigation():
        page.click("button:text('Register patient')")
    assert "Saved At Once" in page.inner_text("main")
    assert asked == []


def _saved_sessions(served: Served) -> list[Any]:
    from bontrack.injections.service import sessions_of_patient

    with transaction(served.engine) as db:
        return sessions_of_patient(db=db, actor="test:check", patient_id=served.world.patient_id)


def _fill_blocked_plan(page: Any) -> None:
    """A plan the engine blocks (the lot expired before the session day), overridden: every block
    ticked and the reason written, as a physician does."""
    page.select_option('[name="guidance"]', "emg")
    page.select_option('[name="product"]', "onabotulinumtoxinA")
    page.fill('[name="vial_units"]', "100")
    page.fill('[name="diluent_ml"]', "2")
    page.fill('[name="lot"]', "C0001")
    page.fill('[name="lot_expiry"]', "2026-01-31")  # before the session day: lot.expired blocks
    page.select_option('[name="sites[0].muscle"]', "upper_trapezius")
    page.select_option('[name="sites[0].side"]', "left")
    page.fill('[name="sites[0].units"]', "30")
    page.select_option('[name="sites[1].muscle"]', "levator_scapulae")
    page.select_option('[name="sites[1].side"]', "right")
    page.fill('[name="sites[1].units"]', "15")
    page.clock.run_for(1000)  # the live check waits 350 ms after the last keystroke
    page.locator("#decision .decision.block").wait_for()
    page.locator('#override-blocks input[value="lot.expired"]').wait_for()
    for box in page.locator('#override-blocks input[type="checkbox"]').all():
        box.check()
    page.fill('[name="override.reason"]', "Only lot in stock; potency confirmed by the pharmacy.")


def test_ended__the_injection_session_form_with_an_override_is_saved_once_after_logging_in_in_the_page(
    served: Served, page: Any
) -> None:
    """The most important form: typed, a block overridden, the session ends while the physician is
    away; the live check says so in words and keeps the decision shown; Save opens the log-in, and
    the session is saved once, with the units, muscles and override typed."""
    form_path = f"/patients/{served.world.patient_id}/sessions/new"
    _log_in(page, served, "physician", form_path)
    _fill_blocked_plan(page)
    assert _saved_sessions(served) == []
    served.clock.advance(minutes=31)  # ended on the server

    # typing on: the live check is refused (401); the physician reads words, the decision stays
    page.fill('[name="sites[0].units"]', "35")
    page.clock.run_for(1000)
    status = page.locator("#check-status")
    expect(status).to_contain_text("Your session has ended")
    assert "POST /api" not in page.inner_text("main") and "log in first" not in page.inner_text("main")
    assert page.locator("#decision .decision.block").is_visible()  # not replaced by an empty list
    assert page.locator("#override").is_visible()
    bar = page.locator(".idle-warning")  # the bar says so too, with Log in again
    expect(bar.locator("p")).to_have_text(
        "Your session has ended. What you typed is still here: saving it will ask you to log in again."
    )
    assert bar.get_by_role("button", name="Log in again").is_visible()
    page.click("#suggest-plan")  # the dose planner is refused too: in words
    suggest = page.locator("#suggest-status")
    expect(suggest).to_contain_text("Your session has ended")
    assert "POST /api" not in suggest.inner_text()
    assert page.locator('[name="sites[0].units"]').input_value() == "35"  # nothing typed replaced

    page.click("button:text('Save session')")
    dialog = page.locator("dialog.relogin")
    dialog.wait_for(state="visible")
    assert page.url.endswith(form_path)  # nothing sent yet
    page.fill("#relogin-password", password("physician"))
    _shoot(page, "session-form-relogin")
    dialog.get_by_role("button", name="Log in and save").click()
    page.wait_for_url(re.compile(r".*\?saved=injection_session&session=[0-9a-f-]{36}$"))

    saved = _saved_sessions(served)
    assert len(saved) == 1  # exactly once
    data = saved[0].data
    assert [(s.muscle, s.side, s.units) for s in data.sites] == [
        ("upper_trapezius", "left", 35),
        ("levator_scapulae", "right", 15),
    ]
    assert data.lot == "C0001"
    assert data.override is not None and "lot.expired" in data.override.acknowledged
    assert data.override.reason == "Only lot in stock; potency confirmed by the pharmacy."


def test_warning__the_report_page_shows_it_and_stay_logged_in_keeps_the_session(
    served: Served, page: Any
) -> None:
    """The report is not drawn from base.html; its reader gets the same warning and button."""
    _log_in(page, served, "physician", "/report")
    warning = page.locator(".idle-warning")
    assert warning.is_hidden()
    served.clock.advance(minutes=28, seconds=30)
    page.clock.fast_forward("27:05")
    warning.wait_for(state="visible")
    assert warning.locator("p").inner_text() == WARNING
    keep = warning.get_by_role("button", name="Stay logged in")
    assert keep.evaluate("b => document.activeElement === b")
    assert keep.evaluate("b => getComputedStyle(b).minHeight") == "44px"  # drawn, not a bare button
    _shoot(page, "report-idle-warning")
    keep.click()
    warning.wait_for(state="hidden")
    assert served.last_used() == [served.clock.now]

    served.clock.advance(minutes=31)  # ended: the bar says so and logs in again in the page
    page.clock.fast_forward("31:00")
    expect(warning.locator("p")).to_have_text("Your session has ended. Log in again to go on.")
    warning.get_by_role("button", name="Log in again").click()
    dialog = page.locator("dialog.relogin")
    dialog.wait_for(state="visible")
    _shoot(page, "report-relogin")
    page.fill("#relogin-password", password("physician"))
    dialog.get_by_role("button", name="Log in").click()
    dialog.wait_for(state="hidden")
    assert warning.is_hidden()
    page.get_by_role("button", name="Show").click()  # the report's own filter, with the new session
    page.wait_for_url(re.compile(r".*/report\?.*"))
    assert page.locator(".report-filter").is_visible()  # the report again, not the log-in page


def test_ended__the_session_forms_check_refused_after_the_end_is_made_again_after_log_in_again(
    served: Served, page: Any
) -> None:
    """Logged in again from the bar (no form sent), the plan refused meanwhile is judged again at
    once, without typing; then Save sends it once."""
    _log_in(page, served, "physician", f"/patients/{served.world.patient_id}/sessions/new")
    page.select_option('[name="guidance"]', "emg")
    page.select_option('[name="product"]', "onabotulinumtoxinA")
    page.fill('[name="vial_units"]', "100")
    page.fill('[name="diluent_ml"]', "2")
    page.fill('[name="lot"]', "C2002")
    page.fill('[name="lot_expiry"]', "2027-12-31")
    page.select_option('[name="sites[0].muscle"]', "upper_trapezius")
    page.select_option('[name="sites[0].side"]', "right")
    page.fill('[name="sites[0].units"]', "20")
    page.clock.run_for(1000)
    page.locator("#decision .decision").wait_for()
    served.clock.advance(minutes=31)
    page.fill('[name="sites[0].units"]', "25")
    page.press('[name="sites[0].units"]', "Tab")  # its change event too is checked (and refused) now
    page.clock.run_for(1000)
    expect(page.locator("#check-status")).to_contain_text("Your session has ended")
    assert page.locator("#decision p.dilution").inner_text().count("; 20 U in") == 1  # the last one shown

    page.locator(".idle-warning").get_by_role("button", name="Log in again").click()
    page.fill("#relogin-password", password("physician"))
    page.locator("dialog.relogin").get_by_role("button", name="Log in").click()
    page.locator("dialog.relogin").wait_for(state="hidden")
    page.clock.run_for(1000)
    expect(page.locator("#decision p.dilution")).to_contain_text("; 25 U in")  # judged again
    expect(page.locator("#check-status")).to_contain_text("Decision updated")
    page.click("button:text('Save session')")
    page.wait_for_url(re.compile(r".*\?saved=injection_session&session=[0-9a-f-]{36}$"))
    saved = _saved_sessions(served)
    assert [(s.muscle, s.side, s.units) for s in saved[0].data.sites] == [("upper_trapezius", "right", 25)]
    assert len(saved) == 1
