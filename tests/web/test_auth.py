"""Log-in and log-out pages, session cookies, CSRF, throttling, bearer tokens, open routes."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from bontrack.auth.models import AuthTokenRow
from bontrack.storage.engine import transaction
from bontrack.web.deps import SESSION_COOKIE
from web.conftest import Site, csrf_from, email, log_in, make_site, password


def _session_count(engine: Engine) -> int:
    with transaction(engine) as db:
        return int(
            db.scalar(select(func.count()).select_from(AuthTokenRow).where(AuthTokenRow.kind == "session"))
            or 0
        )


def test_login__right_password_sets_httponly_lax_cookie_and_goes_to_next(site: Site) -> None:
    page = site.client.get("/login?next=/docs")
    response = site.client.post(
        "/login",
        data={
            "email": email("physician"),
            "password": password("physician"),
            "csrf_token": csrf_from(page.text),
            "next": "/docs",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/docs"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie
    home = site.client.get("/")
    assert home.status_code == 200
    assert email("physician") in home.text


def test_login__secure_cookies_setting_marks_the_cookie_secure(sqlite_engine: Engine, site: Site) -> None:
    secure = make_site(sqlite_engine, site.world, secure_cookies=True)
    page = secure.client.get("/login")
    response = secure.client.post(
        "/login",
        data={"email": email("staff"), "password": password("staff"), "csrf_token": csrf_from(page.text)},
    )
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "Secure" in cookie


def test_login__wrong_password_is_401_and_no_session(site: Site) -> None:
    assert log_in(site, "staff", pw="not-the-password") == 401
    assert _session_count(site.engine) == 0
    assert site.client.get("/").status_code == 303


def test_login__unknown_email_looks_like_a_wrong_password(site: Site) -> None:
    page = site.client.get("/login")
    response = site.client.post(
        "/login",
        data={
            "email": "nobody@example.org",
            "password": "whatever-it-is",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 401
    assert "Wrong e-mail or password" in response.text


def test_login__form_without_csrf_token_is_refused_and_nothing_written(site: Site) -> None:
    site.client.get("/login")
    response = site.client.post("/login", data={"email": email("staff"), "password": password("staff")})
    assert response.status_code == 403
    assert _session_count(site.engine) == 0


def test_login__csrf_token_of_another_browser_is_refused(site: Site) -> None:
    token = csrf_from(site.client.get("/login").text)
    site.client.cookies.clear()
    response = site.client.post(
        "/login", data={"email": email("staff"), "password": password("staff"), "csrf_token": token}
    )
    assert response.status_code == 403


def test_login__throttled_after_five_failures_even_with_the_right_password(site: Site) -> None:
    for _ in range(5):
        assert log_in(site, "staff", pw="wrong-password") == 401
    page = site.client.get("/login")
    response = site.client.post(
        "/login",
        data={"email": email("staff"), "password": password("staff"), "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert "Too many failed log-ins" in response.text
    site.clock.advance(minutes=16)
    assert log_in(site, "staff") == 303


def test_login__success_resets_the_failure_count(site: Site) -> None:
    for _ in range(4):
        log_in(site, "staff", pw="wrong-password")
    assert log_in(site, "staff") == 303
    site.client.cookies.clear()
    for _ in range(4):
        assert log_in(site, "staff", pw="wrong-password") == 401
    assert log_in(site, "staff") == 303


def test_token__throttled_with_429_problem(site: Site) -> None:
    form = {"username": email("physician"), "password": "wrong-password"}
    statuses = [site.client.post("/api/auth/token", data=form).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    response = site.client.post(
        "/api/auth/token", data={"username": email("physician"), "password": password("physician")}
    )
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert "retry-after" in response.headers


def test_token__throttled_per_client_address_across_accounts(site: Site) -> None:
    for i in range(20):
        site.client.post("/api/auth/token", data={"username": f"guess{i}@example.org", "password": "x"})
    response = site.client.post(
        "/api/auth/token", data={"username": email("admin"), "password": password("admin")}
    )
    assert response.status_code == 429


def test_logout__ends_the_session_even_for_a_kept_cookie(site: Site) -> None:
    assert log_in(site, "physician") == 303
    kept = site.client.cookies[SESSION_COOKIE]
    home = site.client.get("/")
    response = site.client.post("/logout", data={"csrf_token": csrf_from(home.text)})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert site.client.get("/").status_code == 303
    site.client.cookies.set(SESSION_COOKIE, kept)
    assert site.client.get("/").headers["location"] == "/login?next=/&ended=ended"
    assert site.client.get("/api/auth/me").status_code == 401


def test_logout__without_csrf_token_is_refused(site: Site) -> None:
    log_in(site, "physician")
    assert site.client.post("/logout").status_code == 403
    assert site.client.get("/").status_code == 200


def test_session_cookie__api_write_needs_the_csrf_header(site: Site) -> None:
    log_in(site, "staff")
    token = csrf_from(site.client.get("/").text)
    body = {"record_number": "P-100", "name": "New Patient", "birth_date": "1980-01-01", "sex": "male"}
    refused = site.client.post("/api/patients", json=body)
    assert refused.status_code == 403 and refused.json()["title"] == "CSRF check failed"
    accepted = site.client.post("/api/patients", json=body, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201, accepted.text


def test_bearer__token_reads_the_api_until_it_expires(site: Site) -> None:
    headers = site.bearer("physician")
    assert site.client.get("/api/auth/me", headers=headers).json()["role"] == "physician"
    site.clock.advance(hours=13)
    expired = site.client.get("/api/auth/me", headers=headers)
    assert expired.status_code == 401
    assert expired.headers["content-type"] == "application/problem+json"


def test_bearer__revoked_token_is_refused(site: Site) -> None:
    headers = site.bearer("staff")
    assert site.client.post("/api/auth/revoke", headers=headers).status_code == 204
    assert site.client.get("/api/auth/me", headers=headers).status_code == 401


def test_bearer__made_up_token_is_401(site: Site) -> None:
    response = site.client.get("/api/patients", headers={"Authorization": "Bearer made-up"})
    assert response.status_code == 401
    assert "invalid_token" in response.headers["www-authenticate"]


def test_open_routes__health_openapi_login_need_no_login(site: Site) -> None:
    assert site.client.get("/health").json()["status"] == "ok"
    assert site.client.get("/openapi.json").status_code == 200
    assert site.client.get("/login").status_code == 200


def test_closed_routes__pages_redirect_api_answers_401(site: Site) -> None:
    assert site.client.get("/docs").headers["location"] == "/login?next=/docs"
    response = site.client.get("/api/patients")
    assert response.status_code == 401
    assert response.json()["title"] == "Not logged in"


def test_login__next_cannot_leave_the_site(site: Site) -> None:
    page = site.client.get("/login")
    response = site.client.post(
        "/login",
        data={
            "email": email("staff"),
            "password": password("staff"),
            "csrf_token": csrf_from(page.text),
            "next": "//evil.example.org/x",
        },
    )
    assert response.headers["location"] == "/"


def test_pages__security_headers(site: Site) -> None:
    response = site.client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
