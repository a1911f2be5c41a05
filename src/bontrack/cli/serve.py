"""`bontrack serve`: the web app and REST API on the registry given by --db."""

from __future__ import annotations

import typer

from bontrack.cli.common import settings_of
from bontrack.cli.registry import engine, require_registry, run


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Mark cookies Secure (needs HTTPS, e.g. behind a TLS proxy)."
    ),
    public_url: str | None = typer.Option(
        None, "--public-url", metavar="URL", help="How patients' links begin (default: the request's URL)."
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        help="Worker processes (default: one per CPU, at most 2 on SQLite, whose writes take turns, "
        "and 4 on PostgreSQL). Sessions, tokens and the log-in throttle live in the registry, so every "
        "worker sees the same.",
    ),
    forwarded_allow_ips: str | None = typer.Option(
        None,
        "--forwarded-allow-ips",
        metavar="ADDRESSES",
        help="Addresses or networks (comma-separated) of reverse proxies whose X-Forwarded-For is "
        "believed (default: none; the client is whoever connects).",
    ),
) -> None:
    """Serve the web app and REST API on the registry given by --db."""
    from bontrack.web.serve import ServeOptions, build_app, cpu_count, default_workers, proxy_settings
    from bontrack.web.serve import serve as run_server

    settings = settings_of(ctx)
    run(lambda: proxy_settings(forwarded_allow_ips))  # a wrong address: exit 2 before anything starts
    run(lambda: require_registry(settings))  # a mistyped --db is not served as an empty registry
    options = ServeOptions(
        database_url=settings.resolved_database_url(),
        secure_cookies=secure_cookies,
        public_url=public_url,
        forwarded_allow_ips=forwarded_allow_ips,
        read_database_url=settings.read_database_url,
    )
    # The schema and the pseudonym key are made here, once, before any worker process starts.
    app = run(lambda: build_app(options))
    dialect = app.state.settings.engine.dialect.name
    if dialect == "sqlite":  # a registry copied or filled elsewhere: the planner's statistics now
        from bontrack.storage.engine import refresh_statistics

        refresh_statistics(app.state.settings.engine)
    count = workers if workers is not None else default_workers(cpu_count(), dialect)
    url = engine(settings, create=False).url.render_as_string(hide_password=True)
    plural = "es" if count > 1 else ""
    print(f"bontrack serving {url} at http://{host}:{port} ({count} worker process{plural})")
    replica = app.state.settings.read_engine
    if replica is not None:
        print(f"reports, exports and research reads from {replica.url.render_as_string(hide_password=True)}")
    if count > 1:
        app.state.settings.engine.dispose()  # each worker opens its own
        if app.state.settings.read_engine is not None:
            app.state.settings.read_engine.dispose()
    # a port in use: exit 2 with a message (several workers bind it here, bontrack.web.serve)
    run(lambda: run_server(options, host=host, port=port, workers=count, app=app if count == 1 else None))
