"""Change my password (QA pass 4, finding 10): every logged-in user, on /account/password and
through POST /api/auth/password. The current password must be right (a wrong one counts towards
the log-in lock-out), the new one must pass the password rule, be typed twice alike and differ
from the current one; after a change every other session and API token ends, this browser stays
logged in, and the audit log says who changed their password and when (never the password)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bontrack.audit.models import AuditEntry
from bontrack.auth.models import ROLES
from bontrack.storage.engine import transaction
from web.conftest import Site, csrf_from, email, log_in, password

NEW = "quiet-harbour-lantern-47"
CHANGED = "Your password was changed; you were logged out everywhere else."
PAGE = "/account/password"


def _form(site: Site, role: str, **fields: str) -> dict[str, str]:
    """The form as the user fills it in: right unless told otherwise."""
    token = csrf_from(site.client.get(PAGE).text)
    return {
        "csrf_token": token,
        "current_password": password(role),
        "new_password": NEW,
        "new_password_again": NEW,
    } | fields


def _token_works(site: Site, role: str, pw: str) -> int:
    return site.client.post("/api/auth/token", data={"username": email(role), "password": pw}).status_code


def _own_entries(site: Site, role: str) -> list[AuditEntry]:
    with transaction(site.engine) as db:
        rows = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.record_type == "user", AuditEntry.actor == f"user:{email(role)}")
            .where(AuditEntry.action == "update")
            .order_by(AuditEntry.seq)
        ).all()
        db.expunge_all()
        return list(rows)


@pytest.mark.parametrize("role", ROLES)
def test_page__every_role_changes_its_own_password_and_stays_logged_in(site: Site, role: str) -> None:
    assert log_in(site, role) == 303
    home = site.client.get("/")
    assert 'href="/account/password"' in home.text  # from the user's e-mail in the top bar
    form = site.client.get(PAGE)
    assert form.status_code == 200
    assert "Current password" in form.text and "New password, again" in form.text

    done = site.client.post(PAGE, data=_form(site, role))
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{PAGE}?done=changed"
    shown = site.client.get(done.headers["location"])
    assert shown.status_code == 200 and CHANGED in shown.text
    assert site.client.get("/").status_code == 200  # this browser is still logged in
    assert _token_works(site, role, password(role)) == 401
    assert _token_works(site, role, NEW) == 200


def test_page__other_sessions_and_tokens_end_this_browser_gets_a_new_session(site: Site) -> None:
    other_bearer = site.bearer("staff")
    other_browser = TestClient(site.client.app, follow_redirects=False)
    page = other_browser.get("/login")
    logged = other_browser.post(
        "/login",
        data={"email": email("staff"), "password": password("staff"), "csrf_token": csrf_from(page.text)},
    )
    assert logged.status_code == 303 and other_browser.get("/patients").status_code == 200
    assert log_in(site, "staff") == 303
    old_cookie = site.client.cookies["bontrack_session"]

    assert site.client.post(PAGE, data=_form(site, "staff")).status_code == 303
    assert site.client.cookies["bontrack_session"] != old_cookie  # re-issued
    assert site.client.get("/patients").status_code == 200
    assert site.client.get("/api/auth/me").json()["email"] == email("staff")
    assert site.client.get("/api/auth/me", headers=other_bearer).status_code == 401
    ended = other_browser.get("/patients")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/login")
    stale = TestClient(site.client.app, follow_redirects=False, cookies={"bontrack_session": old_cookie})
    assert stale.get("/api/auth/me").status_code == 401  # the replaced session cookie is dead too

    [entry] = _own_entries(site, "staff")
    assert entry.record_id == site.client.get("/api/auth/me").json()["id"]
    assert entry.detail == "own password changed by the user; other sessions and tokens ended (2)"
    assert entry.outcome == "ok" and entry.at is not None
    assert NEW not in str((entry.before, entry.after, entry.detail))


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        (
            {"current_password": "not-my-password-at-all"},
            "current_password",
            "The current password is not right.",
        ),
        ({"current_password": ""}, "current_password", "The current password is empty"),
        ({"new_password_again": NEW + "x"}, "new_password_again", "The two new passwords differ"),
        ({"new_password_again": ""}, "new_password_again", "The two new passwords differ"),
        (
            {"new_password": "short-pw", "new_password_again": "short-pw"},
            "new_password",
            "The new password is too short: use at least 12 characters",
        ),
        (
            {"new_password": "passwordpassword", "new_password_again": "passwordpassword"},
            "new_password",
            "The new password is too easy to guess",
        ),
        (
            {"new_password": password("physician"), "new_password_again": password("physician")},
            "new_password",
            "The new password is the same as the current one: choose another.",
        ),
    ],
)
def test_page__each_rule_names_the_field_in_words_and_nothing_is_changed(
    site: Site, fields: dict[str, str], field: str, words: str
) -> None:
    assert log_in(site, "physician") == 303
    bearer = site.bearer("physician")
    response = site.client.post(PAGE, data=_form(site, "physician", **fields))
    assert response.status_code == 400
    assert words in response.text
    assert "Nothing was saved" in response.text
    assert f'id="err-{field}"' in response.text and 'aria-invalid="true"' in response.text
    assert "Traceback" not in response.text
    for typed in fields.values():
        if typed:
            assert f'value="{typed}"' not in response.text  # no password said back
    assert site.client.get("/").status_code == 200
    assert site.client.get("/api/auth/me", headers=bearer).status_code == 200  # nothing ended
    assert _token_works(site, "physician", password("physician")) == 200
    assert [e for e in _own_entries(site, "physician") if e.outcome == "ok"] == []


def test_page__a_wrong_current_password_is_audited_as_denied(site: Site) -> None:
    assert log_in(site, "researcher") == 303
    site.client.post(PAGE, data=_form(site, "researcher", current_password="a-wrong-guess-here"))
    [entry] = _own_entries(site, "researcher")
    assert entry.outcome == "denied"
    assert entry.detail == "own password not changed: wrong current password"
    assert "a-wrong-guess-here" not in str((entry.before, entry.after, entry.detail))


def test_page__wrong_current_passwords_count_towards_the_log_in_lock_out(site: Site) -> None:
    assert log_in(site, "physical_therapist") == 303
    limit = site.settings.throttle.max_per_account
    for attempt in range(limit):
        guess = _form(site, "physical_therapist", current_password=f"guess-number-{attempt}")
        assert site.client.post(PAGE, data=guess).status_code == 400
    locked = site.client.post(PAGE, data=_form(site, "physical_therapist"))  # even the right one
    assert locked.status_code == 429
    assert "Too many wrong passwords were typed for this account" in locked.text
    assert "Nothing was changed" in locked.text
    assert int(locked.headers["Retry-After"]) > 0
    assert _token_works(site, "physical_therapist", password("physical_therapist")) == 429  # log-in too
    site.clock.advance(minutes=16)
    assert site.client.post(PAGE, data=_form(site, "physical_therapist")).status_code == 303


def test_page__failed_log_ins_count_too_and_a_right_password_clears_the_count(site: Site) -> None:
    assert log_in(site, "staff") == 303
    for _ in range(site.settings.throttle.max_per_account - 1):
        assert _token_works(site, "staff", "not-the-password-of-staff") == 401
    wrong_new = _form(site, "staff", new_password_again="something-else-entirely")
    assert site.client.post(PAGE, data=wrong_new).status_code == 400  # the current one was right
    for _ in range(site.settings.throttle.max_per_account - 1):  # so the count started again
        assert _token_works(site, "staff", "not-the-password-of-staff") == 401
    assert site.client.post(PAGE, data=_form(site, "staff")).status_code == 303


def test_page__needs_the_forms_token_and_a_log_in(site: Site) -> None:
    site.client.cookies.clear()
    assert site.client.get(PAGE).headers["location"] == f"/login?next={PAGE}"
    assert log_in(site, "admin") == 303
    forged = site.client.post(PAGE, data=_form(site, "admin", csrf_token="not-the-token"))
    assert forged.status_code == 403 and "The form had expired" in forged.text
    assert _token_works(site, "admin", password("admin")) == 200


# ---- the API --------------------------------------------------------------------------------------


def test_api__changes_the_password_ends_other_tokens_and_keeps_this_one(site: Site) -> None:
    this = site.bearer("researcher")
    other = site.client.post(
        "/api/auth/token", data={"username": email("researcher"), "password": password("researcher")}
    ).json()["access_token"]
    response = site.client.post(
        "/api/auth/password",
        json={"current_password": password("researcher"), "new_password": NEW, "new_password_again": NEW},
        headers=this,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"sessions_ended": 1, "detail": CHANGED}
    assert site.client.get("/api/auth/me", headers=this).status_code == 200
    assert site.client.get("/api/auth/me", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    assert _token_works(site, "researcher", NEW) == 200
    [entry] = _own_entries(site, "researcher")
    assert entry.detail == "own password changed by the user; other sessions and tokens ended (1)"


def test_api__errors_name_each_field_and_say_no_password(site: Site) -> None:
    headers = site.bearer("physician")
    response = site.client.post(
        "/api/auth/password",
        json={
            "current_password": "wrong-wrong-wrong",
            "new_password": "passwordpassword",
            "new_password_again": "passwordpassworx",
        },
        headers=headers,
    )
    assert response.status_code == 400
    body = response.json()
    assert [e["field"] for e in body["errors"]] == ["current_password", "new_password", "new_password_again"]
    texts = [e["text"] for e in body["errors"]]
    assert texts[0] == "The current password is not right."
    assert texts[1].startswith("The new password is too easy to guess")
    assert texts[2].startswith("The two new passwords differ")
    for typed in ("wrong-wrong-wrong", "passwordpassword", "passwordpassworx"):
        assert typed not in response.text
    missing = site.client.post("/api/auth/password", json={"new_password": NEW}, headers=headers)
    assert missing.status_code == 422 and "current_password" in missing.text
    assert site.client.post("/api/auth/password", json={}).status_code == 401
    assert _token_works(site, "physician", password("physician")) == 200
