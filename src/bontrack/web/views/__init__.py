"""Server-rendered pages beyond log-in: one module per area, each a router."""

from __future__ import annotations

from fastapi import APIRouter

from bontrack.web.views import corrections, injection_form, patients, record_forms, self_report, worklist

ROUTERS: list[APIRouter] = [
    patients.router,
    injection_form.router,
    record_forms.router,
    self_report.router,
    worklist.router,
    corrections.router,
]
