"""Who records a stop-and-review decision (bug B5): only a physician, refused on the server for
the other roles (403, nothing written, audited as denied), the decision chosen rather than preset,
the form shown only to a physician, and the chart naming who decided. The real app on a real
SQLite registry: a synthetic clinic (which has patients to review) with a user of each role."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bontrack.audit.models import AuditEntry
from bontrack.auth.schemas import UserCreate
from bontrack.auth.service import create_user
from bontrack.scheduling.models import WorklistActionRow
from bontrack.storage.engine import transaction
from bontrack.synth.generator import generate
from bontrack.synth.loader import load
from web.conftest import START, Site, csrf_from, password

ROLES = ("physician", "physical_therapist", "staff")


def _email(role: str) -> str:
    return f"{role}@synthetic.example.org"


@pytest.fixture
def clinic(site: Site) -> Site:
    """The site with a synthetic clinic loaded (it has stop-and-review flags) and a user of each
    clinical role in it."""
    with transaction(site.engine) as db:
        summary = load(db, actor="test:setup", batches=generate(40, seed=1))
        for role in ROLES:
            data = UserCreate(
                email=_email(role), role=role, password=password(role), clinic_id=summary.clinic_id
            )
            create_user(db=db, actor="test:setup", data=data, now=START)
    return site


def _log_in(site: Site, role: str) -> None:
    site.client.cookies.clear()
    form = {"email": _email(role), "password": password(role), "next": "/"}
    form["csrf_token"] = csrf_from(site.client.get("/login").text)
    assert site.client.post("/login", data=form).status_code == 303


def _review_section(html: str) -> str:
    found = re.search(r'<section class="card" id="review".*?</section>', html, re.S)
    assert found is not None, "the home page has its stop-and-review section"
    return found.group(0)


def _flag(site: Site) -> dict[str, str]:
    """The first flag of the physician's home page, as its form posts it (without the decision)."""
    _log_in(site, "physician")
    section = _review_section(site.client.get("/").text)
    form = re.search(r'<form method="post" action="/worklist/actions".*?</form>', section, re.S)
    assert form is not None
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))


def _actions(site: Site) -> int:
    with transaction(site.engine) as db:
        return db.scalar(select(func.count()).select_from(WorklistActionRow)) or 0


@pytest.mark.parametrize("role", ["staff", "physical_therapist"])
def test_decision__refused_for_staff_and_therapists_nothing_written_and_audited(
    clinic: Site, role: str
) -> None:
    flag = _flag(clinic)
    _log_in(clinic, role)
    token = csrf_from(clinic.client.get("/").text)
    posted = flag | {"csrf_token": token, "action": "reviewed", "decision": "continue"}
    response = clinic.client.post("/worklist/actions", data=posted, headers={"Accept": "text/html"})
    assert response.status_code == 403, response.text
    assert "Only a physician can record the stop-and-review decision" in response.text
    assert "Traceback" not in response.text
    assert _actions(clinic) == 0
    with transaction(clinic.engine) as db:
        denied = db.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
    assert [(e.actor, e.record_type) for e in denied] == [(f"user:{_email(role)}", "worklist_action")]
    # what the role could do before it still may: a due item marked contacted
    items = re.findall(
        r'<form method="post" action="/worklist/actions".*?</form>',
        clinic.client.get("/worklist?back=0").text,
        re.S,
    )
    due = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', items[0]))
    assert clinic.client.post("/worklist/actions", data=due | {"action": "contacted"}).status_code == 303
    assert _actions(clinic) == 1


def test_decision__a_physicians_saved_and_the_chart_names_who_decided(clinic: Site) -> None:
    flag = _flag(clinic)
    response = clinic.client.post(
        "/worklist/actions", data=flag | {"action": "reviewed", "decision": "continue"}
    )
    assert response.status_code == 303 and _actions(clinic) == 1
    assert flag["item_key"] not in _review_section(clinic.client.get("/").text)
    chart = re.sub(r"\s+", " ", clinic.client.get(f"/patients/{flag['patient_id']}").text)
    chart = re.sub(r"</?bdi>", "", chart)  # (what was entered, and who, isolated)
    assert (
        "Stop and review: review done, decision: continue as planned, "
        f"recorded by {_email('physician')}" in chart
    )


