"""`bontrack user ...`: add, link, list, deactivate, reactivate users; passwords; demo log-ins."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from bontrack.cli.common import clinic_name, settings_of
from bontrack.cli.help_layout import App
from bontrack.cli.registry import engine, options_named, parse_options, require_registry, run

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bontrack.config import Settings

DEMO_DOMAIN = "demo.example.org"  # a reserved domain: no real mailbox


def demo_password(role: str) -> str:
    """Fixed, printed, and only for a demo on a laptop."""
    return f"bontrack-demo-{role.replace('_', '-')}"


def _password(password_stdin: bool) -> str:
    from bontrack.errors import InputError

    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InputError.one(
            "--password-stdin", "no terminal to prompt on; pipe the password with --password-stdin"
        )
    text: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return text


# UserCreate's fields as `user add`'s options (the password keeps its name: typed, or --password-stdin)
USER_OPTIONS = {"email": "--email", "role": "--role", "clinic_id": "--clinic", "clinician_id": "--clinician"}


def add_user(
    settings: Settings,
    *,
    email: str,
    role: str,
    clinic: str | None,
    password_stdin: bool,
    clinician: str | None = None,
) -> None:
    from bontrack.auth.schemas import UserCreate
    from bontrack.auth.service import create_user, hash_password
    from bontrack.clock import utcnow
    from bontrack.errors import InputError
    from bontrack.storage.engine import transaction

    actor = settings.resolved_actor()

    def go() -> None:
        doc: dict[str, object] = {
            "email": email,
            "role": role,
            "clinic_id": clinic,
            "clinician_id": clinician,
        }
        try:  # the e-mail, the role and the registry first: no password typed twice for a misspelt role
            parse_options(UserCreate, doc | {"password": None}, USER_OPTIONS)
        except InputError as exc:
            if wrong := [e for e in exc.errors if e.field != "password"]:
                raise InputError(wrong) from None
        if clinic is not None:  # a clinic the registry does not hold, named with those it holds
            with transaction(engine(settings)) as db:
                clinic_name(db, actor, clinic.strip())
        else:
            require_registry(settings)
        data = parse_options(UserCreate, doc | {"password": _password(password_stdin)}, USER_OPTIONS)
        password_hash = hash_password(data.password)  # slow: before the transaction, not inside it
        with transaction(engine(settings)) as db, options_named(USER_OPTIONS):
            user = create_user(db=db, actor=actor, data=data, now=utcnow(), password_hash=password_hash)
        where = f" at clinic {user.clinic_id}" if user.clinic_id else " (every clinic)"
        print(f"added {user.email} as {user.role}{where}")

    run(go)


def link_user(settings: Settings, *, email: str, clinician: str) -> None:
    from bontrack.auth.service import link_clinician
    from bontrack.storage.engine import transaction

    actor = settings.resolved_actor()

    def go() -> None:
        with transaction(engine(settings)) as db:
            user = link_clinician(db=db, actor=actor, email=email, clinician_id=clinician)
        print(f"linked {user.email} to clinician record {user.clinician_id}")

    run(go)


def list_users(settings: Settings) -> None:
    from bontrack.auth.service import list_users as users
    from bontrack.storage.engine import transaction

    actor = settings.resolved_actor()

    def go() -> None:
        with transaction(engine(settings)) as db:
            for u in users(db=db, actor=actor):
                state = "active" if u.active else "inactive"
                print(f"{u.email}\t{u.role}\t{u.clinic_id or '(every clinic)'}\t{state}\t{u.id}")

    run(go)


def set_password(settings: Settings, *, user: str, password_stdin: bool) -> None:
    """A new password for a user; every session and token of theirs ends."""
    from bontrack.auth.service import find_user, hash_new_password
    from bontrack.auth.service import set_password as store
    from bontrack.clock import utcnow
    from bontrack.storage.engine import transaction

    actor = settings.resolved_actor()

    def go() -> None:
        eng = engine(settings)
        with transaction(eng) as db:
            found = find_user(db=db, ref=user)
        new_hash = hash_new_password(_password(password_stdin), email=found.email)  # slow: no transaction
        with transaction(eng) as db:
            ended = store(db=db, actor=actor, user_id=found.id, password_hash=new_hash, now=utcnow())
        print(f"password of {found.email} changed; {_sessions(ended)} ended")

    run(go)


def _sessions(count: int) -> str:
    return f"{count} session{'s' if count != 1 else ''} and token{'s' if count != 1 else ''}"


def change_state(settings: Settings, *, user: str, what: str) -> None:
    """deactivate, reactivate or end-sessions of one user."""
    from bontrack.auth import service
    from bontrack.clock import utcnow
    from bontrack.storage.engine import transaction

    actor = settings.resolved_actor()

    def go() -> None:
        with transaction(engine(settings)) as db:
            found = service.find_user(db=db, ref=user)
            now = utcnow()
            if what == "deactivate":
                service.deactivate_user(db=db, actor=actor, user_id=found.id, now=now)
                print(f"{found.email} deactivated: can no longer log in; sessions and tokens ended")
            elif what == "reactivate":
                service.reactivate_user(db=db, actor=actor, user_id=found.id)
                print(f"{found.email} reactivated: can log in again with the same password")
            else:
                ended = service.end_sessions(db=db, actor=actor, user_id=found.id, now=now)
                print(f"{found.email}: {_sessions(ended)} ended")

    run(go)


def _demo_clinicians(db: Session, actor: str, clinic_id: str) -> dict[str, str]:
    """The clinic's first physician and physiotherapist records: the demo users are these people."""
    from bontrack import records
    from bontrack.patients.models import ClinicianRow

    rows = records.find_current(
        db, row_cls=ClinicianRow, actor=actor, purpose="demo logins", clinic_id=clinic_id
    )
    first: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: (r.recorded_at, r.id)):
        role = {"physician": "physician", "physiotherapist": "physical_therapist"}.get(str(row.data["role"]))
        if role is not None:
            first.setdefault(role, row.id)
    return first


