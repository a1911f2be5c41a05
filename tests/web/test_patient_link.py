"""Patients' one-time, expiring links: issue, open, submit once, expire; own records only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bontrack.audit.models import AuditEntry
from bontrack.outcomes.models import OutcomeRow
from bontrack.storage.engine import transaction
from web.conftest import Site

NPRS = {"instrument": "nprs", "answers": {"1": 4}}


def _issue(site: Site, **extra: Any) -> dict[str, Any]:
    body = {"patient_id": site.world.patient_id, "episode_id": site.world.episode_id, "instruments": ["nprs"]}
    response = site.client.post("/api/patient-links", json=body | extra, headers=site.bearer("staff"))
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


def _outcomes_saved(site: Site) -> int:
    with transaction(site.engine) as db:
        return int(db.scalar(select(func.count()).select_from(OutcomeRow)) or 0)


def test_link__issued_url_opens_without_login(site: Site) -> None:
    issued = _issue(site)
    assert issued["url"] == f"http://testserver/p/{issued['token']}"
    response = site.client.get(f"/api/patient-link/{issued['token']}")
    assert response.status_code == 200
    assert response.json()["instruments"] == ["nprs"]


def test_link__submits_once_then_is_gone(site: Site) -> None:
    token = _issue(site)["token"]
    first = site.client.post(f"/api/patient-link/{token}/outcomes", json={"forms": [NPRS]})
    assert first.status_code == 201, first.text
    (saved,) = first.json()
    assert saved["data"]["patient_id"] == site.world.patient_id
    assert saved["data"]["date"] == "2026-03-02"  # the app's clock
    again = site.client.post(f"/api/patient-link/{token}/outcomes", json={"forms": [NPRS]})
    assert again.status_code == 410
    assert again.headers["content-type"] == "application/problem+json"
    assert site.client.get(f"/api/patient-link/{token}").status_code == 410
    assert _outcomes_saved(site) == 1


def test_link__expires(site: Site) -> None:
    token = _issue(site, expires_in_hours=2)["token"]
    site.clock.advance(hours=1, minutes=59)
    assert site.client.get(f"/api/patient-link/{token}").status_code == 200
    site.clock.advance(minutes=1)
    response = site.client.post(f"/api/patient-link/{token}/outcomes", json={"forms": [NPRS]})
    assert response.status_code == 410
    assert "expired" in response.json()["detail"]
    assert _outcomes_saved(site) == 0


def test_link__bad_answers_name_the_field_and_leave_the_link_usable(site: Site) -> None:
    token = _issue(site)["token"]
    bad = site.client.post(
        f"/api/patient-link/{token}/outcomes", json={"forms": [{"instrument": "nprs", "answers": {"1": 12}}]}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"].startswith("forms[0].answers")
    other = site.client.post(
        f"/api/patient-link/{token}/outcomes", json={"forms": [{**NPRS, "instrument": "ndi"}]}
    )
    assert other.status_code == 400
    assert other.json()["errors"][0]["field"] == "forms[0].instrument"
    assert site.client.post(f"/api/patient-link/{token}/outcomes", json={"forms": [NPRS]}).status_code == 201


def test_link__patient_sees_only_their_own_records(site: Site) -> None:
    other = site.client.post(
        "/api/patients",
        json={"record_number": "P-777", "name": "Someone Else", "birth_date": "1960-01-01", "sex": "male"},
        headers=site.bearer("staff"),
    ).json()
    staff = site.bearer("staff")
    episode = site.client.post(
        "/api/episodes",
        json={
            "patient_id": other["id"],
            "diagnosis_codes": [{"code": "M54.2"}],
            "pain_onset_date": "2025-01-01",
            "conservative_care_weeks": 8,
        },
        headers=site.bearer("physician"),
    ).json()
    for patient_id, episode_id in (
        (site.world.patient_id, site.world.episode_id),
        (other["id"], episode["id"]),
    ):
        body = {"patient_id": patient_id, "episode_id": episode_id, "date": "2026-02-01"} | NPRS
        assert site.client.post("/api/outcomes", json=body, headers=staff).status_code == 201
    token = _issue(site)["token"]
    view = site.client.get(f"/api/patient-link/{token}")
    assert view.status_code == 200
    assert "Someone Else" not in view.text and other["id"] not in view.text


def test_link__reads_and_writes_are_audited_as_the_link(site: Site) -> None:
    issued = _issue(site)
    token, link_id = issued["token"], issued["link"]["id"]
    site.client.get(f"/api/patient-link/{token}")
    (saved,) = site.client.post(f"/api/patient-link/{token}/outcomes", json={"forms": [NPRS]}).json()
    with transaction(site.engine) as db:
        entries = list(db.scalars(select(AuditEntry).where(AuditEntry.actor == f"patient-link:{link_id}")))
        issued_entry = db.scalar(select(AuditEntry).where(AuditEntry.record_id == link_id))
    assert ("create", saved["id"]) in {(e.action, e.record_id) for e in entries}
    assert issued_entry is not None and issued_entry.actor == "user:staff@clinic.example.org"


def test_link__researcher_cannot_issue_and_unknown_token_is_404(site: Site) -> None:
    body = {"patient_id": site.world.patient_id, "episode_id": site.world.episode_id, "instruments": ["nprs"]}
    assert (
        site.client.post("/api/patient-links", json=body, headers=site.bearer("researcher")).status_code
        == 403
    )
    assert site.client.get("/api/patient-link/" + "x" * 43).status_code == 404
    unknown = site.client.post(
        "/api/patient-links", json=body | {"instruments": ["tarot"]}, headers=site.bearer("staff")
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "instruments"


def test_link__view_shows_the_patient_only_what_they_need(site: Site) -> None:
    """The link's view names the clinic, the forms (with their titles), whether they were sent and
    the expiry; no record, clinic, patient or episode ids, no scoring, no staff e-mail."""
    staff = site.bearer("staff")
    body = {"patient_id": site.world.patient_id, "episode_id": site.world.episode_id, "date": "2026-02-01"}
    earlier = site.client.post("/api/outcomes", json=body | NPRS, headers=staff)
    assert earlier.status_code == 201, earlier.text
    token = _issue(site, instruments=["nprs", "ndi"])["token"]
    view = site.client.get(f"/api/patient-link/{token}")
    assert view.status_code == 200, view.text
    shown = view.json()
    assert set(shown) == {"clinic", "instruments", "forms", "submitted", "expires_at"}
    assert shown["forms"] == [
        {"instrument": "nprs", "title": "Numeric Pain Rating Scale"},
        {"instrument": "ndi", "title": "Neck Disability Index"},
    ]
    assert shown["submitted"] is False and shown["clinic"]
    for secret in (
        site.world.patient_id,
        site.world.episode_id,
        site.world.clinic_id,
        earlier.json()["id"],
        "clinic.example.org",
        "scoring",
        "recorded_by",
    ):
        assert secret not in view.text, secret


def _new_episode(site: Site) -> str:
    response = site.client.post(
        "/api/episodes",
        json={
            "patient_id": site.world.patient_id,
            "diagnosis_codes": [{"code": "M54.2"}],
            "pain_onset_date": "2025-06-01",
            "conservative_care_weeks": 8,
        },
        headers=site.bearer("physician"),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_link__episode_withdrawn_after_the_link_was_sent_is_410_not_500(site: Site) -> None:
    episode_id = _new_episode(site)
    token = _issue(site, episode_id=episode_id)["token"]
    withdrawn = site.client.post(
        f"/api/episodes/{episode_id}/withdraw",
        json={"reason": "opened twice"},
        headers=site.bearer("physician"),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    api = site.client.post(f"/api/patient-link/{token}/outcomes", json={"forms": [NPRS]})
    assert api.status_code == 410, api.text
    assert "ask the clinic for a new one" in api.json()["detail"]
    assert site.client.get(f"/api/patient-link/{token}").status_code == 410
    for method in ("get", "post"):
        kwargs: dict[str, Any] = {"data": {"nprs.1": "4"}} if method == "post" else {}
        page = getattr(site.client, method)(f"/p/{token}", headers={"accept": "text/html"}, **kwargs)
        assert page.status_code == 410, page.text
        assert "can no longer be used" in page.text and "ask the clinic for a new one" in page.text
    assert _outcomes_saved(site) == 0


def test_link__field_errors_of_any_error_type_are_named_under_the_form() -> None:
    """The re-wrapping of a service's field errors keeps the error's type, whatever its constructor."""
    from bontrack.auth.links import _prefixed
    from bontrack.errors import InputError, WithdrawnError

    for exc in (
        WithdrawnError("episode_id", "episode", "e-1", "c-1"),
        InputError.one("answers.1", "must be 0 to 10"),
    ):
        wrapped = _prefixed(exc, "forms[0].")
        assert type(wrapped) is type(exc)
        assert wrapped.errors[0].field.startswith("forms[0].")
        assert str(wrapped).startswith("forms[0].")


def test_link__forms_without_answers_are_refused_and_the_link_stays_usable(site: Site) -> None:
    token = _issue(site, instruments=["nprs", "ndi", "rand36"])["token"]
    empty = [
        (
            {"instrument": "nprs", "answers": {"1": None}},
            "Question 1 of the Numeric Pain Rating Scale is not answered yet.",
        ),
        (
            {"instrument": "ndi", "answers": {str(n): None for n in range(1, 11)}},
            "Questions 1 to 10 of the Neck Disability Index are not answered yet.",
        ),
        (
            {"instrument": "rand36", "answers": {"1": 3}},
            "Questions 21 and 22 of the RAND 36-Item Health Survey 1.0 are not answered yet.",
        ),
    ]
    for form, said in empty:
        response = site.client.post(f"/api/patient-link/{token}/outcomes", json={"forms": [form]})
        assert response.status_code == 400, (form, response.text)
        (error,) = response.json()["errors"]
        assert error["field"] == "forms[0].answers"
        assert said in error["message"] and said in error["text"] and said in response.json()["detail"]
    assert _outcomes_saved(site) == 0
    assert site.client.get(f"/api/patient-link/{token}").status_code == 200
    assert site.client.post(f"/api/patient-link/{token}/outcomes", json={"forms": [NPRS]}).status_code == 201


def test_link__patient_pages_show_no_citations_and_no_administrator(site: Site) -> None:
    token = _issue(site, instruments=["nprs", "ndi"])["token"]
    page = site.client.get(f"/p/{token}")
    assert page.status_code == 200
    for citation in ("Farrar", "Vernon H", "J Manipulative Physiol Ther"):
        assert citation not in page.text, citation
    gone = site.client.get("/p/" + "x" * 43, headers={"accept": "text/html"})
    assert gone.status_code in (404, 410)
    assert "administrator" not in gone.text and "Log in" not in gone.text
    from bontrack.web.problems import PATIENT_PAGE_WORDS

    assert "Please try again later or contact the clinic" in PATIENT_PAGE_WORDS[500][1]
