from __future__ import annotations

import pytest

from bontrack.clinical.plan import LOT_NOT_CHOSEN
from tests.clinical.conftest import codes, make


@pytest.mark.parametrize(("expiry", "blocked"), [("2026-11-23", False), ("2026-11-22", True)])
def test_lot_expiry__usable_through_its_date(run, expiry, blocked) -> None:
    doc = make(plan={"lot_expiry": expiry})
    assert ("lot.expired" in codes(run(doc), "block")) is blocked


@pytest.mark.parametrize(
    ("administered", "blocked"),
    [("2026-11-23T08:00:00", False), ("2026-11-23T08:01:00", True)],
)
def test_reconstitution__exact_24_hours_with_administration_time(run, administered, blocked) -> None:
    doc = make(plan={"reconstituted_at": "2026-11-22T08:00:00", "administered_at": administered})
    decision = run(doc)
    assert ("reconstitution.too_old" in codes(decision, "block")) is blocked
    assert "reconstitution.expires_today" not in codes(decision)


def test_reconstitution__yesterday_without_time__warns_with_the_expiry_time(run) -> None:
    decision = run(make(plan={"reconstituted_at": "2026-11-22T10:15:00"}))
    finding = next(f for f in decision.findings if f.code == "reconstitution.expires_today")
    assert finding.severity == "warn"
    assert "2026-11-23 10:15" in finding.message


def test_reconstitution__expired_before_the_session_day_blocks(run) -> None:
    assert "reconstitution.too_old" in codes(
        run(make(plan={"reconstituted_at": "2026-11-21T23:00:00"})), "block"
    )


def test_reconstitution__same_morning_is_fine(run) -> None:
    assert run(make()).decision == "allow"


def test_myobloc_diluted__four_hour_window(run) -> None:
    plan = {
        "product": "myobloc",
        "vial_units": 5000,
        "diluent_ml": 1.0,
        "reconstituted_at": "2026-11-23T08:00:00",
        "administered_at": "2026-11-23T12:30:00",
        "sites": [{"muscle": "upper_trapezius", "side": "left", "units": 1000}],
    }
    assert "reconstitution.too_old" in codes(run(make(plan=plan)), "block")


@pytest.mark.parametrize("administered", [None, "2026-11-23T14:00:00"])
def test_myobloc_undiluted__an_opening_time_gets_no_diluted_window(run, administered) -> None:
    # The label's 4 hours are for diluted solution; undiluted nothing was prepared (the stored
    # label copy says only: one session, one patient, discard what is left)
    plan = {
        "product": "myobloc",
        "vial_units": 5000,
        "diluent_ml": 0,
        "reconstituted_at": "2026-11-23T08:30:00",
        "administered_at": administered,
        "sites": [{"muscle": "upper_trapezius", "side": "left", "units": 1000}],
    }
    found = codes(run(make(plan=plan)))
    assert not {"reconstitution.expires_today", "reconstitution.too_old"} & found
    plan["diluent_ml"] = 1.0  # diluted: the window applies
    found = codes(run(make(plan=plan)))
    assert {"reconstitution.expires_today", "reconstitution.too_old"} & found


def test_myobloc_undiluted__needs_no_preparation_time(run) -> None:
    doc = make(
        plan={
            "product": "myobloc",
            "vial_units": 5000,
            "diluent_ml": 0,
            "sites": [{"muscle": "upper_trapezius", "side": "left", "units": 1000}],
        }
    )
    del doc["plan"]["reconstituted_at"]
    assert run(doc).decision == "allow"


def test_decision_does_not_read_the_clock(run) -> None:
    # A plan decided for a date in 2031 must judge expiry against that date, not today.
    doc = make(
        date="2031-01-10", plan={"lot_expiry": "2030-12-31", "reconstituted_at": "2031-01-10T08:00:00"}
    )
    doc["episode"]["pain_onset_date"] = "2030-01-01"
    assert "lot.expired" in codes(run(doc), "block")
    doc["plan"]["lot_expiry"] = "2031-01-10"
    assert "lot.expired" not in codes(run(doc))


def test_lot_expiry__a_lot_not_chosen_yet_is_not_named(run) -> None:
    # a plan suggested before a vial was picked: the expiry was typed, the lot was not
    doc = make(plan={"lot": LOT_NOT_CHOSEN, "lot_expiry": "2026-11-01"})
    expired = next(f for f in run(doc).findings if f.code == "lot.expired")
    assert expired.message == "The lot's expiry 2026-11-01 is before the session date 2026-11-23."
    named = next(f for f in run(make(plan={"lot_expiry": "2026-11-01"})).findings if f.code == "lot.expired")
    assert named.message.startswith("Lot ") and "expired on 2026-11-01" in named.message
