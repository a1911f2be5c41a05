"""A page's session before and after its idle end (bontrack.web.session_keep): how long it lives
yet (asking does not keep it alive), "Stay logged in", and the page's own log-in dialog after it
ended, which must be its user's and follows the log-in page's rules (lock-out, audit, CSRF)."""

from __future__ import annotations

import re

from sqlalchemy import select

from bontrack.audit.models import AuditEntry
from bontrack.storage.engine import transaction
from web.conftest import Site, csrf_from, email, log_in, password


def _page_csrf(site: Site) -> str:
    page = site.client.get("/account/password")
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


def _state(site: Site) -> dict[str, object]:
    response = site.client.get("/login/state")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    answer: dict[str, object] = response.json()
    return answer


def _renew(
    site: Site, who: str, pw: str, page_email: str, token: str | None = None
) -> tuple[int, dict[str, str]]:
    if token is None:
        state = _state(site)
        assert state["live"] is False
        token = str(state["login_token"])
    response = site.client.post(
        "/login/renew",
        json={"email": who, "password": pw, "page_email": page_email},
        headers={"X-CSRF-Token": token},
    )
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, str] = response.json()
    return response.status_code, body


def _denied_logins(site: Site) -> list[str]:
    with transaction(site.engine) as db:
        query = select(AuditEntry).where(AuditEntry.outcome == "denied", AuditEntry.action == "login")
        return [entry.actor for entry in db.scalars(query)]


def _audit_count(site: Site) -> int:
    with transaction(site.engine) as db:
        return len(db.scalars(select(AuditEntry.seq)).all())


def test_page__a_logged_in_page_knows_its_idle_timeout_and_user_the_log_in_page_does_not(site: Site) -> None:
    login_page = site.client.get("/login").text
    assert "session_idle.js" not in login_page and "data-idle-seconds" not in login_page
    assert log_in(site, "staff") == 303
    page = site.client.get("/patients").text
    assert re.search(r'<body data-idle-seconds="1800" data-user-email="staff@clinic.example.org">', page)
    assert re.search(r'<script src="[^"]*/static/session_idle\.js" defer></script>', page)
    assert site.client.get("/static/session_idle.js").status_code == 200


def test_state__says_how_long_the_session_lives_yet_without_keeping_it_alive(site: Site) -> None:
    assert _state(site)["live"] is False  # no session at all
    assert log_in(site, "staff") == 303
    assert _state(site) == {"live": True, "seconds_left": 1800, "ends": "idle"}
    site.clock.advance(minutes=20)
    assert _state(site) == {"live": True, "seconds_left": 600, "ends": "idle"}
    site.clock.advance(minutes=9)
    assert _state(site) == {
        "live": True,
        "seconds_left": 60,
        "ends": "idle",
    }  # asking 20 min later did not touch it
    site.clock.advance(minutes=1)
    ended = _state(site)
    assert ended["live"] is False and ended["login_token"]
    assert site.client.get("/").status_code == 303


def test_keep__starts_the_idle_clock_again(site: Site) -> None:
    assert log_in(site, "staff") == 303
    token = _page_csrf(site)
    site.clock.advance(minutes=28)
    entries = _audit_count(site)
    kept = site.client.post("/session/keep", headers={"X-CSRF-Token": token})
    assert _audit_count(site) == entries  # keeping a session alive is no event of the audit trail
    assert kept.status_code == 200, kept.text
    assert kept.json() == {"seconds_left": 1800, "ends": "idle"}
    assert kept.headers["cache-control"] == "no-store"
    site.clock.advance(minutes=29)  # 57 minutes after the last page: still logged in
    assert _state(site) == {"live": True, "seconds_left": 60, "ends": "idle"}
    assert site.client.get("/").status_code == 200


def test_keep__within_a_minute_of_the_last_use_still_restarts_the_clock(site: Site) -> None:
    assert log_in(site, "staff") == 303
    token = _page_csrf(site)
    site.clock.advance(seconds=30)  # the server writes a page's use at most once a minute
    assert site.client.post("/session/keep", headers={"X-CSRF-Token": token}).json() == {
        "seconds_left": 1800,
        "ends": "idle",
    }


def test_state__near_the_12_hour_limit_says_the_session_ends_however_used(site: Site) -> None:
    assert log_in(site, "staff") == 303
    token = _page_csrf(site)
    for _ in range(24):
        site.clock.advance(minutes=29)
        assert site.client.post("/session/keep", headers={"X-CSRF-Token": token}).status_code == 200
    site.clock.advance(minutes=12 * 60 - 24 * 29 - 2)
    assert _state(site) == {"live": True, "seconds_left": 120, "ends": "lifetime"}
    kept = site.client.post("/session/keep", headers={"X-CSRF-Token": token})
    assert kept.json() == {"seconds_left": 120, "ends": "lifetime"}  # nothing moves the limit


