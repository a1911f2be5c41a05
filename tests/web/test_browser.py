"""The pages in a real browser: Debian's Chromium driven by Playwright against a real uvicorn
server on a temporary SQLite registry holding a small demo clinic (`bontrack demo`).

Screenshots go to tests/web/artifacts/ (not committed) for people to look at. Without Chromium
or Playwright the tests are skipped, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    port = _free_port()
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bontrack",
            "--db",
            db_url,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"the server did not start: {(folder / 'server.log').read_text()}")
        ARTIFACTS.mkdir(exist_ok=True)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
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
    found: list[str] = []
    page.on("pageerror", lambda e: found.append(str(e)))
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    return found


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
    assert "Source:" in text and "U per 0.1 mL" in text
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
    page.goto(url)
    assert "cannot be used" in page.inner_text("main")
    assert errors == [] or all("410" in e for e in errors)
    phone.close()


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
    assert "sites[0].units" in changed and "lot" not in changed  # changed fields only
    page.screenshot(path=str(ARTIFACTS / "session_history.png"), full_page=True)
    assert errors == []
    context.close()
