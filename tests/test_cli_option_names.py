"""Bad values of `stock receive`, `stock discard` and `user add` are named by the option the
operator typed (--count, not vial_count) and said in words (exit 2, nothing written); `user add`
checks the e-mail, the role and the clinic before it asks for a password. Real processes on a
real SQLite registry."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest


def bontrack(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bontrack", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        input=stdin,
    )


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("registry") / "demo.db"
    made = bontrack("--db", f"sqlite:///{path}", "demo", "--patients", "2")
    assert made.returncode == 0, made.stderr
    return f"sqlite:///{path}"


def _rows(url: str) -> tuple[int, int]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
        (lots,) = con.execute("SELECT count(*) FROM stock_receipt_versions").fetchone()
        (users,) = con.execute("SELECT count(*) FROM users").fetchone()
    return lots, users


RECEIVE = [
    "stock", "receive", "--product", "botox", "--lot", "AB12", "--expiry", "2027-03-20",
    "--vial-units", "100", "--count", "3", "--supplier", "McKesson",
]  # fmt: skip


def _with(args: list[str], option: str, value: str) -> list[str]:
    changed = list(args)
    changed[changed.index(option) + 1] = value
    return changed


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--count", "0", "error --count: must be 1 or more (got 0)"),
        ("--count", "-3", "error --count: must be 1 or more (got -3)"),
        ("--expiry", "2027-02-30", "error --expiry: 2027-02-30 is not a date; use YYYY-MM-DD"),
        ("--lot", "", "error --lot: must not be empty"),
        ("--supplier", "  ", "error --supplier: must not be empty"),
    ],
    ids=["count-0", "count-negative", "expiry-02-30", "lot-empty", "supplier-blank"],
)
def test_stock_receive_names_the_option(url: str, option: str, value: str, said: str) -> None:
    before = _rows(url)
    done = bontrack("--db", url, *_with(RECEIVE, option, value))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.startswith(said), done.stderr
    assert "Input should" not in done.stderr and "Traceback" not in done.stderr
    assert _rows(url) == before


def test_stock_receive_at_an_unknown_clinic_names_clinic(url: str) -> None:
    done = bontrack("--db", url, *RECEIVE, "--clinic", "nope")
    assert done.returncode == 2
    assert done.stderr.startswith("error --clinic: no clinic with id 'nope'"), done.stderr


def test_stock_discard_names_count(url: str) -> None:
    done = bontrack("--db", url, "stock", "discard", "--lot", "AB12", "--count", "0", "--reason", "expired")
    assert done.returncode == 2
    assert done.stderr.startswith("error --count: must be 1 or more (got 0)"), done.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--email", "bad", "--role", "admin"], "error --email: 'bad' is not an e-mail address"),
        (
            ["--email", "a@clinic.org", "--role", "king"],
            "error --role: 'king' is not allowed; allowed: 'physician'",
        ),
        (
            ["--email", "a@clinic.org", "--role", "physician", "--clinic", "nope"],
            "error --clinic: no clinic 'nope' in this registry; its clinics: ",
        ),
    ],
    ids=["email", "role", "clinic"],
)
def test_user_add_checks_its_options_before_asking_for_a_password(
    url: str, args: list[str], said: str
) -> None:
    before = _rows(url)
    done = bontrack("--db", url, "user", "add", *args)  # no terminal, no --password-stdin
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.startswith(said), done.stderr
    assert "--password-stdin" not in done.stderr
    assert _rows(url) == before


def test_user_add_with_good_options_still_asks_for_the_password(url: str) -> None:
    done = bontrack("--db", url, "user", "add", "--email", "a@clinic.org", "--role", "admin")
    assert done.returncode == 2
    assert done.stderr.startswith("error --password-stdin: no terminal to prompt on"), done.stderr
