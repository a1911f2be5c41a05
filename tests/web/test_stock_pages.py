"""Stock, recall and "Suggest a plan" through the real app (TestClient), no mocks."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from bontrack.actor import Actor
from bontrack.errors import InputError
from bontrack.injections.service import create_session
from bontrack.stock import service as stock
from bontrack.stock.schemas import StockReceiptCreate
from bontrack.storage.engine import transaction
from factories import clinic_world, session_input
from tests.web.conftest import START, Site, log_in

DAY = START.date()


def receive(site: Site, lot: str, *, expiry_days: int = 300, clinic_id: str | None = None) -> None:
    with transaction(site.engine) as db:
        stock.receive_vials(
            db=db,
            actor="test:setup",
            clinic_id=clinic_id or site.world.clinic_id,
            data=StockReceiptCreate(
                product="botox",
                lot=lot,
                expiry=DAY + dt.timedelta(days=expiry_days),
                vial_units=100,
                vial_count=3,
                supplier="McKesson",
                received_on=DAY - dt.timedelta(days=5),
            ),
        )


def plan_request(site: Site, **extra: Any) -> dict[str, Any]:
    w = site.world
    return {
        "patient_id": w.patient_id,
        "episode_id": w.episode_id,
        "date": DAY.isoformat(),
        "injector_id": w.clinician_id,
        "product": "onabotulinumtoxinA",
        "reconstituted_at": f"{DAY}T08:30",
    } | extra


def test_session_form__lot_picker_lists_stock_and_flags_nothing_itself(site: Site) -> None:
    receive(site, "SOON-1", expiry_days=20)
    receive(site, "LATER-2")
    receive(site, "GONE-3", expiry_days=-1)
    assert log_in(site, "physician") == 303
    page = site.client.get(f"/patients/{site.world.patient_id}/sessions/new")
    assert page.status_code == 200
    assert 'id="lot-picker"' in page.text and 'data-warn-days="30"' in page.text
    assert page.text.index("SOON-1") < page.text.index("LATER-2")  # soonest expiry first
    assert "GONE-3" not in page.text  # expired lots are not offered
    assert "stock_form.js" in page.text and 'id="suggest-plan"' in page.text


def test_plan_dose_api__fills_sites_for_the_chosen_trigger_points(site: Site) -> None:
    targets = [{"muscle": "upper_trapezius", "side": "left"}, {"muscle": "levator_scapulae", "side": "left"}]
    response = site.client.post(
        "/api/sessions/plan-dose", json=plan_request(site, targets=targets), headers=site.bearer("physician")
    )
    assert response.status_code == 200, response.text
    plan = response.json()
    assert {(s["muscle"], s["side"]) for s in plan["sites"]} == {(t["muscle"], t["side"]) for t in targets}
    assert plan["decision"]["decision"] in ("allow", "warn")
    assert plan["vials"]["vial_count"] >= 1 and plan["dilution"]["diluent_ml"] > 0


def test_plan_dose_api__an_expiry_without_a_lot_names_no_lot(site: Site) -> None:
    expiry = (DAY - dt.timedelta(days=5)).isoformat()
    body = plan_request(site, lot_expiry=expiry)
    response = site.client.post("/api/sessions/plan-dose", json=body, headers=site.bearer("physician"))
    assert response.status_code == 200, response.text
    expired = [f for f in response.json()["decision"]["findings"] if f["code"] == "lot.expired"]
    assert [f["message"] for f in expired] == [f"The lot's expiry {expiry} is before the session date {DAY}."]


def test_plan_dose_api__without_targets_uses_the_latest_examination(site: Site) -> None:
    response = site.client.post(
        "/api/sessions/plan-dose", json=plan_request(site), headers=site.bearer("physician")
    )
    assert response.status_code == 200, response.text
    assert {(s["muscle"], s["side"]) for s in response.json()["sites"]} == {
        ("upper_trapezius", "left"),
        ("upper_trapezius", "right"),
    }


def test_plan_dose_api__bad_input_names_the_field_and_only_a_physician_plans(site: Site) -> None:
    bad = site.client.post(
        "/api/sessions/plan-dose",
        json=plan_request(site, targets=[{"muscle": "biceps", "side": "left"}]),
        headers=site.bearer("physician"),
    )
    assert bad.status_code in (400, 422)
    assert any(e["field"].startswith("targets[0]") for e in bad.json()["errors"])
    product = site.client.post(
        "/api/sessions/plan-dose",
        json=plan_request(site, product="nothing"),
        headers=site.bearer("physician"),
    )
    assert [e["field"] for e in product.json()["errors"]] == ["product"]
    assert (
        site.client.post(
            "/api/sessions/plan-dose", json=plan_request(site), headers=site.bearer("staff")
        ).status_code
        == 403
    )


def test_plan_dose_api__too_soon_says_why(site: Site) -> None:
    with transaction(site.engine) as db:
        create_session(
            db=db, actor="test:setup", data=session_input(site.world, day=DAY - dt.timedelta(days=30))
        )
    response = site.client.post(
        "/api/sessions/plan-dose", json=plan_request(site), headers=site.bearer("physician")
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "targets" and error["message"].startswith("No plan fits")


def test_recall__admin_sees_every_clinic_physician_only_their_own(site: Site) -> None:
    with transaction(site.engine) as db:
        other = clinic_world(db, record_number="B-9")
        for world in (site.world, other):
            create_session(db=db, actor="test:setup", data=session_input(world, lot="RC-1"))
    admin = site.client.get("/api/recall/RC-1", headers=site.bearer("admin")).json()
    mine = site.client.get("/api/recall/RC-1", headers=site.bearer("physician")).json()
    assert {s["patient_id"] for s in admin["sessions"]} == {site.world.patient_id, other.patient_id}
    assert [s["patient_id"] for s in mine["sessions"]] == [site.world.patient_id]
    assert log_in(site, "physician") == 303
    page = site.client.get("/stock/recall", params={"lot": "RC-1"})
    assert page.status_code == 200
    assert "P-001" in page.text and "B-9" not in page.text and "not recorded" in page.text


def test_stock_page__lists_lots_and_flags_the_one_expiring_soon(site: Site) -> None:
    receive(site, "SOON-1", expiry_days=20)
    with transaction(site.engine) as db:
        other = clinic_world(db, record_number="B-9")
    receive(site, "THEIRS", clinic_id=other.clinic_id)
    assert log_in(site, "physician") == 303
    page = site.client.get("/stock")
    assert page.status_code == 200
    assert "SOON-1" in page.text and "in 20 days" in page.text
    assert "THEIRS" not in page.text  # another clinic's stock
    api = site.client.get("/api/stock", headers=site.bearer("admin")).json()
    assert {x["lot"] for x in api} == {"SOON-1", "THEIRS"}


def test_stock_pages__scoped_actor_is_the_users_clinic(site: Site) -> None:
    receive(site, "A-1")
    with transaction(site.engine) as db:
        lines = stock.stock_on_hand(
            db=db, actor=Actor("x", clinic_id=site.world.clinic_id, role="physician"), on=DAY
        )
    assert [x.lot for x in lines] == ["A-1"]


def _delivery(**extra: Any) -> dict[str, Any]:
    return {
        "product": "onabotulinumtoxinA",
        "lot": "NEW-7",
        "expiry": (DAY + dt.timedelta(days=200)).isoformat(),
        "vial_units": "100",
        "vial_count": "4",
        "supplier": "McKesson",
        "received_on": DAY.isoformat(),
    } | extra


def _post_form(site: Site, path: str, fields: dict[str, Any]) -> Any:
    from tests.web.conftest import csrf_from

    form = site.client.get(path)
    assert form.status_code == 200, form.text
    return site.client.post(path, data=fields | {"csrf_token": csrf_from(form.text)}, follow_redirects=False)


def test_delivery_form__saves_and_the_stock_page_lists_the_lot(site: Site) -> None:
    assert log_in(site, "physician") == 303
    assert 'href="/stock/receive"' in site.client.get("/stock").text
    saved = _post_form(site, "/stock/receive", _delivery())
    assert saved.status_code == 303 and saved.headers["location"] == "/stock?saved=delivery&lot=NEW-7"
    page = site.client.get(saved.headers["location"])
    assert "NEW-7" in page.text and "Saved: the delivery." in page.text
    with transaction(site.engine) as db:
        lines = stock.stock_on_hand(db=db, actor="test:check", on=DAY)
    assert [(x.lot, x.remaining, x.vial_units) for x in lines] == [("NEW-7", 4, 100.0)]


def test_delivery_form__bad_size_and_count_named_in_words_and_nothing_saved(site: Site) -> None:
    assert log_in(site, "physician") == 303
    bad = _post_form(site, "/stock/receive", _delivery(vial_units="150", vial_count="0"))
    assert bad.status_code == 400
    assert "Nothing was saved" in bad.text
    assert "Number of vials must be 1 or more." in bad.text
    shown = re.sub(r"<[^>]+>", " ", bad.text)  # the words a person reads, no field id among them
    assert "vial_count" not in shown and "vial_units" not in shown
    with transaction(site.engine) as db:
        assert stock.stock_on_hand(db=db, actor="test:check", on=DAY, include_empty=True) == []
    sized = _post_form(site, "/stock/receive", _delivery(vial_units="150"))
    assert sized.status_code == 400 and "comes in vials of" in sized.text


def test_discard_form__takes_vials_out_and_refuses_more_than_are_left(site: Site) -> None:
    receive(site, "D-1")  # 3 vials
    assert log_in(site, "physician") == 303
    page = site.client.get("/stock")
    assert 'href="/stock/discard?lot=D-1"' in page.text
    fields = {"lot": "D-1", "vial_count": "5", "reason": "cold chain broken", "discarded_on": DAY.isoformat()}
    too_many = _post_form(site, "/stock/discard?lot=D-1", fields)
    assert too_many.status_code == 400 and "3 unopened vial(s) of lot D-1 are left" in too_many.text
    done = _post_form(site, "/stock/discard?lot=D-1", fields | {"vial_count": "2"})
    assert done.status_code == 303 and done.headers["location"] == "/stock?saved=discard"
    with transaction(site.engine) as db:
        [line] = stock.stock_on_hand(db=db, actor="test:check", on=DAY)
    assert (line.remaining, line.discarded) == (1, 2)


def test_stock_forms__only_physicians_and_their_api(site: Site) -> None:
    assert log_in(site, "staff") == 303
    assert site.client.get("/stock/receive").status_code == 403
    assert 'href="/stock/receive"' not in site.client.get("/stock").text
    api = site.client.post(
        "/api/stock/receipts",
        json=_delivery(vial_units=100, vial_count=2),
        headers=site.bearer("physician"),
    )
    assert api.status_code == 201, api.text
    assert api.json()["data"]["lot"] == "NEW-7"
    refused = site.client.post(
        "/api/stock/discards",
        json={"lot": "NEW-7", "vial_count": 3, "reason": "expired", "discarded_on": DAY.isoformat()},
        headers=site.bearer("physician"),
    )
    assert refused.status_code == 400
    assert [e["field"] for e in refused.json()["errors"]] == ["vial_count"]
    staff = site.client.post(
        "/api/stock/receipts", json=_delivery(vial_units=100, vial_count=2), headers=site.bearer("staff")
    )
    assert staff.status_code == 403


# ---- QA R4, R5, R6, C2, C4 ----------------------------------------------------------------------


def test_delivery__an_expired_lot_is_saved_with_a_warning_in_the_api_and_on_the_page(site: Site) -> None:
    expired = _delivery(lot="OLD-1", expiry=(DAY - dt.timedelta(days=3)).isoformat())
    api = site.client.post(
        "/api/stock/receipts",
        json=expired | {"vial_units": 100, "vial_count": 1},
        headers=site.bearer("physician"),
    )
    assert api.status_code == 201, api.text
    [warning] = api.json()["warnings"]
    assert "OLD-1 expired on" in warning and "never offered for a session" in warning
    fresh = site.client.post(
        "/api/stock/receipts", json=_delivery(vial_units=100, vial_count=1), headers=site.bearer("physician")
    )
    assert fresh.status_code == 201 and fresh.json()["warnings"] == []
    assert log_in(site, "physician") == 303
    saved = _post_form(site, "/stock/receive", expired | {"lot": "old-1"})
    assert saved.status_code == 303
    page = site.client.get(saved.headers["location"])
    assert "Lot OLD-1 expired on" in page.text and "record its vials as discarded" in page.text
    # one line, as first written
    assert page.text.count('<td data-label="Lot" class="lot"><bdi>OLD-1</bdi></td>') == 1


def test_delivery__expiry_before_2000_is_a_400_naming_the_field(site: Site) -> None:
    api = site.client.post(
        "/api/stock/receipts",
        json=_delivery(expiry="1999-01-01", vial_units=100, vial_count=1),
        headers=site.bearer("physician"),
    )
    assert api.status_code == 400
    [error] = [{k: e[k] for k in ("field", "message")} for e in api.json()["errors"]]
    assert error == {
        "field": "expiry",
        "message": "1999-01-01 is before 2000-01-01: check the date printed on the vial",
    }


def test_plan_dose_api__a_stock_lot_of_another_product_is_refused_as_the_save_refuses_it(site: Site) -> None:
    with transaction(site.engine) as db:
        stock.receive_vials(
            db=db,
            actor="test:setup",
            clinic_id=site.world.clinic_id,
            data=StockReceiptCreate(
                product="dysport",
                lot="DY-1",
                expiry=DAY + dt.timedelta(days=300),
                vial_units=300,
                vial_count=3,
                supplier="McKesson",
                received_on=DAY - dt.timedelta(days=5),
            ),
        )
    response = site.client.post(
        "/api/sessions/plan-dose", json=plan_request(site, lot="dy-1"), headers=site.bearer("physician")
    )
    assert response.status_code == 400, response.text
    assert [{k: e[k] for k in ("field", "message")} for e in response.json()["errors"]] == [
        {"field": "lot", "message": "lot DY-1 in stock is DYSPORT, not BOTOX"}
    ]
    with transaction(site.engine) as db, pytest.raises(InputError) as info:
        create_session(db=db, actor="test:setup", data=session_input(site.world, lot="DY-1"))
    assert [(e.field, e.message) for e in info.value.errors] == [
        ("lot", "lot DY-1 in stock is DYSPORT, not BOTOX")
    ]


def test_plan_dose_api__a_date_before_birth_says_so(site: Site) -> None:
    response = site.client.post(
        "/api/sessions/plan-dose",
        json=plan_request(site, date="1970-01-01"),
        headers=site.bearer("physician"),
    )
    assert response.status_code == 400
    assert [{k: e[k] for k in ("field", "message")} for e in response.json()["errors"]] == [
        {"field": "date", "message": "1970-01-01 is before the patient's birth date"}
    ]


def test_refusals_name_the_role_in_words_with_its_article(site: Site) -> None:
    for path in ("/api/sessions/plan-dose", "/api/stock/receipts"):
        refused = site.client.post(path, json={}, headers=site.bearer("admin"))
        assert refused.status_code == 403
        assert refused.json()["detail"] == "an administrator cannot do this; allowed: physician"


def test_stock_page__a_lot_expiring_today_reads_today(site: Site) -> None:
    receive(site, "NOW-1", expiry_days=0)
    receive(site, "TMRW-1", expiry_days=1)
    assert log_in(site, "physician") == 303
    page = site.client.get("/stock")
    assert ">today</span>" in page.text and ">tomorrow</span>" in page.text and "in 0 days" not in page.text
    assert '<div class="scroll-x">' in page.text  # a wide table scrolls inside its card
