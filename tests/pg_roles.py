"""The README's PostgreSQL serving role, for tests that run as it (not as a superuser)."""

from __future__ import annotations

from pathlib import Path


def readme_grants(role: str = "bontrack_app") -> list[str]:
    """The grants the README gives the serving role on PostgreSQL, for ``role``."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    block = readme.split("CREATE ROLE bontrack_app", 1)[1].split("```", 1)[0]
    lines = [line.split("--")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    return [line.rstrip(";").replace("bontrack_app", role) for line in lines if line]
