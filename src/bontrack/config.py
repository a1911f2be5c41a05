"""Settings read from the command line and the environment (one place, one precedence)."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///bontrack.db"
DATABASE_ENV = "BONTRACK_DATABASE_URL"
ACTOR_ENV = "BONTRACK_ACTOR"


@dataclass
class Settings:
    """What the CLI's global options set: ``--db`` wins over the environment, then the default."""

    database_url: str | None = None
    actor: str | None = None

    def resolved_database_url(self) -> str:
        return self.database_url or os.environ.get(DATABASE_ENV) or DEFAULT_DATABASE_URL

    def resolved_actor(self) -> str:
        """Who is recorded in the audit log until users and log-in exist (auth comes later)."""
        if self.actor:
            return self.actor
        if os.environ.get(ACTOR_ENV):
            return os.environ[ACTOR_ENV]
        try:
            return f"cli:{getpass.getuser()}"
        except (KeyError, OSError):
            return "cli:unknown"


settings = Settings()
