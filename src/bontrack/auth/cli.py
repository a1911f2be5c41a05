"""`bontrack user ...` and `bontrack serve`: what the commands do (cli.py only declares them)."""

from __future__ import annotations

import sys

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.auth.schemas import UserCreate
from bontrack.errors import InputError
from bontrack.registry_cli import actor, engine, run
from bontrack.schemas import parse

DEMO_DOMAIN = "demo.example.org"  # a reserved domain: no real mailbox


def demo_password(role: str) -> str:
    """Fixed, printed, and only for a demo on a laptop."""
    return f"bontrack-demo-{role.replace('_', '-')}"


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InputError.one(
            "--password-stdin", "no terminal to prompt on; pipe the password with --password-stdin"
        )
    text: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return text


def add_user(
    *, email: str, role: str, clinic: str | None, password_stdin: bool, clinician: str | None = None
) -> None:
    from bontrack.auth.service import create_user, hash_password
    from bontrack.db import transaction
    from bontrack.web.settings import system_clock

    def go() -> None:
        data = parse(
            UserCreate,
            {
                "email": email,
                "role": role,
                "clinic_id": clinic,
                "clinician_id": clinician,
                "password": _password(password_stdin),
            },
        )
        password_hash = hash_password(data.password)  # slow: before the transaction, not inside it
        with transaction(engine()) as db:
            user = create_user(
                db=db, actor=actor(), data=data, now=system_clock(), password_hash=password_hash
            )
        where = f" at clinic {user.clinic_id}" if user.clinic_id else " (every clinic)"
        print(f"added {user.email} as {user.role}{where}")

    run(go)


def link_user(*, email: str, clinician: str) -> None:
    from bontrack.auth.service import link_clinician
    from bontrack.db import transaction

    def go() -> None:
        with transaction(engine()) as db:
            user = link_clinician(db=db, actor=actor(), email=email, clinician_id=clinician)
        print(f"linked {user.email} to clinician record {user.clinician_id}")

    run(go)


def list_users() -> None:
    from bontrack.auth.service import list_users as users
    from bontrack.db import transaction

    def go() -> None:
        with transaction(engine()) as db:
            for u in users(db=db, actor=actor()):
                state = "active" if u.active else "inactive"
                print(f"{u.email}\t{u.role}\t{u.clinic_id or '(every clinic)'}\t{state}\t{u.id}")

    run(go)


def set_password(*, user: str, password_stdin: bool) -> None:
    """A new password for a user; every session and token of theirs ends."""
    from bontrack.auth.service import find_user, hash_new_password
    from bontrack.auth.service import set_password as store
    from bontrack.db import transaction
    from bontrack.web.settings import system_clock

    def go() -> None:
        eng = engine()
        with transaction(eng) as db:
            found = find_user(db=db, ref=user)
        new_hash = hash_new_password(_password(password_stdin), email=found.email)  # slow: no transaction
        with transaction(eng) as db:
            ended = store(db=db, actor=actor(), user_id=found.id, password_hash=new_hash, now=system_clock())
        print(f"password of {found.email} changed; {_sessions(ended)} ended")

    run(go)


def _sessions(count: int) -> str:
    return f"{count} session{'s' if count != 1 else ''} and token{'s' if count != 1 else ''}"


def change_state(*, user: str, what: str) -> None:
    """deactivate, reactivate or end-sessions of one user."""
    from bontrack.auth import service
    from bontrack.db import transaction
    from bontrack.web.settings import system_clock

    def go() -> None:
        with transaction(engine()) as db:
            found = service.find_user(db=db, ref=user)
            now = system_clock()
            if what == "deactivate":
                service.deactivate_user(db=db, actor=actor(), user_id=found.id, now=now)
                print(f"{found.email} deactivated: can no longer log in; sessions and tokens ended")
            elif what == "reactivate":
                service.reactivate_user(db=db, actor=actor(), user_id=found.id)
                print(f"{found.email} reactivated: can log in again with the same password")
            else:
                ended = service.end_sessions(db=db, actor=actor(), user_id=found.id, now=now)
                print(f"{found.email}: {_sessions(ended)} ended")

    run(go)


def _demo_clinicians(db: Session, clinic_id: str) -> dict[str, str]:
    """The clinic's first physician and physiotherapist records: the demo users are these people."""
    from bontrack import records
    from bontrack.patients.models import ClinicianRow

    rows = records.find_current(
        db, row_cls=ClinicianRow, actor=actor(), purpose="demo logins", clinic_id=clinic_id
    )
    first: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: (r.recorded_at, r.id)):
        role = {"physician": "physician", "physiotherapist": "physical_therapist"}.get(str(row.data["role"]))
        if role is not None:
            first.setdefault(role, row.id)
    return first


def demo_logins() -> None:
    """One user per role with a printed password; clinical roles work at the oldest clinic."""
    from bontrack.auth.models import ROLES
    from bontrack.auth.service import create_user, get_user_by_email
    from bontrack.db import transaction
    from bontrack.patients.models import ClinicRow
    from bontrack.web.settings import system_clock

    def go() -> None:
        with transaction(engine()) as db:
            clinic = db.scalar(select(ClinicRow.id).order_by(ClinicRow.recorded_at, ClinicRow.id).limit(1))
            if clinic is None:
                raise InputError.one("--db", "the registry has no clinic yet; run `bontrack demo` first")
            people = _demo_clinicians(db, clinic)
            print("Demo logins (for a demo on this machine only; the passwords are public):")
            for role in ROLES:
                email = f"{role.replace('_', '-')}@{DEMO_DOMAIN}"
                if get_user_by_email(db=db, email=email) is None:
                    works_at = None if role in ("researcher", "admin") else clinic
                    data = UserCreate(
                        email=email,
                        role=role,
                        password=demo_password(role),
                        clinic_id=works_at,
                        clinician_id=people.get(role) if works_at else None,
                    )
                    create_user(db=db, actor=actor(), data=data, now=system_clock())
                print(f"  {role:<19} {email:<36} {demo_password(role)}")

    run(go)


def serve(
    *,
    host: str,
    port: int,
    secure_cookies: bool,
    public_url: str | None,
    workers: int | None,
    forwarded_allow_ips: str | None = None,
) -> None:
    from bontrack.config import settings
    from bontrack.web.serve import ServeOptions, build_app, cpu_count, default_workers, proxy_settings
    from bontrack.web.serve import serve as run_server

    run(lambda: proxy_settings(forwarded_allow_ips))  # a wrong address: exit 2 before anything starts
    options = ServeOptions(
        database_url=settings.resolved_database_url(),
        secure_cookies=secure_cookies,
        public_url=public_url,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    # The schema and the pseudonym key are made here, once, before any worker process starts.
    app = run(lambda: build_app(options))
    dialect = app.state.settings.engine.dialect.name
    count = workers if workers is not None else default_workers(cpu_count(), dialect)
    url = engine(create=False).url.render_as_string(hide_password=True)
    plural = "es" if count > 1 else ""
    print(f"bontrack serving {url} at http://{host}:{port} ({count} worker process{plural})")
    if count > 1:
        app.state.settings.engine.dispose()  # each worker opens its own
    run_server(options, host=host, port=port, workers=count, app=app if count == 1 else None)
