"""The web application: ``create_app(WebSettings(engine=...))``."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bontrack import __version__
from bontrack.fhir import import_routes as fhir_import_routes
from bontrack.fhir.router import install as install_fhir
from bontrack.storage.engine import make_engine, transaction
from bontrack.web import error_page, outage, pages, problems, report_page, session_keep
from bontrack.web.api import admin, auth, clinical, corrections, followup, patient_link, patients, users
from bontrack.web.api import stock as stock_api
from bontrack.web.deps import PageUser, turn_at_database
from bontrack.web.query_params import only_declared
from bontrack.web.read_audits import ReadAudits, ReadAuditWriter
from bontrack.web.settings import WebSettings
from bontrack.web.views import ROUTERS
from bontrack.web.views.common import install as install_page_errors

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # patient links carry their secret in the path: never send it on to another site
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
}
DOCS_CSP = (  # Swagger UI, served by bontrack itself, sets inline styles on its elements
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "frame-ancestors 'none'"
)


SWAGGER_UI = Path(fastapi_offline.__file__).parent / "static"


class SecurityHeaders:
    """Adds the security headers to every response (plain ASGI: cheaper than BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Everything but the static files can hold patient data (pages, API answers, errors
        # quoting a record): no browser or proxy may keep a copy.
        no_store = not str(scope["path"]).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if no_store:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _operation_id(route: APIRoute) -> str:
    """Stable operation ids: the route function's name."""
    return route.name


def create_app(settings: WebSettings) -> FastAPI:
    """A bontrack server on one registry."""
    from bontrack.research.service import pseudonym_key

    with transaction(settings.engine) as db:
        pseudonym_key(db)  # made now, so concurrent first requests do not race to make it
    app = FastAPI(
        title="bontrack",
        version=__version__,
        description="Registry and decision support for botulinum toxin with physical therapy "
        "for chronic myofascial neck pain. Errors are application/problem+json naming the field.",
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=_operation_id,
        dependencies=[Depends(only_declared)],  # an API route's query: only what it declares
    )
    app.state.settings = settings
    pages.load_templates()  # the pages of the code that starts, read now
    problems.install(app)
    app.state.error_page = error_page.render

    app.state.read_audits = ReadAuditWriter(settings, turn_at_database)
    if settings.engine.dialect.name == "sqlite" and settings.local_reads is None:
        settings.local_reads = make_engine(
            settings.engine.url.render_as_string(hide_password=False), read_only=True
        )
    app.add_middleware(ReadAudits)  # inside SecurityHeaders: its 503 gets the headers too
    app.add_middleware(SecurityHeaders)

    outage.install(app, settings.engine, settings.health_probe_seconds)

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request, _principal: PageUser) -> HTMLResponse:
        page = pages.render(request, "docs.html")
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    for router in (
        auth.router,
        patients.router,
        patients.chart_router,
        clinical.router,
        followup.router,
        admin.router,
        users.router,
        stock_api.router,
    ):
        app.include_router(router)
    app.include_router(corrections.router)
    install_fhir(app)  # /fhir: the FHIR R4 facade (bontrack.fhir)
    app.include_router(patient_link.router)
    app.include_router(fhir_import_routes.router, prefix="/fhir")
    app.include_router(pages.router)
    app.include_router(session_keep.router)  # the pages' idle warning and in-page log-in
    app.include_router(report_page.router)
    for view in ROUTERS:
        app.include_router(view)
    install_page_errors(app)
    # Swagger UI 5 (Apache-2.0) as the fastapi-offline package (MIT) ships it; mounted before /static
    app.mount("/static/swagger-ui", StaticFiles(directory=str(SWAGGER_UI)), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    return app
