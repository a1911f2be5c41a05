"""The PostgreSQL harness skips with a reason outside CI and fails under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_without_server(ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"BONTRACK_PG_BIN": "/nonexistent"}
    if ci is not None:
        env["CI"] = ci
    target = "tests/storage/test_db.py::test_open_engine__new_database_gets_current_schema"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "no:cacheprovider", target, "-m", "postgres"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_harness__missing_server_skips_with_reason_outside_ci() -> None:
    result = _run_without_server(ci=None)
    assert result.returncode == 0, result.stdout
    assert "SKIPPED" in result.stdout and "PostgreSQL server binaries not found" in result.stdout


def test_harness__missing_server_fails_under_ci() -> None:
    result = _run_without_server(ci="true")
    assert result.returncode != 0
    assert "CI=true needs PostgreSQL" in result.stdout
