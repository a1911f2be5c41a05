"""Changing a user's role (QA pass 5: there was no way to; a person whose work changed needed a
new account under another e-mail, as e-mails are unique): on the users page, the API and the
command line, audited, ending the user's sessions; never one's own role, never the last admin's,
and a physician's linked clinician record must fit the new role."""

from __future__ import annotations

from typer.testing import CliRunner

from bontrack.cli import app as cli_app
from web.conftest import Site, email
from web.test_accounts import _admin_page_csrf, _audit, _user_id


def test_users_page__change_a_role_ends_the_sessions_and_is_audited(site: Site) -> None:
    staff = _user_id(site, "staff")
    staff_bearer = site.bearer("staff")
    token = _admin_page_csrf(site)
    page = site.client.get("/users").text
    assert f'action="/users/{staff}/role"' in page
    assert f'action="/users/{_user_id(site, "admin")}/role"' not in page  # not one's own
    done = site.client.post(f"/users/{staff}/role", data={"csrf_token": token, "role": "physical_therapist"})
    assert done.status_code == 303, done.text
    assert f"{email('staff')} has a new role" in site.client.get(done.headers["location"]).text
    assert site.client.get("/api/auth/me", headers=staff_bearer).status_code == 401
    site.tokens.pop("staff")  # ended: log in again
    me = site.client.get("/api/auth/me", headers=site.bearer("staff"))
    assert me.json()["role"] == "physical_therapist"
    assert [line.split(" ", 2)[2] for line in _audit(site.engine, staff)] == [
        "role changed from staff to physical_therapist; sessions and tokens ended (1)"
    ]
    same = site.client.post(f"/users/{staff}/role", data={"csrf_token": token, "role": "physical_therapist"})
    assert same.status_code == 400 and "has the role physical therapist already; choose another" in same.text
    wrong = site.client.post(f"/users/{staff}/role", data={"csrf_token": token, "role": "boss"})
    assert wrong.status_code == 400 and "&#39;boss&#39; is not a role; allowed: physician" in wrong.text


def test_users_page__own_role_and_a_linked_physicians_profession_are_kept(site: Site) -> None:
    token = _admin_page_csrf(site)
    admin = _user_id(site, "admin")
    own = site.client.post(f"/users/{admin}/role", data={"csrf_token": token, "role": "researcher"})
    assert own.status_code == 409 and "cannot change your own role" in own.text
    physician = _user_id(site, "physician")  # linked to Dr Reyes's clinician record (a physician)
    therapist = site.client.post(
        f"/users/{physician}/role", data={"csrf_token": token, "role": "physical_therapist"}
    )
    assert therapist.status_code == 400 and "Dr Ada Reyes is recorded as physician" in therapist.text
    assert site.client.get("/api/auth/me", headers=site.bearer("admin")).json()["role"] == "admin"
    assert site.client.get("/api/auth/me", headers=site.bearer("physician")).json()["role"] == "physician"


def test_api_and_cli__change_a_role_but_not_the_last_admins(site: Site) -> None:
    researcher = _user_id(site, "researcher")
    answer = site.client.post(
        f"/api/users/{researcher}/role", json={"role": "staff"}, headers=site.bearer("admin")
    )
    assert answer.status_code == 200 and answer.json()["role"] == "staff"
    refused = site.client.post(
        f"/api/users/{researcher}/role", json={"role": "staff"}, headers=site.bearer("physician")
    )
    assert refused.status_code == 403
    runner = CliRunner()
    base = ["--db", str(site.engine.url.render_as_string(hide_password=False))]
    last = runner.invoke(cli_app, [*base, "user", "set-role", email("admin"), "staff"])
    assert last.exit_code == 2 and "the only active admin" in last.output
    back = runner.invoke(
        cli_app, [*base, "user", "set-role", f" {email('researcher').upper()}", "Researcher"]
    )
    assert back.exit_code == 0, back.output
    assert f"{email('researcher')} is now researcher" in back.output
    boss = runner.invoke(cli_app, [*base, "user", "set-role", email("staff"), "boss"])
    assert (
        boss.exit_code == 2
        and "error ROLE: 'boss' is not a role; allowed: physician, physical therapist" in boss.output
    )
    unfit = runner.invoke(cli_app, [*base, "user", "set-role", email("physician"), "physical therapist"])
    assert unfit.exit_code == 2 and "error ROLE: Dr Ada Reyes is recorded as physician" in unfit.output
    spaced = runner.invoke(cli_app, [*base, "user", "set-role", email("staff"), "physical therapist"])
    assert spaced.exit_code == 0 and "is now physical therapist" in spaced.output


def test_users_page__own_row_links_to_changing_ones_own_password(site: Site) -> None:
    """QA pass 5: "Set password" on one's own row ended one's own session, and the log-in page
    then said an administrator had ended it; one's own password is changed on /account/password
    (asks for the current one, keeps the session)."""
    _admin_page_csrf(site)
    page = site.client.get("/users").text
    admin, staff = _user_id(site, "admin"), _user_id(site, "staff")
    own_row = page.split(f'id="user-{admin}"')[1].split("</tr>")[0]
    assert 'href="/account/password">Change your password</a>' in own_row
    assert f'action="/users/{admin}/password"' not in page
    assert f'action="/users/{staff}/password"' in page
