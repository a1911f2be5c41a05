"""A server reads its pages' templates when it starts and keeps them: a package upgraded under a
running server does not pair new templates with the code already loaded (a page that names a
field the old code lacks answered 500 until a restart)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from jinja2 import FileSystemLoader

from bontrack.reports import render
from bontrack.web import pages
from web.conftest import Site


def test_every_template_is_read_at_start_and_not_again(site: Site) -> None:
    # the site's app was made: every page's template is compiled and kept, and the report's
    env = pages.templates.env
    assert env.auto_reload is False
    names = env.list_templates()
    assert names and all(env.cache is not None and any(k[1] == n for k in env.cache) for n in names)
    assert render.report_template.cache_info().currsize == 1


def test_a_template_changed_on_disk_after_start_is_not_served(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages read from a copy of the templates at start, then the copy changed (as an upgrade
    would change the installed files): the running app still serves what it read at start."""
    copy = tmp_path / "templates"
    shutil.copytree(Path(pages.__file__).parent / "templates", copy)
    env = pages.templates.env
    assert isinstance(env.loader, FileSystemLoader)
    monkeypatch.setattr(env.loader, "searchpath", [str(copy)])
    monkeypatch.setattr(env, "cache", type(env.cache)(400))  # type: ignore[arg-type,operator]
    pages.load_templates()  # the server's start, on the copy
    login = copy / "login.html"
    login.write_text("{{ request.no_such_field.upgraded }}")
    os.utime(login, (login.stat().st_mtime + 60,) * 2)  # newer than what was read
    page = site.client.get("/login")
    assert page.status_code == 200, page.text
    assert "Log in" in page.text
