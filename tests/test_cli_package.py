"""The CLI package's rules: settings built once and frozen; the core imports no Typer or Rich."""

from __future__ import annotations

import ast
from pathlib import Path

import pydantic
import pytest

from bontrack.config import Settings

SRC = Path(__file__).resolve().parents[1] / "src" / "bontrack"
CORE = ("knowledge", "clinical", "instruments", "analytics", "planning")


def test_settings__an_option_wins_over_the_environment_and_an_empty_one_falls_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BONTRACK_DATABASE_URL", "sqlite:///env.db")
    monkeypatch.setenv("BONTRACK_ACTOR", "env-actor")
    given = Settings.from_options(database_url="sqlite:///cli.db", actor="cli-actor")
    assert (given.resolved_database_url(), given.resolved_actor()) == ("sqlite:///cli.db", "cli-actor")
    left_out = Settings.from_options(database_url="", actor=None)
    assert (left_out.resolved_database_url(), left_out.resolved_actor()) == ("sqlite:///env.db", "env-actor")


def test_settings__cannot_be_changed_once_built() -> None:
    settings = Settings.from_options(database_url="sqlite:///a.db")
    with pytest.raises(pydantic.ValidationError):
        settings.database_url = "sqlite:///b.db"  # type: ignore[misc]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", CORE)
def test_core__imports_no_typer_and_no_rich(package: str) -> None:
    offending = {
        str(path.relative_to(SRC)): sorted(_imports(path) & {"typer", "rich", "click"})
        for path in sorted((SRC / package).rglob("*.py"))
    }
    assert {name: found for name, found in offending.items() if found} == {}
