"""Read audits group-committed (issue 18 item 6): concurrent chart reads through the real app
each leave their entries, written by the batch writer; a batch that cannot be written fails its
requests with 503 and shows nothing of what they read."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import Engine, func, select, text

from bontrack.audit.models import AuditEntry
from web.conftest import Site, email, log_in, make_site, populate

READERS = 12


def _reads(site: Site, actor: str) -> int:
    with site.engine.connect() as conn:
        query = (
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.actor == actor, AuditEntry.action == "read", AuditEntry.outcome == "ok")
        )
        return int(conn.execute(query).scalar_one())


async def _read_charts(site: Site, headers: dict[str, str], n: int) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=site.client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        path = f"/api/patients/{site.world.patient_id}/chart"
        return list(await asyncio.gather(*(client.get(path, headers=headers) for _ in range(n))))


def test_concurrent_chart_reads_each_leave_their_entries(engine: Engine) -> None:
    site = make_site(engine, populate(engine))
    headers = site.bearer("physician")
    actor = f"user:{email('physician')}"
    before = _reads(site, actor)
    (one,) = asyncio.run(_read_charts(site, headers, 1))
    assert one.status_code == 200, one.text
    per_chart = _reads(site, actor) - before
    assert per_chart >= 1  # the chart's patient at least
    responses = asyncio.run(_read_charts(site, headers, READERS))
    assert [r.status_code for r in responses] == [200] * READERS
    assert _reads(site, actor) - before == per_chart * (READERS + 1)
    assert site.client.app.state.read_audits.batches_committed >= 1


def test_a_batch_that_cannot_be_written_fails_its_requests_with_503_and_shows_nothing(site: Site) -> None:
    headers = site.bearer("physician")
    assert log_in(site, "physician") == 303  # the pages: by the session cookie
    page_path = f"/patients/{site.world.patient_id}"
    assert "Test Patient" in site.client.get(page_path).text
    path = f"/api/patients/{site.world.patient_id}/chart"
    shown = site.client.get(path, headers=headers)
    assert shown.status_code == 200 and "Test Patient" in shown.text
    with site.engine.begin() as conn:  # the database refuses the audit log's next rows
        conn.execute(
            text(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_packs "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        )
    actor = f"user:{email('physician')}"
    before = _reads(site, actor)
    refused = site.client.get(path, headers=headers)
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "Test Patient" not in refused.text and site.world.patient_id not in refused.text
    assert "audit log" in refused.json()["detail"] and refused.headers["Retry-After"]
    page = site.client.get(page_path, headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert "Test Patient" not in page.text and "audit log" in page.text
    both = asyncio.run(_read_charts(site, headers, 3))
    assert [r.status_code for r in both] == [503] * 3
    assert all("Test Patient" not in r.text for r in both)
    assert _reads(site, actor) == before  # nothing was written, and nothing was shown
    with site.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse_audit"))
    assert site.client.get(path, headers=headers).status_code == 200
    assert _reads(site, actor) > before