def demo_logins(settings: Settings) -> None:
    """One user per role with a printed password; clinical roles work at the oldest clinic."""
    from sqlalchemy import select

    from bontrack.auth.models import ROLES
    from bontrack.auth.schemas import UserCreate
    from bontrack.auth.service import create_user, get_user_by_email
    from bontrack.clock import utcnow
    from bontrack.errors import InputError
    from bontrack.patients.models import ClinicRow
    from bontrack.storage.engine import transaction

    actor = settings.resolved_actor()

    def go() -> None:
        with transaction(engine(settings)) as db:
            clinic = db.scalar(select(ClinicRow.id).order_by(ClinicRow.recorded_at, ClinicRow.id).limit(1))
            if clinic is None:
                raise InputError.one("--db", "the registry has no clinic yet; run `bontrack demo` first")
            people = _demo_clinicians(db, actor, clinic)
            shown = []
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
                    create_user(db=db, actor=actor, data=data, now=utcnow())
                shown.append(f"  {role:<19} {email:<36} {demo_password(role)}")
        # printed once the users are saved: a closed pipe (`| head`) cannot undo them
        print("Demo logins (for a demo on this machine only; the passwords are public):")
        print("\n".join(shown))

    run(go)


user_app = App(help="Users of the web app and API.", no_args_is_help=True)
PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="Read the password from the first line of standard input."
)
USER_ARG = typer.Argument(
    ..., metavar="USER", help="The user's e-mail (or id, as `bontrack user list` shows)."
)


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    email: str = typer.Option(..., "--email", help="Log-in e-mail."),
    role: str = typer.Option(
        ..., "--role", help="physician, physical_therapist, staff, researcher or admin."
    ),
    clinic: str | None = typer.Option(
        None, "--clinic", metavar="ID", help="The clinic the user works at (default: every clinic)."
    ),
    clinician: str | None = typer.Option(
        None,
        "--clinician",
        metavar="ID",
        help="The user's own clinician record at that clinic (a physician needs one to override a block).",
    ),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Add a user; the password is asked for twice (or read from stdin)."""
    add_user(
        settings_of(ctx),
        email=email,
        role=role,
        clinic=clinic,
        clinician=clinician,
        password_stdin=password_stdin,
    )


@user_app.command("link")
def user_link(
    ctx: typer.Context,
    email: str = typer.Argument(..., help="The user's log-in e-mail."),
    clinician: str = typer.Option(..., "--clinician", metavar="ID", help="The user's own clinician record."),
) -> None:
    """Link an account to the person's clinician record (a physician overrides a block as themself)."""
    link_user(settings_of(ctx), email=email, clinician=clinician)


@user_app.command("list")
def user_list(ctx: typer.Context) -> None:
    """Every user: e-mail, role, clinic, state."""
    list_users(settings_of(ctx))


@user_app.command("deactivate")
def user_deactivate(ctx: typer.Context, user: str = USER_ARG) -> None:
    """Close an account: no more log-ins, every session and API token ends now (records stay)."""
    change_state(settings_of(ctx), user=user, what="deactivate")


@user_app.command("reactivate")
def user_reactivate(ctx: typer.Context, user: str = USER_ARG) -> None:
    """Open a closed account again (same password)."""
    change_state(settings_of(ctx), user=user, what="reactivate")


@user_app.command("set-password")
def user_set_password(
    ctx: typer.Context, user: str = USER_ARG, password_stdin: bool = PASSWORD_STDIN
) -> None:
    """Set a new password (asked twice, or read from stdin); every session and token of the user ends."""
    set_password(settings_of(ctx), user=user, password_stdin=password_stdin)


@user_app.command("end-sessions")
def user_end_sessions(ctx: typer.Context, user: str = USER_ARG) -> None:
    """End every browser session and API token of the user (they must log in again)."""
    change_state(settings_of(ctx), user=user, what="end-sessions")


@user_app.command("set-role")
def user_set_role(
    ctx: typer.Context,
    user: str = USER_ARG,
    role: str = typer.Argument(
        ..., metavar="ROLE", help="physician, physical_therapist, staff, researcher or admin."
    ),
) -> None:
    """Give a user another role (same e-mail and password); every session and token of theirs ends."""
    from bontrack.auth import service
    from bontrack.clock import utcnow
    from bontrack.storage.engine import transaction

    settings = settings_of(ctx)
    actor = settings.resolved_actor()
    wanted = "_".join(role.lower().split())  # "physical therapist" as the role's name

    def go() -> None:
        # the role, or the linked clinician record it does not fit, said as the argument typed
        with transaction(engine(settings)) as db, options_named({"role": "ROLE", "clinician_id": "ROLE"}):
            found = service.find_user(db=db, ref=user)
            service.change_role(db=db, actor=actor, user_id=found.id, role=wanted, now=utcnow())
        print(f"{found.email} is now {wanted.replace('_', ' ')}; sessions and tokens ended")

    run(go)


@user_app.command("demo-logins")
def user_demo_logins(ctx: typer.Context) -> None:
    """Create one demo user per role (fixed, printed passwords) unless they exist, and print them."""
    demo_logins(settings_of(ctx))