def test_keep__needs_the_csrf_header_and_a_live_session(site: Site) -> None:
    assert log_in(site, "staff") == 303
    token = _page_csrf(site)
    assert site.client.post("/session/keep").status_code == 403
    assert site.client.post("/session/keep", headers={"X-CSRF-Token": "wrong"}).status_code == 403
    site.clock.advance(minutes=31)
    ended = site.client.post("/session/keep", headers={"X-CSRF-Token": token})
    assert ended.status_code == 401
    assert site.client.get("/").status_code == 303  # keep did not bring it back


def test_keep__a_bearer_token_has_no_idle_clock_to_keep(site: Site) -> None:
    response = site.client.post("/session/keep", headers=site.bearer("staff"))
    assert response.status_code == 400
    assert "bearer token" in response.json()["detail"]


def test_renew__logs_the_same_user_in_again_with_a_new_csrf_token(site: Site) -> None:
    assert log_in(site, "physician") == 303
    old = _page_csrf(site)
    site.clock.advance(minutes=31)
    status, body = _renew(site, email("physician"), password("physician"), email("physician"))
    assert status == 200, body
    assert body["csrf_token"] and body["csrf_token"] != old
    assert _page_csrf(site) == body["csrf_token"]  # the new session's own token
    assert _state(site) == {"live": True, "seconds_left": 1800, "ends": "idle"}
    assert "bontrack_login_csrf" not in site.client.cookies  # the log-in form token is used up


def test_renew__a_wrong_password_is_refused_in_words_audited_and_counts_towards_the_lock_out(
    site: Site,
) -> None:
    assert log_in(site, "physician") == 303
    site.clock.advance(minutes=31)
    state = _state(site)
    token = str(state["login_token"])
    for _ in range(5):
        status, body = _renew(site, email("physician"), "wrong-password-1", email("physician"), token)
        assert (status, body["detail"]) == (401, "Wrong e-mail or password.")
        assert "wrong-password-1" not in str(body)
    assert _denied_logins(site) == [f"user:{email('physician')}"] * 5
    status, body = _renew(site, email("physician"), password("physician"), email("physician"), token)
    assert status == 429
    assert re.fullmatch(r"Too many failed log-ins\. Try again in about \d+ minutes?\.", body["detail"])
    assert site.client.get("/").status_code == 303


def test_renew__another_user_is_refused_for_the_pages_form(site: Site) -> None:
    assert log_in(site, "physician") == 303
    site.clock.advance(minutes=31)
    status, body = _renew(site, email("staff"), password("staff"), email("physician"))
    assert status == 409
    assert body["detail"].startswith(f"This page was filled in by {email('physician')}. Log in as")
    assert site.client.get("/").status_code == 303  # no session for staff
    # the page's e-mail is not to be trusted alone: the browser's ended session names its user
    status, body = _renew(site, email("staff"), password("staff"), email("staff"))
    assert status == 409
    # with no session cookie left (logged out elsewhere), the page's user is the one named
    site.client.cookies.delete("bontrack_session")
    status, body = _renew(site, email("staff"), password("staff"), email("physician"))
    assert status == 409
    assert _denied_logins(site) == []  # no password was tried


def test_renew__needs_the_log_in_form_token(site: Site) -> None:
    assert log_in(site, "physician") == 303
    site.clock.advance(minutes=31)
    status, body = _renew(site, email("physician"), password("physician"), email("physician"), "forged")
    assert status == 403 and body["detail"] == "The log-in form had expired. Please try again."
    assert site.client.get("/").status_code == 303


def test_renew__after_an_administrator_ended_the_session_the_same_user_logs_in_again(site: Site) -> None:
    assert log_in(site, "physician") == 303
    me = site.client.get("/api/auth/me", headers=site.bearer("physician")).json()
    ended = site.client.post(f"/api/users/{me['id']}/end-sessions", headers=site.bearer("admin"))
    assert ended.status_code == 200, ended.text
    assert _state(site)["live"] is False
    status, body = _renew(site, email("staff"), password("staff"), email("staff"))
    assert status == 409  # the ended session still names its user
    status, body = _renew(site, email("physician"), password("physician"), email("physician"))
    assert status == 200 and body["csrf_token"]
    assert site.client.get("/").status_code == 200
