"""A physician's day from the home page, in Chromium at 1280 px and on a 390x844 phone (issue 14,
items 1 and 4): today's items on home, a chart opened from it, two worklist items worked (done,
snoozed), a stop-and-review marked reviewed. Screenshots: tests/web/artifacts/today_*.png.

The server runs on the real clock over the seed-5 demo clinic (as of 2026-11-23): on a later day
the window may hold no due item, so the items are worked on the worklist with the older ones
listed too (back=0), which always has some; the stop-and-review flags do not depend on the day.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from web.test_browser import ARTIFACTS, _errors, _log_in, browser, server  # noqa: F401 (fixtures)

SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


def _no_sideways_scroll(page: Any, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} is {scroll} px wide on a {width} px screen"


def _first_key(page: Any, action: str) -> str:
    form = page.locator(f'table.work form:has(button[value="{action}"])').first
    return str(form.locator('input[name="item_key"]').get_attribute("value"))


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_physicians_day_from_the_home_page(browser: Any, server: str, size: str) -> None:  # noqa: F811
    context = browser.new_context(**SIZES[size])
    width = SIZES[size]["viewport"]["width"]  # type: ignore[index]
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, server, "physician")

    # home = today: the sections of the day, sessions and reviews first for a physician
    assert page.inner_text("h1").startswith("Today")
    for section in ("#sessions", "#review", "#due-today", "#overdue", "#this-week", "#self-reports"):
        assert page.locator(section).count() == 1
    assert page.locator("#review table.work tbody tr").count() >= 1
    body = page.inner_text("main")
    assert "patient_id" not in body and "item_key" not in body and "Traceback" not in body
    _no_sideways_scroll(page, width)
    page.screenshot(path=str(ARTIFACTS / f"today_home_{size}.png"), full_page=True)

    # open a chart from home: a due item's patient if the window holds one, else a review's
    due = page.locator(
        "#overdue table.work td[data-label=Patient] a, #due-today table.work td[data-label=Patient] a"
    )
    link = due.first if due.count() else page.locator("#review td[data-label=Patient] a").first
    name = link.inner_text()
    link.click()
    page.wait_for_selector(".bodymaps")
    assert name in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / f"today_chart_{size}.png"), full_page=True)

    # work two items: done, then snoozed to a later day
    page.goto(f"{server}/worklist?back=0")
    _no_sideways_scroll(page, width)
    page.screenshot(path=str(ARTIFACTS / f"today_worklist_{size}.png"), full_page=True)
    done = _first_key(page, "done")
    # (the page's script asks whether the session is live before a form is sent: wait for the page)
    with page.expect_navigation():
        page.locator("table.work tbody tr").first.locator('button[value="done"]').click()
    assert done not in page.content()
    snoozed = _first_key(page, "done")
    # the row links to the item's own page for the rest (snooze to a date, cancel with a reason)
    page.locator("table.work tbody tr").first.locator("a.work-more").click()
    page.wait_for_selector('input[name="snooze_until"]')
    assert page.locator('input[name="item_key"]').first.get_attribute("value") == snoozed
    _no_sideways_scroll(page, width)
    page.locator('input[name="snooze_until"]').fill((dt.date.today() + dt.timedelta(days=30)).isoformat())
    page.screenshot(path=str(ARTIFACTS / f"today_snooze_{size}.png"), full_page=True)
    page.locator('button[value="snoozed"]').click()
    page.wait_for_url(f"{server}/worklist?back=0")
    assert snoozed not in page.content()
    assert "snoozed" in page.inner_text("main")

    # mark a stop-and-review as reviewed, with the decision
    page.goto(f"{server}/")
    reviews = page.locator("#review table.work tbody tr")
    before = reviews.count()
    first = reviews.first
    who = first.locator("td[data-label=Patient] a").inner_text()
    patient_href = str(first.locator("td[data-label=Patient] a").get_attribute("href"))
    first.locator('select[name="decision"]').select_option("change")
    with page.expect_navigation(url=f"{server}/"):  # (the page was at / already: wait for the new one)
        first.locator('button[value="reviewed"]').click()
    assert page.locator("#review table.work tbody tr").count() == before - 1
    page.screenshot(path=str(ARTIFACTS / f"today_home_after_{size}.png"), full_page=True)

    # the decision is on the chart's timeline
    page.goto(server + patient_href)
    timeline = page.inner_text("#timeline")
    assert "Stop and review: review done, decision: change product or dose" in timeline, who
    page.locator("#timeline").screenshot(path=str(ARTIFACTS / f"today_timeline_{size}.png"))
    assert errors == []
    context.close()
