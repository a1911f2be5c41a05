"""Query parameters an address does not take are refused (400 naming them), not ignored: a
``?date=2026-01-01`` on the worklist page (or on ``/api/report``, before it took one) looked like a
worklist or a report of that day and was today's. Every API route, and the pages whose address a
person edits for what they show (the worklist, the report, the audit log), take only the parameters
they declare.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from bontrack.errors import FieldError, InputError

PAGES = frozenset({"/worklist", "/report", "/audit"})  # pages whose query a person edits (filters, days)
_declared: dict[int, frozenset[str]] = {}  # by route: the names its handler and dependencies read


def _names(dependant: Any) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _names(sub)
    return names


def declared(route: Any) -> frozenset[str]:
    """The query parameters a route reads (its handler's and its dependencies')."""
    found = _declared.get(id(route))
    if found is None:
        found = _declared[id(route)] = frozenset(_names(route.dependant))
    return found


async def only_declared(request: Request) -> None:
    """The app's dependency: an API route or one of PAGES given a query parameter it does not
    read is a 400 naming each (the page: in words, the API: problem+json by field)."""
    path = request.url.path
    route = request.scope.get("route")
    if route is None or not (path.startswith("/api/") or path in PAGES) or not request.query_params:
        return
    allowed = declared(route)
    unknown = sorted({name for name in request.query_params if name not in allowed})
    if not unknown:
        return
    takes = ", ".join(sorted(allowed)) if allowed else "no parameters"
    if path in PAGES:
        from bontrack.web.views.common import PageProblem

        what = " or ".join(f"“{name}”" for name in unknown)
        raise PageProblem(
            400, "Cannot do this", f"This page's address does not take {what}; it takes {takes}."
        )
    raise InputError(
        [FieldError(name, f"is not a query parameter of {path}; allowed: {takes}") for name in unknown]
    )
