"""Accounts: password rules, closing accounts, ending sessions, idle timeout (issue 12, D6), through
the API, the Users page and `bontrack user ...`."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from bontrack.audit.models import AuditEntry
from bontrack.auth.passwords import password_problem
from bontrack.auth.schemas import UserCreate
from bontrack.cli import app as cli_app
from bontrack.errors import InputError
from bontrack.schemas import parse
from bontrack.storage.engine import transaction
from web.conftest import Site, csrf_from, email, log_in, password

WEAK = ["aaaaaaaaaa", "1234567890", "password12", "passwordpassword", "aaaaaaaaaaaa", "123456789012"]
STRONG = "quiet-harbour-lantern-47"


def _user_id(site: Site, role: str) -> str:
    me = site.client.get("/api/auth/me", headers=site.bearer(role))
    assert me.status_code == 200, me.text
    return str(me.json()["id"])


def _audit(engine: Engine, record_id: str) -> list[str]:
    with transaction(engine) as db:
        rows = db.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.record_type == "user",
                AuditEntry.record_id == record_id,
                AuditEntry.action == "update",
            )
            .order_by(AuditEntry.seq)
        ).all()
        return [f"{e.actor} {e.action} {e.detail}" for e in rows]


def _admin_page_csrf(site: Site) -> str:
    assert log_in(site, "admin") == 303
    page = site.client.get("/users")
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


# ---- the password rule -----------------------------------------------------------------------


@pytest.mark.parametrize("weak", WEAK)
def test_password_rule__refuses_short_and_common_passwords_without_quoting_them(weak: str) -> None:
    with pytest.raises(InputError) as caught:
        parse(UserCreate, {"email": "new@clinic.example.org", "role": "staff", "password": weak})
    [error] = caught.value.errors
    assert error.field == "password"
    assert weak not in error.message


def test_password_rule__accepts_long_unusual_passwords_and_refuses_the_users_own_e_mail() -> None:
    assert password_problem(STRONG, email="a@clinic.example.org") is None
    common = password_problem("password1234", email="a@clinic.example.org")
    assert common is not None and "too easy to guess (this is a very common password);" in common
    assert password_problem("physician.jones@clinic.org", email="physician.jones@clinic.org") is not None


def test_password_rule__the_test_and_demo_passwords_pass_it() -> None:
    from bontrack.auth.models import ROLES
    from bontrack.cli.users import demo_password

    for role in ROLES:
        assert password_problem(password(role), email=email(role)) is None
        assert password_problem(demo_password(role), email=f"{role}@demo.example.org") is None


def test_api_add_user__weak_password_is_refused_and_not_echoed(site: Site) -> None:
    for weak in WEAK:
        response = site.client.post(
            "/api/users",
            json={"email": "new@clinic.example.org", "role": "staff", "password": weak},
            headers=site.bearer("admin"),
        )
        assert response.status_code in (400, 422), response.text
        assert weak not in response.text
        assert "password" in response.text
    listed = site.client.get("/api/users", headers=site.bearer("admin")).json()
    assert "new@clinic.example.org" not in [u["email"] for u in listed]


def test_page_add_user__weak_password_is_refused_and_not_echoed(site: Site) -> None:
    token = _admin_page_csrf(site)
    response = site.client.post(
        "/users",
        data={
            "csrf_token": token,
            "email": "new@clinic.example.org",
            "role": "staff",
            "password": "passwordpassword",
        },
    )
    assert response.status_code == 400
    assert "passwordpassword" not in response.text
    assert "too easy to guess" in response.text
    assert 'value="new@clinic.example.org"' in response.text  # the rest of the form is kept


def test_api_set_password__weak_password_is_refused_and_not_echoed(site: Site) -> None:
    staff = _user_id(site, "staff")
    response = site.client.post(
        f"/api/users/{staff}/password", json={"password": "password1234"}, headers=site.bearer("admin")
    )
    assert response.status_code == 400
    assert "password1234" not in response.text
    assert response.json()["errors"][0]["field"] == "password"


# ---- add, deactivate, reactivate, set a password, end sessions ---------------------------------


def test_api_add_user__the_new_user_can_log_in_and_the_addition_is_audited(site: Site) -> None:
    response = site.client.post(
        "/api/users",
        json={
            "email": "New@Clinic.Example.org",
            "role": "staff",
            "password": STRONG,
            "clinic_id": site.world.clinic_id,
        },
        headers=site.bearer("admin"),
    )
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["email"] == "new@clinic.example.org" and new["active"] is True
    login = site.client.post(
        "/api/auth/token", data={"username": "new@clinic.example.org", "password": STRONG}
    )
    assert login.status_code == 200
    with transaction(site.engine) as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.record_id == new["id"])).one()
    assert entry.action == "create" and entry.actor == f"user:{email('admin')}"


def test_api_deactivate__ends_every_session_and_token_and_stops_log_in(site: Site) -> None:
    staff = _user_id(site, "staff")
    staff_bearer = site.bearer("staff")
    assert log_in(site, "staff") == 303  # a page session of the same user
    assert site.client.get("/patients").status_code == 200
    response = site.client.post(f"/api/users/{staff}/deactivate", headers=site.bearer("admin"))
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False

    assert site.client.get("/api/patients", headers=staff_bearer).status_code == 401
    assert site.client.get("/patients").headers["location"] == "/login?next=/patients&ended=ended"
    login = site.client.post(
        "/api/auth/token", data={"username": email("staff"), "password": password("staff")}
    )
    assert login.status_code == 401

    again = site.client.post(f"/api/users/{staff}/reactivate", headers=site.bearer("admin"))
    assert again.status_code == 200 and again.json()["active"] is True
    assert site.client.get("/api/patients", headers=staff_bearer).status_code == 401  # ended stays ended
    login = site.client.post(
        "/api/auth/token", data={"username": email("staff"), "password": password("staff")}
    )
    assert login.status_code == 200
    assert [line.split(" ", 2)[2] for line in _audit(site.engine, staff)] == [
        "deactivated; sessions and tokens ended (2)",
        "reactivated",
    ]


def test_api_set_password__ends_sessions_old_password_fails_new_one_works(site: Site) -> None:
    physician = _user_id(site, "physician")
    old_bearer = site.bearer("physician")
    response = site.client.post(
        f"/api/users/{physician}/password", json={"password": STRONG}, headers=site.bearer("admin")
    )
    assert response.status_code == 200, response.text
    assert response.json()["sessions_ended"] == 1
    assert site.client.get("/api/auth/me", headers=old_bearer).status_code == 401
    old = {"username": email("physician"), "password": password("physician")}
    assert site.client.post("/api/auth/token", data=old).status_code == 401
    new = {"username": email("physician"), "password": STRONG}
    assert site.client.post("/api/auth/token", data=new).status_code == 200
    assert "password changed; sessions and tokens ended (1)" in _audit(site.engine, physician)[0]


def test_api_end_sessions__the_user_must_log_in_again(site: Site) -> None:
    researcher = _user_id(site, "researcher")
    old = site.bearer("researcher")
    response = site.client.post(f"/api/users/{researcher}/end-sessions", headers=site.bearer("admin"))
    assert response.status_code == 200
    assert response.json()["sessions_ended"] == 1
    assert site.client.get("/api/auth/me", headers=old).status_code == 401
    assert _audit(site.engine, researcher)[0].endswith("sessions and tokens ended (1)")


def test_api_users__admins_only_and_own_account_or_last_admin_cannot_be_deactivated(site: Site) -> None:
    admin = _user_id(site, "admin")
    for role in ("physician", "staff", "researcher"):
        assert site.client.get("/api/users", headers=site.bearer(role)).status_code == 403
        response = site.client.post(f"/api/users/{admin}/deactivate", headers=site.bearer(role))
        assert response.status_code == 403
    # the words of every other route's 403: the role in words, "allowed: administrator"
    for role, words in (("physical_therapist", "a physical therapist"), ("staff", "a staff member")):
        refused = site.client.get("/api/users", headers=site.bearer(role))
        assert refused.json()["detail"] == f"{words} cannot do this; allowed: administrator"
    own = site.client.post(f"/api/users/{admin}/deactivate", headers=site.bearer("admin"))
    assert own.status_code == 409
    assert (
        site.client.post("/api/users/no-such-user/deactivate", headers=site.bearer("admin")).status_code
        == 404
    )


def test_api_list_users__is_audited(site: Site) -> None:
    response = site.client.get("/api/users", headers=site.bearer("admin"))
    assert response.status_code == 200
    assert len(response.json()) == 5
    with transaction(site.engine) as db:
        entry = db.scalars(
            select(AuditEntry).where(AuditEntry.record_type == "user", AuditEntry.action == "read")
        ).one()
    assert entry.detail == "list of 5 users"


# ---- the Users page ------------------------------------------------------------------------------


def test_users_page__admin_only(site: Site) -> None:
    assert log_in(site, "physician") == 303
    assert site.client.get("/users").status_code == 403
    assert 'href="/users"' not in site.client.get("/").text


def test_users_page__deactivate_set_password_end_sessions_reactivate(site: Site) -> None:
    staff = _user_id(site, "staff")
    staff_bearer = site.bearer("staff")
    token = _admin_page_csrf(site)
    assert 'href="/users"' in site.client.get("/").text

    forged = site.client.post(f"/users/{staff}/deactivate", data={"csrf_token": "not-the-token"})
    assert forged.status_code == 403
    assert site.client.get("/api/auth/me", headers=staff_bearer).status_code == 200

    done = site.client.post(f"/users/{staff}/deactivate", data={"csrf_token": token})
    assert done.status_code == 303
    shown = site.client.get(done.headers["location"])
    assert f"{email('staff')} deactivated" in shown.text
    assert site.client.get("/api/auth/me", headers=staff_bearer).status_code == 401

    assert site.client.post(f"/users/{staff}/reactivate", data={"csrf_token": token}).status_code == 303
    weak = site.client.post(
        f"/users/{staff}/password", data={"csrf_token": token, "password": "aaaaaaaaaaaa"}
    )
    assert weak.status_code == 400
    assert "aaaaaaaaaaaa" not in weak.text and "too easy to guess" in weak.text
    assert (
        site.client.post(
            f"/users/{staff}/password", data={"csrf_token": token, "password": STRONG}
        ).status_code
        == 303
    )
    new = {"username": email("staff"), "password": STRONG}
    bearer = site.client.post("/api/auth/token", data=new).json()["access_token"]
    assert site.client.post(f"/users/{staff}/end-sessions", data={"csrf_token": token}).status_code == 303
    assert site.client.get("/api/auth/me", headers={"Authorization": f"Bearer {bearer}"}).status_code == 401
    details = [line.split(" ", 2)[2] for line in _audit(site.engine, staff)]
    assert details == [
        "deactivated; sessions and tokens ended (1)",
        "reactivated",
        "password changed; sessions and tokens ended (0)",
        "sessions and tokens ended (1)",
    ]


def test_users_page__own_account_cannot_be_deactivated(site: Site) -> None:
    token = _admin_page_csrf(site)
    admin = _user_id(site, "admin")
    response = site.client.post(f"/users/{admin}/deactivate", data={"csrf_token": token})
    assert response.status_code == 409
    assert "cannot deactivate your own account" in response.text


def test_users_page__add_user(site: Site) -> None:
    token = _admin_page_csrf(site)
    response = site.client.post(
        "/users",
        data={
            "csrf_token": token,
            "email": "pt2@clinic.example.org",
            "role": "physical_therapist",
            "clinic_id": site.world.clinic_id,
            "password": STRONG,
        },
    )
    assert response.status_code == 303, response.text
    shown = site.client.get(response.headers["location"])
    assert "pt2@clinic.example.org added" in shown.text
    login = site.client.post(
        "/api/auth/token", data={"username": "pt2@clinic.example.org", "password": STRONG}
    )
    assert login.status_code == 200


def test_users_page__an_e_mail_taken_in_another_case_is_refused_naming_the_field_as_the_form_does(
    site: Site,
) -> None:
    """QA pass 5: the message called the field "E-mail (optional)" (the patient form's label)."""
    token = _admin_page_csrf(site)
    form = {"csrf_token": token, "role": "staff", "clinic_id": site.world.clinic_id, "password": STRONG}
    taken = site.client.post("/users", data={**form, "email": f"  {email('staff').upper()} "})
    assert taken.status_code == 400
    assert f"E-mail: &#39;{email('staff')}&#39; already has an account." in taken.text
    assert "optional" not in taken.text.split("Add a user")[1]
    bad = site.client.post("/users", data={**form, "email": "no address"})
    assert bad.status_code == 400 and "E-mail: &#39;no address&#39; is not an e-mail address" in bad.text


# ---- sessions: idle timeout and lifetime ------------------------------------------------------------


def test_session__ends_after_30_idle_minutes_but_not_while_used(site: Site) -> None:
    assert site.settings.session_idle_timeout.total_seconds() == 30 * 60
    assert log_in(site, "staff") == 303
    for _ in range(4):  # used every 29 minutes: stays alive for almost 2 hours
        site.clock.advance(minutes=29)
        assert site.client.get("/").status_code == 200
    site.clock.advance(minutes=30)
    assert site.client.get("/").status_code == 303
    assert site.client.get("/api/auth/me").status_code == 401


def test_session__ends_12_hours_after_log_in_however_busy(site: Site) -> None:
    assert log_in(site, "staff") == 303
    for _ in range(24):
        site.clock.advance(minutes=29)
        assert site.client.get("/").status_code == 200
    site.clock.advance(minutes=12 * 60 - 24 * 29)
    assert site.client.get("/").status_code == 303


def test_bearer_token__has_no_idle_timeout(site: Site) -> None:
    headers = site.bearer("staff")
    site.clock.advance(hours=11)
    assert site.client.get("/api/auth/me", headers=headers).status_code == 200
    site.clock.advance(hours=1)
    assert site.client.get("/api/auth/me", headers=headers).status_code == 401


# ---- the command line -----------------------------------------------------------------------------


def test_cli_user_commands(site: Site) -> None:
    runner = CliRunner()
    url = str(site.engine.url.render_as_string(hide_password=False))
    base = ["--db", url]
    staff_bearer = site.bearer("staff")
    staff = _user_id(site, "staff")

    weak = runner.invoke(
        cli_app,
        [*base, "user", "set-password", email("staff"), "--password-stdin"],
        input="passwordpassword\n",
    )
    assert weak.exit_code == 2
    assert "passwordpassword" not in weak.output
    added = runner.invoke(
        cli_app,
        [*base, "user", "add", "--email", "cli@clinic.example.org", "--role", "staff", "--password-stdin"],
        input="1234567890\n",
    )
    assert added.exit_code == 2 and "1234567890" not in added.output

    listed = runner.invoke(cli_app, [*base, "user", "list"])
    assert listed.exit_code == 0 and email("staff") in listed.output

    ended = runner.invoke(cli_app, [*base, "user", "end-sessions", email("staff")])
    assert ended.exit_code == 0, ended.output
    assert "sessions and tokens ended" in ended.output  # 0 live by the machine's clock, not the site's
    assert site.client.get("/api/auth/me", headers=staff_bearer).status_code == 401

    assert runner.invoke(cli_app, [*base, "user", "deactivate", email("staff")]).exit_code == 0
    assert (
        site.client.post(
            "/api/auth/token", data={"username": email("staff"), "password": password("staff")}
        ).status_code
        == 401
    )
    assert runner.invoke(cli_app, [*base, "user", "reactivate", email("staff")]).exit_code == 0
    changed = runner.invoke(
        cli_app, [*base, "user", "set-password", email("staff"), "--password-stdin"], input=f"{STRONG}\n"
    )
    assert changed.exit_code == 0, changed.output
    assert (
        site.client.post("/api/auth/token", data={"username": email("staff"), "password": STRONG}).status_code
        == 200
    )

    missing = runner.invoke(cli_app, [*base, "user", "deactivate", "nobody@clinic.example.org"])
    assert missing.exit_code == 2 and "no user" in missing.output
    last_admin = runner.invoke(cli_app, [*base, "user", "deactivate", email("admin")])
    assert last_admin.exit_code == 2 and "only active admin" in last_admin.output
    assert len(_audit(site.engine, staff)) == 4


def test_cli_serve__refuses_a_forwarded_address_that_is_not_one(site: Site) -> None:
    runner = CliRunner()
    url = str(site.engine.url.render_as_string(hide_password=False))
    result = runner.invoke(cli_app, ["--db", url, "serve", "--forwarded-allow-ips", "proxy.example.org"])
    assert result.exit_code == 2
    assert "--forwarded-allow-ips" in result.output


def test_session__the_log_in_page_says_it_ended_and_that_a_form_sent_then_was_not_saved(site: Site) -> None:
    site.client.cookies.clear()
    fresh = site.client.get("/patients", follow_redirects=False)  # never logged in: nothing to say
    assert fresh.headers["location"] == "/login?next=/patients"
    assert "Your session has ended" not in site.client.get(fresh.headers["location"]).text

    assert log_in(site, "staff") == 303
    token = csrf_from(site.client.get("/patients/new").text)
    site.clock.advance(minutes=31)
    read = site.client.get("/patients?q=x", follow_redirects=False)
    assert read.headers["location"] == "/login?next=/patients%3Fq%3Dx&ended=ended"
    page = site.client.get(read.headers["location"]).text
    said = "Your session has ended: after 30 minutes without use, at its 12-hour limit, or because"
    assert said in page
    assert "not saved" not in page

    sent = site.client.post(
        "/patients/new", data={"csrf_token": token, "name": "Typed Before Lunch"}, follow_redirects=False
    )
    assert sent.status_code == 303 and sent.headers["location"].endswith("&ended=unsaved")
    page = site.client.get(sent.headers["location"]).text
    assert "What you had just sent was not saved: please enter it again." in page
    assert "Typed Before Lunch" not in site.client.get("/login?ended=nonsense").text
