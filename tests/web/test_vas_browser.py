"""The VAS on the patient's phone form (QA pass 4, finding 4), in a real browser: a line to tap,
drag or move with the keys, which is not answered until touched, and whose mark is said in words."""

from __future__ import annotations

from typing import Any

from web.test_browser import (
    WARN_PATIENT,
    _errors,
    _log_in,
    _open_chart,
    browser,  # noqa: F401  (the fixture, used by name)
    server,  # noqa: F401  (the fixture, used by name)
)


def _vas_link(browser: Any, server: str) -> str:  # noqa: F811
    staff = browser.new_context(viewport={"width": 1280, "height": 900})
    page = staff.new_page()
    _log_in(page, server, "staff")
    _open_chart(page, server, WARN_PATIENT)
    page.click("text=Patient link")
    for box in page.query_selector_all("input[name=instruments]"):
        box.set_checked(box.get_attribute("value") == "vas")
    page.click("text=Issue link")
    url = page.get_attribute("#issued-link", "href")
    staff.close()
    assert url
    return str(url)


def test_vas__a_line_touched_by_tap_or_key_and_blank_until_then(browser: Any, server: str) -> None:  # noqa: F811
    url = _vas_link(browser, server)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    errors = _errors(page)
    page.goto(url)
    line = page.locator("#f-vas\\.1")
    assert line.is_visible() and page.locator("text=Mark the line at the point").is_visible()
    assert not page.locator("#f-vas\\.1-typed").count()  # the number box gives way to the line
    assert page.input_value('input[type=hidden][name="vas.1"]') == ""  # not the line's middle
    assert line.get_attribute("aria-valuetext") == "not marked yet"
    # sent untouched: not answered, said in words and marked
    page.click("text=Send my answers")
    page.wait_for_selector("#answers-problems")
    assert "Question 1 of the Visual Analogue Scale for pain is not answered yet." in page.inner_text(
        "#answers-problems"
    )
    assert line.get_attribute("aria-invalid") == "true"
    # a tap at about 40 % of the line
    box = line.bounding_box()
    assert box is not None and box["width"] > 300
    page.tap("#f-vas\\.1", position={"x": box["width"] * 0.4, "y": box["height"] / 2})
    mark = int(page.input_value('input[type=hidden][name="vas.1"]'))
    assert 35 <= mark <= 45
    assert page.inner_text("#said-vas\\.1") == f"You marked {mark} out of 100."
    # answered now: its "not answered yet" mark is gone (it stayed until the next send before)
    assert not page.locator("#err-vas\\.1").is_visible()
    assert line.get_attribute("aria-invalid") is None
    assert "err-" not in (line.get_attribute("aria-describedby") or "")
    assert page.locator("fieldset#q-vas\\.1.has-error").count() == 0
    # the keys move it one step at a time, End to the worst pain imaginable
    line.focus()
    page.keyboard.press("ArrowLeft")
    assert page.input_value('input[type=hidden][name="vas.1"]') == str(mark - 1)
    page.keyboard.press("End")
    assert page.inner_text("#said-vas\\.1") == "You marked 100 out of 100: worst pain imaginable."
    page.keyboard.press("Home")
    page.click("text=Send my answers")
    page.wait_for_selector("text=Your answers were received")
    assert errors == [] or all("400" in e for e in errors)
    phone.close()
