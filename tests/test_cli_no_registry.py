"""A SQLite registry file that does not exist (a mistyped --db) is refused by every command that
reads or changes a registry, naming --db and the commands that create one (exit 2), and no file
is created; the commands that create one (demo, import, db upgrade) still do, and one that fails
leaves no registry behind. Real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def bontrack(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bontrack", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        input=stdin,
    )


READERS = {
    "summary": ["summary"],
    "due": ["due"],
    "report": ["report", "--out", "{tmp}/r.html"],
    "export": ["export", "{tmp}/out.jsonl"],
    "export-csv": ["export", "--format", "csv", "{tmp}/csv"],
    "audit": ["audit"],
    "stock": ["stock"],
    "stock-waste": ["stock", "waste"],
    "recall": ["recall", "AB12"],
    "user-list": ["user", "list"],
    "user-add": ["user", "add", "--email", "a@clinic.org", "--role", "admin", "--password-stdin"],
    "demo-logins": ["user", "demo-logins"],
    "db-compact": ["db", "compact"],
    "fhir-import": ["fhir", "import", "{tmp}/bundle.json"],
    "stock-receive": [
        "stock",
        "receive",
        "--product",
        "botox",
        "--lot",
        "AB12",
        "--expiry",
        "2027-03-20",
        "--vial-units",
        "100",
        "--count",
        "3",
        "--supplier",
        "McKesson",
    ],
}


@pytest.mark.parametrize("command", list(READERS.values()), ids=list(READERS))
def test_a_missing_registry_is_refused_and_not_created(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "typo.db"
    (tmp_path / "bundle.json").write_text('{"resourceType": "Bundle", "type": "transaction", "entry": []}')
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    done = bontrack("--db", f"sqlite:///{typo}", *args, stdin="a long enough pass phrase 42\n" * 2)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.lstrip().startswith(
        f"error --db: no registry at {typo}; `bontrack db upgrade` creates"
    ), done.stderr
    assert "`bontrack demo`" in done.stderr and "`bontrack import FILE`" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.json"]  # nothing written


def test_serve_refuses_a_missing_registry(tmp_path: Path) -> None:
    typo = tmp_path / "typo.db"
    done = bontrack("--db", f"sqlite:///{typo}", "serve", "--port", "1")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.lstrip().startswith(f"error --db: no registry at {typo};"), done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_failed_import_leaves_no_registry_behind(tmp_path: Path) -> None:
    new = tmp_path / "new.db"
    missing = bontrack("--db", f"sqlite:///{new}", "import", str(tmp_path / "nonexist.jsonl"))
    assert missing.returncode == 2, missing.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "clinic_v2", "id": "x", "version": 1}\n')
    refused = bontrack("--db", f"sqlite:///{new}", "import", str(bad))
    assert refused.returncode == 2, refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]  # no registry, no side files


def test_the_creating_commands_still_create(tmp_path: Path) -> None:
    upgraded = tmp_path / "upgraded.db"
    done = bontrack("--db", f"sqlite:///{upgraded}", "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert upgraded.exists()
    listed = bontrack("--db", f"sqlite:///{upgraded}", "summary")  # an empty registry is a registry
    assert listed.returncode == 0, listed.stderr
    demo = tmp_path / "demo.db"
    made = bontrack("--db", f"sqlite:///{demo}", "demo", "--if-empty", "--patients", "2")  # `make run`
    assert made.returncode == 0, made.stderr
    logins = bontrack("--db", f"sqlite:///{demo}", "user", "demo-logins")
    assert logins.returncode == 0, logins.stderr