def test_decision__missing_refused_naming_the_field_nothing_written(clinic: Site) -> None:
    flag = _flag(clinic)
    for chosen in ({}, {"decision": ""}):  # not sent, or the form's "Choose…"
        response = clinic.client.post(
            "/worklist/actions", data=flag | {"action": "reviewed"} | chosen, headers={"Accept": "text/html"}
        )
        assert response.status_code == 400, response.text
        assert "Decision is required: choose one of continue as planned" in response.text
    assert _actions(clinic) == 0


def test_pages__the_decision_form_only_for_a_physician_with_no_decision_preset(clinic: Site) -> None:
    flag = _flag(clinic)
    item = "/worklist/item?" + urlencode({"patient_id": flag["patient_id"], "key": flag["item_key"]})
    for role in ROLES:
        _log_in(clinic, role)
        for path in ("/", "/worklist", "/worklist?kind=stop_review", item):
            html = clinic.client.get(path).text
            assert "Traceback" not in html
            assert f'href="/patients/{flag["patient_id"]}"' in html, (role, path)  # the flag is shown
            if role == "physician":
                select_ = re.search(
                    r'<select id="decision-1" name="decision" required>(.*?)</select>', html, re.S
                )
                assert select_ is not None, path
                assert select_.group(1).startswith('<option value="">Choose…</option>'), path
                assert "selected" not in select_.group(1), path
            else:
                assert 'name="decision"' not in html and 'value="reviewed"' not in html, (role, path)
                assert "To be reviewed by a physician" in html, (role, path)


def test_a_rows_next_step_is_a_link_only_for_a_role_that_may_take_it(clinic: Site) -> None:
    """The worklist's rows link each due item to its form (re-injection: plan a session) only for
    a role whose form would not refuse it; another role reads who takes that step instead of a
    link that answers 403 (a physical therapist or staff member cannot plan a session)."""
    pages = {}
    for role in ROLES:
        _log_in(clinic, role)
        pages[role] = clinic.client.get("/worklist?kind=reinjection&back=3650").text
    assert re.search(r'href="/patients/[^"]+/sessions/new">Plan a session<', pages["physician"])
    for role in ("physical_therapist", "staff"):
        assert "/sessions/new" not in pages[role], role
        assert "Plan a session: a physician" in pages[role], role
    for role in ROLES:  # the role's own forms keep their links (everyone's outcomes)
        _log_in(clinic, role)
        outcomes = clinic.client.get("/worklist?kind=outcome_visit&back=3650").text
        assert re.search(r'href="/patients/[^"]+/outcomes/new">Record the follow-up<', outcomes), role


@pytest.mark.parametrize("role", ["staff", "physical_therapist"])
def test_decision__not_undone_by_another_role_posting_another_kind_on_the_flag(
    clinic: Site, role: str
) -> None:
    """The worklist form's kind is a hidden field: posted as a due item's kind on the flag's own
    item, "patient contacted" would become the flag's latest action and reopen it, undoing the
    physician's decision. The service judges the item, not the kind it claims: 403, audited,
    nothing written, the decision stands."""
    flag = _flag(clinic)
    decided = clinic.client.post("/worklist/actions", data=flag | {"action": "reviewed", "decision": "stop"})
    assert decided.status_code == 303 and _actions(clinic) == 1
    _log_in(clinic, role)
    token = csrf_from(clinic.client.get("/").text)
    posted = flag | {"csrf_token": token, "kind": "outcome_visit", "action": "contacted"}
    response = clinic.client.post("/worklist/actions", data=posted, headers={"Accept": "text/html"})
    assert response.status_code == 403, response.text
    assert "Only a physician can record the stop-and-review decision" in response.text
    assert _actions(clinic) == 1
    with transaction(clinic.engine) as db:
        denied = db.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
    assert [(e.actor, e.record_type) for e in denied] == [(f"user:{_email(role)}", "worklist_action")]
    _log_in(clinic, "physician")
    assert flag["item_key"] not in _review_section(clinic.client.get("/").text)  # still reviewed
