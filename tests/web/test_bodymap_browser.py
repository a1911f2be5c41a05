"""The body map as Chromium draws it on a 390x844 phone and at 1280 px, on a chart and on the new
injection session form: every text on it at least 11 px tall, the muscles' names clear of each
other, of the figure's outline and of their leader lines, the units' badges clear of each other,
and every injected muscle and trigger point marked by more than its colour.
Screenshots: tests/web/artifacts/bodymap_{chart,session}_{phone,desktop}.png."""

from __future__ import annotations

from typing import Any

import pytest

from web.test_browser import ARTIFACTS, WARN_PATIENT, _errors, _log_in, _open_chart, browser, server  # noqa: F401

SIZES = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}

# per map: its texts' rendered sizes (CSS px: font size times the map's scale), the names' and the
# badges' boxes on the page, the names that touch the outline (sampled over each name's box with
# isPointInFill/isPointInStroke on the outline's shapes), and each name's end against the start of
# its leader line (in the map's own units)
MEASURE = """() => [...document.querySelectorAll('svg.bodymap')].map(svg => {
  const box = el => { const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
  const outline = [...svg.querySelectorAll('.outline')];
  const touches = t => {
    const b = t.getBBox();
    for (let i = 0; i <= 12; i++) for (let j = 0; j <= 4; j++) {
      const p = new DOMPoint(b.x + b.width * i / 12, b.y + b.height * j / 4);
      for (const shape of outline) {
        const q = p.matrixTransform(shape.getCTM().inverse().multiply(t.getCTM()));
        if (shape.isPointInFill(q) || shape.isPointInStroke(q)) return true;
      }
    }
    return false;
  };
  const labels = [...svg.querySelectorAll('text.label')];
  return {
    svg: box(svg),
    texts: [...svg.querySelectorAll('text')].map(t => ({
      text: t.textContent,
      px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a})),
    labels: labels.map(t => ({text: t.textContent, box: box(t), touches: touches(t),
      end: t.getBBox().x + t.getBBox().width,
      line: parseFloat(t.previousElementSibling.getAttribute('x1'))})),
    badges: [...svg.querySelectorAll('.units rect')].map(box),
    injected: svg.querySelectorAll('.muscle:not([data-units="0"])').length,
    trigger_points: svg.querySelectorAll('.muscle[data-trigger-point="true"]').length,
    dots: svg.querySelectorAll('circle.trigger-point').length,
  };
})"""


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    )


def _check(maps: list[dict[str, Any]]) -> None:
    assert len(maps) == 2
    for m in maps:
        small = {t["text"]: round(t["px"], 1) for t in m["texts"] if t["px"] < 11}
        assert not small, f"text under 11 px: {small}"
        names = m["labels"]
        assert len(names) >= 3
        for i, a in enumerate(names):
            assert not [b["text"] for b in names[i + 1 :] if _overlap(a["box"], b["box"])], a["text"]
            assert not a["touches"], f"{a['text']} is drawn on the outline"
            assert a["end"] <= a["line"], f"{a['text']} runs into its leader line"
            assert m["svg"]["left"] <= a["box"]["left"] and a["box"]["right"] <= m["svg"]["right"]
        badges = m["badges"]
        assert not [(a, b) for i, a in enumerate(badges) for b in badges[i + 1 :] if _overlap(a, b)]
        assert len(badges) == m["injected"]  # a number on each injected muscle ...
        assert m["dots"] == m["trigger_points"]  # ... and a dot on each trigger point


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_body_map_reads_on_a_phone_and_a_desktop(browser: Any, server: str, size: str) -> None:  # noqa: F811
    context = browser.new_context(**SIZES[size])
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, server, "physician")
    _open_chart(page, server, WARN_PATIENT)
    maps = page.evaluate(MEASURE)
    _check(maps)
    assert sum(m["injected"] for m in maps) > 0 and sum(m["trigger_points"] for m in maps) > 0
    page.locator("#bodymap").screenshot(path=str(ARTIFACTS / f"bodymap_chart_{size}.png"))

    page.goto(page.url.split("?")[0] + "/sessions/new")
    page.wait_for_selector(".bodymaps svg")
    _check(page.evaluate(MEASURE))
    page.locator(".bodymaps").screenshot(path=str(ARTIFACTS / f"bodymap_session_{size}.png"))
    assert errors == []
    context.close()
