"""The clinic report in the web app: behind log-in, audited, de-identified for researchers."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import select

from bontrack.audit.models import AuditEntry
from bontrack.reports import columnar
from bontrack.storage.engine import transaction
from factories import ACTOR, saved_session

from .conftest import Site, log_in


def test_report_page__needs_a_login(site: Site) -> None:
    response = site.client.get("/report")
    assert response.status_code in (302, 303, 307)
    assert "/login" in response.headers["location"]
    assert site.client.get("/api/report").status_code == 401


def test_report_page__a_physician_reads_the_report_and_the_read_is_audited(site: Site) -> None:
    with transaction(site.engine) as db:
        saved_session(db, site.world)
    assert log_in(site, "physician") == 303
    page = site.client.get("/report")
    assert page.status_code == 200
    assert "Does it work here?" in page.text and "1 patient had 1 injection session." in page.text
    assert "style-src 'unsafe-inline'" in page.headers["content-security-policy"]  # its own, inline style
    with transaction(site.engine) as db:
        actors = set(
            db.scalars(select(AuditEntry.actor).where(AuditEntry.record_type == "injection_session"))
        )
    assert any("physician" in a for a in actors) and ACTOR in actors


def test_report_api__researcher_gets_no_patient_list(site: Site) -> None:
    body = site.client.get("/api/report", headers=site.bearer("researcher")).json()
    assert body["stop_and_review"] == []
    assert any("researcher" in line for line in body["caveats"])
    physician = site.client.get("/api/report", headers=site.bearer("physician")).json()
    assert "researcher" not in " ".join(physician["caveats"])


def test_report_page__has_a_way_back_into_the_app(site: Site) -> None:
    assert log_in(site, "physician") == 303
    page = site.client.get("/report").text
    nav = page.split('<nav class="app-nav"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/"' in nav and 'href="/patients"' in nav and 'href="/worklist"' in nav
    assert "@media print{.app-nav{display:none}}" in page  # not printed with the report


def test_report_page__bar_is_every_pages_bar_with_the_way_out(site: Site) -> None:
    """The report's bar has the links and the log-out every other page's bar has for the role
    (it had only Patients and Worklist, and no way to log out)."""
    for role in ("physician", "researcher"):
        site.client.cookies.clear()
        assert log_in(site, role) == 303
        home = site.client.get("/").text
        bar = home.split('<nav class="nav"', 1)[1].split("</nav>", 1)[0]
        nav = site.client.get("/report").text.split('<nav class="app-nav"', 1)[1].split("</nav>", 1)[0]
        links = re.findall(r'href="(/[^"]*)"', bar)
        assert links and all(f'href="{link}"' in nav for link in links), role
        assert 'action="/logout"' in nav and "Log out" in nav and 'name="csrf_token" value="' in nav


def test_report_pdf_style__headings_kept_with_next_and_short_tables_whole() -> None:
    """The rules WeasyPrint lays the PDF out by (the PDF itself is looked at by people)."""
    from pathlib import Path

    import bontrack.reports

    template = Path(bontrack.reports.__file__).parent / "templates" / "report.html.j2"
    style = template.read_text(encoding="utf-8").split("<style>", 1)[1].split("</style>", 1)[0]
    assert "h1, h2, h3, .meta { break-after: avoid;" in style
    assert "table:not(:has(tr:nth-child(10))) { break-inside: avoid;" in style
    assert "table { break-inside: auto; }" in style  # a long table may break between rows
    assert "li:last-child { break-before: avoid; }" in style  # no bullet alone on a page


def test_report_page__has_the_idle_warning_of_every_logged_in_page(site: Site) -> None:
    """The report is its own document (not base.html): it had no idle warning, so a person reading
    it was logged out without a word. It now gets the same script, token and body attributes, and
    a policy that lets that one script (the app's own) ask about the session."""
    assert log_in(site, "physician") == 303
    response = site.client.get("/report")
    page = response.text
    head = page.split("</head>", 1)[0]
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', head)
    assert token and token.group(1) == re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert re.search(r'<script src="[^"]*/static/session_idle\.js" defer></script>', head)
    assert '<body data-idle-seconds="1800" data-user-email="physician@clinic.example.org">' in page
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]  # no inline script
    assert len(re.findall(r"<script", page)) == 1  # the report itself has none
    assert ".idle-warning{" in head and "dialog.relogin{" in head  # drawn as on every page


def test_report_api__reads_the_file_by_the_driver_while_no_unit_can_commit(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report page and API read a SQLite registry as `bontrack report` does: the file by the
    ADBC driver, on connections of their own (a 100,000-patient report: 18-20 s -> 4 s), with the
    write lock held for the whole read, so those connections see one state of the registry. Each
    driver read here first tries to begin a write on the file itself: it must find it locked.
    (Before, the request's reader transaction read every row through its own connection in Python.)"""
    with transaction(site.engine) as db:
        saved_session(db, site.world)
    tried: list[str] = []
    driver_read = columnar._adbc_batches

    def read_while_trying_to_write(path: Path, sql: str, rows: int = columnar.BATCH) -> Iterator[pa.Table]:
        with closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as other:
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                tried.append("began a write")
            except sqlite3.OperationalError as exc:
                tried.append(str(exc))
        yield from driver_read(path, sql, rows)

    monkeypatch.setattr(columnar, "_adbc_batches", read_while_trying_to_write)
    body = site.client.get("/api/report", headers=site.bearer("physician")).json()
    assert body["summary"]["sessions"] == 1
    assert tried and set(tried) == {"database is locked"}, tried
    with transaction(site.engine) as db:  # the read, audited once the lock was let go
        actors = set(
            db.scalars(select(AuditEntry.actor).where(AuditEntry.record_type == "injection_session"))
        )
    assert any("physician" in a for a in actors)


def test_report_page__the_heading_keeps_each_date_on_one_line(site: Site) -> None:
    """ "sessions 2025-01-26 to 2026-12-06" broke "2026-12-" / "06" at 1280 px: each date, and
    "As of" with its date, is kept whole (a value longer than a date may still break)."""
    with transaction(site.engine) as db:
        saved_session(db, site.world)
    assert log_in(site, "physician") == 303
    page = site.client.get("/report").text
    meta = page.split('<p class="meta">', 1)[1].split("</p>", 1)[0]
    assert re.search(r'<span class="whole">As of \d{4}-\d{2}-\d{2}</span>', meta), meta
    day = r'<span class="whole">\d{4}-\d{2}-\d{2}</span>'
    assert re.search(f"sessions {day} to {day}", meta), meta
    assert ".whole { white-space: nowrap; }" in page
