"""The session form's lot picker and "Suggest a plan" in a real browser (Debian's Chromium via
Playwright) against a real server over a small demo clinic with toxin in stock.

Screenshot: tests/web/artifacts/suggest_plan.png (not committed). Skipped without Chromium or
Playwright, except under CI=true, where it fails (see test_browser.py).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from bontrack.storage.record_ids import id_text
from live_server import live_server
from tests.web.test_browser import (
    ARTIFACTS,
    WARN_PATIENT,
    _bontrack,
    _errors,
    _log_in,
    _open_chart,
    _save,
    browser,  # noqa: F401  (the fixture)
)

LOT = "ST0CK-42"


@pytest.fixture(scope="module")
def stock_server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[str]:  # noqa: F811
    """A server over a demo registry whose clinic has one BOTOX lot expiring in 20 days."""
    folder = tmp_path_factory.mktemp("stock-browser")
    db_url = f"sqlite:///{folder / 'demo.db'}"
    _bontrack(db_url, "demo", "--patients", "20", "--seed", "5")
    _bontrack(db_url, "user", "demo-logins")
    recalled = json.loads(_bontrack(db_url, "recall", "--format", "json", "none-such"))
    assert recalled["sessions"] == []
    import sqlite3

    with sqlite3.connect(folder / "demo.db") as conn:
        clinic_id = id_text(conn.execute("SELECT id FROM clinic_versions LIMIT 1").fetchone()[0])
    expiry = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    _bontrack(
        db_url, "stock", "receive", "--product", "botox", "--lot", LOT, "--expiry", expiry,
        "--vial-units", "100", "--count", "6", "--supplier", "McKesson", "--clinic", clinic_id,
    )  # fmt: skip
    try:
        with live_server(db_url, folder) as base:
            ARTIFACTS.mkdir(exist_ok=True)
            yield base
    finally:
        shutil.copy(folder / "server.log", ARTIFACTS / "stock_server.log")


def test_pick_a_lot_and_suggest_a_plan(browser: Any, stock_server: str) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, stock_server, "physician")
    _open_chart(page, stock_server, WARN_PATIENT)
    page.click("a.btn:text-is('Screening')")  # the demo screening is months old: screen today
    for state in ("pregnant", "breastfeeding", "infection_at_injection_site"):
        page.check(f'input[name="{state}"][value="no"]')
    _save(page, "Save screening", "screening")
    page.click("text=Injection session")
    page.wait_for_selector("#session-form")
    page.select_option('[name="injector_id"]', index=1)
    page.select_option('[name="guidance"]', "emg")
    # the lot picker fills product, vial size, lot and expiry, and warns: 20 days left
    page.select_option("#lot-picker", LOT)
    assert page.input_value('[name="product"]') == "onabotulinumtoxinA"
    assert page.input_value('[name="vial_units"]') == "100"
    assert page.input_value('[name="lot"]') == LOT
    page.wait_for_selector("#lot-warning:not([hidden])")
    assert "in 20 days" in page.inner_text("#lot-warning")
    assert "use it before lots that expire later" in page.inner_text("#lot-warning")
    assert "usable until" in page.inner_text("#usable-until")
    # MYOBLOC given undiluted was not prepared: no usable-until window (its 4 h are for diluted solution)
    page.select_option('[name="product"]', "rimabotulinumtoxinB")
    page.fill('[name="diluent_ml"]', "0")
    assert page.inner_text("#usable-until") == ""
    page.fill('[name="diluent_ml"]', "1")
    assert "usable until" in page.inner_text("#usable-until")
    page.fill('[name="diluent_ml"]', "")
    page.select_option('[name="product"]', "onabotulinumtoxinA")
    assert "usable until" in page.inner_text("#usable-until")
    # trigger points chosen on the map and in the table (no units), then the planner fills the rows
    page.click('.muscle[data-muscle="levator_scapulae"][data-side="right"]')
    page.select_option('[name="sites[1].muscle"]', "upper_trapezius")
    page.select_option('[name="sites[1].side"]', "right")
    assert page.input_value('[name="sites[0].units"]') == ""
    page.click("#suggest-plan")
    page.locator("#suggest-status", has_text="Suggested:").wait_for(timeout=15_000)
    filled = [
        (
            page.input_value(f'[name="sites[{i}].muscle"]'),
            page.input_value(f'[name="sites[{i}].side"]'),
            page.input_value(f'[name="sites[{i}].units"]'),
        )
        for i in range(2)
    ]
    assert {(m, s) for m, s, _ in filled} == {("levator_scapulae", "right"), ("upper_trapezius", "right")}
    assert all(float(u) > 0 for _, _, u in filled)
    assert float(page.input_value('[name="diluent_ml"]')) > 0
    assert page.inner_text("#suggest-status").startswith("Suggested:")
    page.wait_for_selector("#decision .decision", timeout=15_000)
    page.locator("tr.site-row .site-ml", has_text="mL").first.wait_for(timeout=15_000)
    page.screenshot(path=str(ARTIFACTS / "suggest_plan.png"), full_page=True)
    assert errors == []
    context.close()


def test_recall_keeps_each_product_word_whole_at_desktop_width(browser: Any, stock_server: str) -> None:  # noqa: F811
    """The recall table's product column is squeezed by six others at 1280 px: its name breaks
    between words ("onabotulinumtoxinA" / "(Botox)"), never inside one ("onabotulinumtox" / "inA")."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, stock_server, "physician")
    page.goto(f"{stock_server}/stock")
    lots = [cell.inner_text().strip() for cell in page.query_selector_all("td.lot")]
    recalled = 0
    for lot in lots:
        page.goto(f"{stock_server}/stock/recall?lot={lot}")
        cells = page.query_selector_all("#recall td.product")
        for cell in cells:
            # one box per word: a word broken across two lines has two
            boxes = cell.evaluate(
                """td => td.textContent.trim().split(/\\s+/).map(word => {
                       const text = td.firstChild, at = text.textContent.indexOf(word);
                       const range = document.createRange();
                       range.setStart(text, at); range.setEnd(text, at + word.length);
                       return range.getClientRects().length; })"""
            )
            assert boxes and set(boxes) == {1}, (lot, cell.inner_text(), boxes)
        recalled += len(cells)
    assert recalled, lots  # the demo's sessions took vials of the lots on hand
    page.screenshot(path=str(ARTIFACTS / "recall_1280.png"), full_page=True)
    assert not errors
    context.close()
