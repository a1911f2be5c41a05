"""Server-rendered pages: log-in, log-out, home. Later pages build on base.html and PageUser."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.datastructures import URLPath

from bontrack.actor import who
from bontrack.auth.service import Throttled, revoke_token
from bontrack.injections import ae_terms
from bontrack.web import csrf, display
from bontrack.web.api.auth import client_address, password_log_in
from bontrack.web.deps import (
    SESSION_COOKIE,
    NowDep,
    PageUser,
    SessionDep,
    SettingsDep,
    csrf_ok,
    session_owner,
    set_session_cookie,
)
from bontrack.web.isolate import isolated
from bontrack.web.settings import WebSettings

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# url_for's paths, by router, route name and path parameters: Starlette looks a name up by walking
# every route (about 15% of the chart page's time for its three static files); a route's path for
# the same name and parameters never changes while the app runs. The URL stays absolute, made
# from each request's own base URL, as Starlette's url_for makes it.
_UrlKey = tuple[int, str, tuple[tuple[str, str], ...]]  # router, route name, path parameters
_URL_PATHS_KEPT = 1000  # per app; the templates name a few dozen


@pass_context
def _url_for(context: dict[str, Any], name: str, /, **path_params: Any) -> Any:
    request: Request = context["request"]
    router = request.scope.get("router") or request.scope.get("app")
    if router is None:
        return request.url_for(name, **path_params)  # Starlette's own error
    state = request.app.state  # kept with the app: its routers live as long as it does
    paths: dict[_UrlKey, URLPath] | None = getattr(state, "url_paths", None)
    if paths is None or len(paths) >= _URL_PATHS_KEPT:
        paths = state.url_paths = {}
    key = (id(router), name, tuple(sorted((k, str(v)) for k, v in path_params.items())))
    path = paths.get(key)
    if path is None:
        path = paths[key] = router.url_path_for(name, **path_params)
    return path.make_absolute_url(base_url=request.base_url)


templates.env.globals["url_for"] = _url_for


@pass_context
def _idle_seconds(context: dict[str, Any]) -> int:
    """How long a browser session lasts without use (WebSettings), for the page's idle warning."""
    settings: WebSettings = context["request"].app.state.settings
    return int(settings.session_idle_timeout.total_seconds())


templates.env.globals["idle_seconds"] = _idle_seconds

templates.env.auto_reload = False  # read once (load_templates): pages stay those of the code running


def load_templates() -> None:
    """Read and compile every page's template (and the report's) now, at the server's start: a
    package upgraded under a running server then changes neither its code nor its pages until it
    is restarted, instead of pairing new templates with old code (a 500)."""
    from bontrack.reports.render import report_template

    for name in templates.env.list_templates():
        templates.env.get_template(name)
    report_template()


templates.env.filters["bdi"] = isolated  # {{ patient.data.name | bdi }}: entered text, isolated
templates.env.filters["who"] = who  # {{ row.recorded_by | who }}: who acted, in words
templates.env.filters["dates_whole"] = display.dates_whole  # each date in a text on one line
templates.env.filters["whole"] = display.whole  # {{ i.phone | whole }}: a short value on one line
templates.env.filters["email"] = display.email  # {{ i.email | email }}: broken only before its @
templates.env.filters["units"] = display.units  # {{ s.total_units | units }} U: 120, 12.5, 10,000
templates.env.filters["product"] = display.product  # the knowledge base's one name of a product
templates.env.filters["ae_status"] = ae_terms.status_text  # {{ e.data | ae_status }}: words, or not recorded
templates.env.filters["ae_related"] = partial(ae_terms.words, "relatedness")  # a relatedness code in words
router = APIRouter(include_in_schema=False)


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def safe_next(target: str | None) -> str:
    """Only a path on this site: no scheme, no host, no //evil.example."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_form(
    request: Request,
    settings: WebSettings,
    *,
    status: int = 200,
    error: str | None = None,
    email: str = "",
    next_path: str = "/",
    notice: str | None = None,
) -> Response:
    token = csrf.login_token(request)
    response = render(
        request,
        "login.html",
        status=status,
        next=next_path,
        error=error,
        notice=notice,
        email=email,
        csrf_token=token,
    )
    csrf.set_login_cookie(response, token, secure=settings.secure_cookies)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    at: NowDep,
    next: str | None = None,
    ended: str | None = None,
) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and session_owner(db, cookie, at, settings) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return login_form(request, settings, next_path=safe_next(next), notice=_ended_words(ended, settings))


def _ended_words(ended: str | None, settings: WebSettings) -> str | None:
    """Why the log-in page is shown again, when a session ended under the user's hands."""
    if ended not in ("ended", "unsaved"):
        return None
    minutes = round(settings.session_idle_timeout.total_seconds() / 60)
    hours = round(settings.session_lifetime.total_seconds() / 3600)
    words = (
        f"Your session has ended: after {minutes} minutes without use, at its {hours}-hour limit, "
        "or because an administrator ended it. Log in again to go on."
    )
    if ended == "unsaved":
        words += " What you had just sent was not saved: please enter it again."
    return words


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    settings: SettingsDep,
    at: NowDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str | None, Form(max_length=100)] = None,
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    next_path = safe_next(next)
    if not csrf.login_form_ok(request, csrf_token):
        return login_form(
            request,
            settings,
            status=403,
            error="The form had expired. Please log in again.",
            email=email,
            next_path=next_path,
        )
    try:
        token = await password_log_in(
            settings,
            email=email,
            password=password,
            client=client_address(request),
            at=at,
            kind="session",
            lifetime=settings.session_lifetime,
        )
    except Throttled as exc:
        response = login_form(
            request,
            settings,
            status=429,
            error=exc.words(),
            email=email,
            next_path=next_path,
        )
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    if token is None:
        return login_form(
            request, settings, status=401, error="Wrong e-mail or password.", email=email, next_path=next_path
        )
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(response, token.secret, settings)
    response.delete_cookie(csrf.LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request,
    db: SessionDep,
    principal: PageUser,
    at: NowDep,
    csrf_token: Annotated[str | None, Form(max_length=100)] = None,
) -> Response:
    if not csrf_ok(principal.csrf_token, csrf_token):
        return render(
            request,
            "error.html",
            status=403,
            user=principal,
            title="Form expired",
            message="The form had expired. Go back, reload the page and try again.",
        )
    revoke_token(db=db, secret=request.cookies.get(SESSION_COOKIE, ""), now=at)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
