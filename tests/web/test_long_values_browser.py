"""A registry imported from elsewhere may hold a name, a record number or an adverse event of
thousands of characters without a space: each wraps inside its cell, and no page grows wider than
the window (the home page's worklist, the patient search, the report's side effects)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from live_server import live_server
from tests.web.test_browser import ARTIFACTS, _bontrack, _log_in, browser  # noqa: F401

RECORD = "LONG-" + "9" * 40
NAME = ("Longname" * 250)[:2000]
EVENT = "E" * 2000


@pytest.fixture(scope="module")
def long_server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[str]:  # noqa: F811
    """A demo exported, one patient and one adverse event given unbroken values, imported anew."""
    folder = tmp_path_factory.mktemp("long-values")
    demo, imported = f"sqlite:///{folder / 'demo.db'}", f"sqlite:///{folder / 'imported.db'}"
    _bontrack(demo, "demo", "--patients", "6", "--seed", "3")
    _bontrack(demo, "export", str(folder / "demo.jsonl"))
    records = [json.loads(line) for line in (folder / "demo.jsonl").read_text().splitlines()]
    for n, patient in enumerate(r for r in records if r["type"] == "patient"):  # whoever is due today
        patient["data"] |= {"name": NAME, "record_number": f"{RECORD}{n}"}
    event = next(r for r in records if r["type"] == "adverse_event")
    event["data"]["event"] = EVENT
    (folder / "long.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    _bontrack(imported, "import", str(folder / "long.jsonl"))
    _bontrack(imported, "user", "demo-logins")
    try:
        with live_server(imported, folder) as base:
            yield base
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(folder / "server.log", ARTIFACTS / "long_values_server.log")


@pytest.mark.parametrize("width", [1280, 390])
def test_long_unbroken_values_wrap_inside_the_window(browser: Any, long_server: str, width: int) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": width, "height": 900})
    _log_in(page, long_server, "physician")
    wide = {}
    shown = {"/": NAME[:40], f"/patients?q={RECORD}": RECORD, "/patients": RECORD, "/report": EVENT}
    for path, value in shown.items():
        page.goto(long_server + path)
        assert value in page.content(), f"{path} does not show the long value"
        scrolled = page.evaluate("() => document.scrollingElement.scrollWidth")
        if scrolled > width:
            wide[path] = scrolled
    page.close()
    assert not wide, f"pages wider than {width} px: {wide}"
