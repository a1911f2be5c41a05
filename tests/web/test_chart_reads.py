"""The chart's reads (issue 14, issue 18 item 6): current versions are read as plain columns and a
version read before is handed out again (bontrack.record_reads.find_current_read, kept by
bontrack.current_reads), so a chart read again costs less; a correction must still show at once,
and every read must still be audited with the version it showed, exactly as the ORM read path audits it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select

from bontrack.actor import Actor
from bontrack.audit.models import AuditEntry
from bontrack.audit.service import with_versions
from bontrack.current_reads import decoded, validated
from bontrack.injections.kind import INJECTION_SESSION as SESSION
from bontrack.outcomes.kind import OUTCOME
from bontrack.patient_reads import current_of_patient
from bontrack.patients import service as patients
from bontrack.patients.kind import EPISODE, PATIENT
from bontrack.patients.models import PatientRow
from bontrack.patients.schemas import PatientCreate
from bontrack.record_reads import find_current_read, get_read
from bontrack.records import find_current, get, to_read
from bontrack.repository import Repository
from bontrack.screening.kind import SCREENING
from bontrack.screening.models import ScreeningRow
from bontrack.screening.schemas import ScreeningCreate
from bontrack.storage.audit_log import denied_attempt
from bontrack.storage.engine import json_text, transaction
from bontrack.therapy.kind import THERAPY_VISIT
from bontrack.web.api.patients import _CHART_KINDS
from web.conftest import Site, email, log_in, make_site, populate


def _chart(site: Site) -> dict[str, Any]:
    response = site.client.get(
        f"/api/patients/{site.world.patient_id}/chart", headers=site.bearer("physician")
    )
    assert response.status_code == 200, response.text
    chart: dict[str, Any] = response.json()
    return chart


def _reads_of(site: Site, record_id: str) -> list[tuple[str, int | None, str]]:
    """(actor, version, outcome) of each read of the record, in the order written."""
    with transaction(site.engine) as db:
        query = (
            select(AuditEntry)
            .where(AuditEntry.record_id == record_id, AuditEntry.action == "read")
            .order_by(AuditEntry.seq)
        )
        return [(e.actor, e.version, e.outcome) for e in with_versions(db, db.scalars(query).all())]


def test_a_correction_shows_on_the_chart_at_once_and_its_read_names_the_new_version(engine: Engine) -> None:
    site = make_site(engine, populate(engine))
    reader = f"user:{email('physician')}"
    first = _chart(site)
    assert _chart(site) == first  # read again (the versions kept): the same chart
    (screening,) = first["screenings"]
    assert screening["version"] == 1 and screening["data"]["medications"] == []
    corrected = screening["data"] | {"medications": ["warfarin"]}
    response = site.client.put(
        f"/api/screenings/{screening['id']}",
        json={"data": corrected, "reason": "warfarin left off"},
        headers=site.bearer("physician"),
    )
    assert response.status_code == 200, response.text
    after = _chart(site)
    (shown,) = after["screenings"]
    assert shown["version"] == 2 and shown["data"]["medications"] == ["warfarin"]
    reads = [r for r in _reads_of(site, screening["id"]) if r[0] == reader]
    versions = [v for _, v, _ in reads]
    # the two chart reads of version 1 (and the correction's own), then the chart's of version 2
    assert versions[:2] == [1, 1] and versions[-1] == 2 and versions.count(2) == 1
    assert all(outcome == "ok" for _, _, outcome in reads)
    assert log_in(site, "physician") == 303  # the page too shows the corrected version
    page = site.client.get(f"/patients/{site.world.patient_id}")
    assert page.status_code == 200 and "warfarin" in page.text.lower()


def test_reading_as_columns_gives_the_same_records_and_audit_entries_as_the_orm_read(engine: Engine) -> None:
    site = make_site(engine, populate(engine))
    _chart(site)  # the patient's versions read once already: handed out again below
    actor = "test:reader"
    with transaction(site.engine) as db:
        rows = find_current(db, row_cls=ScreeningRow, actor=actor, patient_id=site.world.patient_id)
        by_orm = [to_read(r, ScreeningCreate) for r in rows]
    with transaction(site.engine) as db:
        by_columns = find_current_read(
            db, row_cls=ScreeningRow, schema=ScreeningCreate, actor=actor, patient_id=site.world.patient_id
        )
    assert by_columns == by_orm and by_columns
    with transaction(site.engine) as db:
        found = db.scalars(select(AuditEntry).where(AuditEntry.actor == actor).order_by(AuditEntry.seq)).all()
        logged = [
            (e.action, e.record_type, e.record_id, e.version, e.clinic_id, e.detail, e.outcome)
            for e in with_versions(db, found)
        ]
    half = len(logged) // 2
    assert half == len(by_orm) and logged[:half] == logged[half:]
    assert logged[0] == ("read", "screening", by_orm[0].id, 1, site.world.clinic_id, None, "ok")


def _logged(site: Site, actor: str) -> list[tuple[Any, ...]]:
    with transaction(site.engine) as db:
        found = db.scalars(select(AuditEntry).where(AuditEntry.actor == actor).order_by(AuditEntry.seq)).all()
        return [
            (e.action, e.record_type, e.record_id, e.version, e.clinic_id, e.detail, e.outcome)
            for e in with_versions(db, found)
        ]


def test_the_charts_one_query_gives_each_kinds_records_order_and_audit_entries(engine: Engine) -> None:
    """bontrack.patient_reads: the eight kinds in one UNION ALL, as eight of_patient reads."""
    site = make_site(engine, populate(engine))
    kinds = [Repository.of(k) for k in (EPISODE, SCREENING, SESSION, THERAPY_VISIT, OUTCOME)]
    patient_id, clinic_id = site.world.patient_id, site.world.clinic_id
    for day, score in (("2026-04-20", 5), ("2026-04-13", 3)):  # recorded out of date order
        body = {"patient_id": patient_id, "episode_id": site.world.episode_id, "instrument": "nprs"}
        body |= {"date": day, "answers": {"1": score}}
        saved = site.client.post("/api/outcomes", json=body, headers=site.bearer("staff"))
        assert saved.status_code == 201, saved.text
    many = Actor("test:many", clinic_id=clinic_id)
    with transaction(site.engine) as db:
        one_by_one = [kind.of_patient(db, many, patient_id) for kind in kinds]
    assert [len(reads) for reads in one_by_one] == [1, 1, 0, 0, 2]
    assert [str(o.data.date) for o in one_by_one[-1]] == ["2026-04-13", "2026-04-20"]  # by date
    for actor in (Actor("test:one", clinic_id=clinic_id), "test:every-clinic"):
        with transaction(site.engine) as db:
            together = current_of_patient(db, actor, patient_id, kinds)
        assert together == one_by_one
        assert _logged(site, actor) == _logged(site, "test:many")
    with transaction(site.engine) as db:
        other = current_of_patient(db, Actor("test:other", clinic_id="another-clinic"), patient_id, kinds)
    assert other == [[] for _ in kinds] and _logged(site, "test:other") == []


def test_another_clinics_user_reads_none_of_the_kept_versions(engine: Engine) -> None:
    site = make_site(engine, populate(engine))
    _chart(site)  # kept by this process now
    with transaction(site.engine) as db:
        other = find_current_read(
            db,
            row_cls=ScreeningRow,
            schema=ScreeningCreate,
            actor=Actor("test:other", clinic_id="another-clinic"),
            patient_id=site.world.patient_id,
        )
    assert other == []


def test_static_file_links_keep_each_requests_own_address(engine: Engine) -> None:
    world = populate(engine)
    for secure, scheme in ((False, "http"), (True, "https")):
        site = make_site(engine, world, secure_cookies=secure)
        login = site.client.get("/login")
        assert f'href="{scheme}://testserver/static/style.css"' in login.text
        assert log_in(site, "physician") == 303
        page = site.client.get(f"/patients/{world.patient_id}")
        assert page.status_code == 200
        assert f'href="{scheme}://testserver/static/style.css"' in page.text
        assert f'src="{scheme}://testserver/static/bodymap.js"' in page.text


def _trend_of(site: Site) -> str:
    page = site.client.get(f"/patients/{site.world.patient_id}")
    assert page.status_code == 200, page.text
    start = page.text.index('<svg class="trend"')
    return page.text[start : page.text.index("</svg>", start)]


def test_a_kept_plot_is_drawn_again_after_a_correction(engine: Engine) -> None:
    site = make_site(engine, populate(engine))
    assert log_in(site, "physician") == 303
    body = {
        "patient_id": site.world.patient_id,
        "episode_id": site.world.episode_id,
        "instrument": "nprs",
        "date": "2026-04-13",
        "answers": {"1": 3},
    }
    saved = site.client.post("/api/outcomes", json=body, headers=site.bearer("staff"))
    assert saved.status_code == 201, saved.text
    first = _trend_of(site)
    assert " 3 on 2026-04-13</title>" in first
    assert _trend_of(site) == first  # drawn once, kept
    corrected = site.client.put(
        f"/api/outcomes/{saved.json()['id']}",
        json={"data": body | {"answers": {"1": 7}}, "reason": "misheard the score"},
        headers=site.bearer("physician"),
    )
    assert corrected.status_code == 200, corrected.text
    after = _trend_of(site)
    assert " 7 on 2026-04-13</title>" in after and " 3 on 2026-04-13</title>" not in after


def _outcome_of(read: Any) -> tuple[Any, ...]:
    """What a read gave: the version, or the error (its type, its words, its denied attempt)."""
    if isinstance(read, Exception):
        attempt = denied_attempt(read)  # (its actor is the reader's: they differ below)
        denied = None if attempt is None else (attempt.record_type, attempt.record_id, attempt.clinic_id)
        return (type(read).__name__, str(read), denied, getattr(read, "clinic_id", None))
    return ("read", read)


def test_a_patient_read_as_columns_is_the_orm_reads_version_error_and_audit_entry(engine: Engine) -> None:
    """record_reads.get_read (the chart's patient): for a current, withdrawn, unknown or other clinic's
    patient, the same version or error and the same audit entries as records.get and to_read."""
    site = make_site(engine, populate(engine))
    clinic_id = site.world.clinic_id
    with transaction(site.engine) as db:
        gone = patients.create_patient(
            db=db,
            actor="test:setup",
            clinic_id=clinic_id,
            data=PatientCreate(record_number="P-2", name="Gone", birth_date=dt.date(1980, 1, 2), sex="male"),
        )
        patients.withdraw_patient(db=db, actor="test:setup", patient_id=gone.id, reason="registered twice")
    asked = (site.world.patient_id, gone.id, "0" * 36)
    actors = {
        "orm": (Actor("test:orm", clinic_id=clinic_id), Actor("test:orm-other", clinic_id="another-clinic")),
        "columns": (
            Actor("test:col", clinic_id=clinic_id),
            Actor("test:col-other", clinic_id="another-clinic"),
        ),
    }
    found: dict[str, list[tuple[Any, ...]]] = {}
    for way, pair in actors.items():
        found[way] = []
        for actor in pair:
            for patient_id in asked:
                with transaction(site.engine) as db:
                    try:
                        if way == "orm":
                            row = get(
                                db, row_cls=PatientRow, record_id=patient_id, actor=actor, field="patient_id"
                            )
                            read: Any = to_read(row, PatientCreate)
                        else:
                            read = get_read(
                                db,
                                row_cls=PatientRow,
                                schema=PatientCreate,
                                record_id=patient_id,
                                actor=actor,
                                field="patient_id",
                            )
                    except Exception as exc:  # the error is what is compared
                        read = exc
                found[way].append(_outcome_of(read))
    assert found["columns"] == found["orm"]
    assert [o[0] for o in found["orm"]] == ["read", "WithdrawnError", "NotFoundError"] + ["NotFoundError"] * 3
    assert found["orm"][3][2] == ("patient", site.world.patient_id, clinic_id)  # a denied attempt
    for by_orm, by_columns in zip(actors["orm"], actors["columns"], strict=True):
        assert _logged(site, by_columns) == _logged(site, by_orm)
    # the current patient's read (the failed reads' transactions were rolled back: the face
    # writes their denied attempts, tests/web/test_chart_route.py)
    assert [e[:4] for e in _logged(site, actors["columns"][0])] == [
        ("read", "patient", site.world.patient_id, 1)
    ]


def test_stored_json_text_is_read_as_decoding_and_validating_it_reads(engine: Engine) -> None:
    """SQLite's JSON text is validated as JSON by pydantic (current_reads.validated): every stored
    record of the chart's kinds is read as the decoded content validated the Python way (the same
    values, the same JSON out), and a content that way refuses is refused with its errors."""
    site = make_site(engine, populate(engine))
    kinds = set()
    with transaction(site.engine) as db:
        for repository in (Repository.of(PATIENT), *_CHART_KINDS):
            schema = repository.schema
            for row in db.scalars(select(repository.row)).all():
                text = json_text(row.data)
                python = schema.model_validate(decoded(text), strict=False, context={"stored": True})
                for raw in (text, text.encode()):
                    read = validated(schema, raw)
                    assert read == python and type(read) is type(python)
                    assert read.model_dump_json(by_alias=True) == python.model_dump_json(by_alias=True)
                kinds.add(schema)
    assert len(kinds) >= 3  # the world's patient, episode, screening and more
    broken = json_text({"patient_id": 5, "medications": "none"})
    with pytest.raises(ValidationError) as python_way:
        ScreeningCreate.model_validate(decoded(broken), strict=False, context={"stored": True})
    with pytest.raises(ValidationError) as json_way:
        validated(ScreeningCreate, broken)
    assert json_way.value.errors() == python_way.value.errors()
