"""Read requests on SQLite run on a read-only engine (issue 14's page speed, issue 18 item 6): a GET
whose audit entries are group-committed takes no turn and no write lock; it reads one snapshot on a
connection that refuses writes, beside the writer (WAL). What it must still write is written apart:
its read entries by the batch writer, a browser session's idle clock by a short transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from bontrack.audit.models import AuditEntry
from bontrack.auth.models import AuthTokenRow
from bontrack.storage.engine import is_read_only, transaction
from web.conftest import Site, log_in


def test_sqlite_app__has_a_read_only_engine_that_refuses_writes(site: Site) -> None:
    reads = site.settings.local_reads
    assert reads is not None and str(reads.url) == str(site.engine.url)
    with transaction(reads) as db:
        assert is_read_only(db)
        assert db.execute(text("PRAGMA query_only")).scalar() == 1
        with pytest.raises(OperationalError, match="readonly"):
            db.execute(text("CREATE TABLE never_made (a)"))
    with transaction(site.engine) as db:
        assert not is_read_only(db)


def test_chart_read__answered_from_the_read_engine_with_its_entries_durable(site: Site) -> None:
    assert log_in(site, "physician") == 303

    def reads_of_patient() -> int:
        with transaction(site.engine) as db:
            query = select(func.count()).where(
                AuditEntry.action == "read", AuditEntry.record_id == site.world.patient_id
            )
            return int(db.scalar(query.select_from(AuditEntry)) or 0)

    before = reads_of_patient()
    page = site.client.get(f"/patients/{site.world.patient_id}")
    assert page.status_code == 200
    assert reads_of_patient() == before + 1  # written by the batch writer before the answer


def test_session_idle_clock__kept_by_a_read_request(site: Site) -> None:
    assert log_in(site, "staff") == 303
    site.clock.advance(minutes=5)
    assert site.client.get("/").status_code == 200  # a read request: its own unit cannot write
    with transaction(site.engine) as db:
        used = db.scalars(select(AuthTokenRow.last_used_at).where(AuthTokenRow.kind == "session")).all()
    assert site.clock() in used
