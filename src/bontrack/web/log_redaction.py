"""Patients' link tokens never reach a log line.

A link (``/p/<token>``, ``/api/patient-link/<token>``) is the patient's credential for up to
days: whoever read it in a log could open the patient's forms and earlier measurements.
``bontrack serve`` installs ``RedactLinkTokens`` on uvicorn's loggers (the access log writes
every request's path); bontrack's own messages that name a path pass it through ``redact_path``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"
_TOKEN_IN_PATH = re.compile(r"(/api/patient-link/|/p/)[^/?#\s\"']+")


def redact_path(text: str) -> str:
    """The text with every link token in a path replaced by [redacted]."""
    return _TOKEN_IN_PATH.sub(lambda m: m.group(1) + REDACTED, text)


class RedactLinkTokens(logging.Filter):
    """Rewrites a log record's message and arguments so that no link token is left in them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_path(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redacted(v) for k, v in record.args.items()}
        return True


def _redacted(value: Any) -> Any:
    return redact_path(value) if isinstance(value, str) else value


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up with the redacting filter on every handler (the access log's
    included), so every worker process gets it."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_link_tokens"] = {"()": f"{__name__}.RedactLinkTokens"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_link_tokens")
    return config
