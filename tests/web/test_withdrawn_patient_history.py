"""A withdrawn patient's history on the web (QA R10): reachable by the roles who read it through
the API; the chart is a 404 page saying the patient was withdrawn, linking to the history."""

from __future__ import annotations

from tests.web.conftest import Site, log_in


def _withdrawn_patient(site: Site) -> str:
    made = site.client.post(
        "/api/patients",
        json={"record_number": "W-1", "name": "Wendy Withdrawn", "birth_date": "1980-02-03", "sex": "female"},
        headers=site.bearer("staff"),
    )
    assert made.status_code == 201, made.text
    pid = str(made.json()["id"])
    gone = site.client.post(
        f"/api/patients/{pid}/withdraw", json={"reason": "entered in error"}, headers=site.bearer("staff")
    )
    assert gone.status_code == 200, gone.text
    return pid


def test_withdrawn_patient__history_page_as_the_api_and_a_chart_that_links_to_it(site: Site) -> None:
    pid = _withdrawn_patient(site)
    history = f"/patients/{pid}/records/patient/{pid}/history"
    assert (
        site.client.get(f"/api/patients/{pid}/history", headers=site.bearer("physician")).status_code == 200
    )
    assert log_in(site, "physician") == 303
    page = site.client.get(history)
    assert page.status_code == 200, page.text
    assert "Wendy Withdrawn" in page.text and "entered in error" in page.text
    assert "patient withdrawn" in page.text and "Back to the chart" not in page.text
    assert f"/records/patient/{pid}/withdraw" not in page.text  # nothing to correct or withdraw
    chart = site.client.get(f"/patients/{pid}")
    assert chart.status_code == 404
    assert "was withdrawn" in chart.text and f'href="{history}"' in chart.text


def test_withdrawn_patient__history_page_not_for_a_researcher(site: Site) -> None:
    pid = _withdrawn_patient(site)
    assert (
        site.client.get(f"/api/patients/{pid}/history", headers=site.bearer("researcher")).status_code == 403
    )
    assert log_in(site, "researcher") == 303
    assert site.client.get(f"/patients/{pid}/records/patient/{pid}/history").status_code == 403
