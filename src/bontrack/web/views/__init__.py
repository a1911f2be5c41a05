"""Server-rendered pages beyond log-in: one module per area, each a router."""

from __future__ import annotations

from fastapi import APIRouter

from bontrack.web.views import (
    account,
    adverse_event_form,
    chart,
    corrections,
    followup_form,
    home,
    injection_form,
    intake,
    patient_links,
    patients,
    record_forms,
    self_report,
    session_billing,
    stock,
    users,
    worklist,
)

ROUTERS: list[APIRouter] = [
    home.router,
    intake.router,  # before patients: /patients/new is not a patient id
    patients.router,
    chart.router,
    adverse_event_form.router,
    injection_form.router,
    session_billing.router,
    record_forms.router,
    followup_form.router,
    self_report.router,
    patient_links.router,
    worklist.router,
    corrections.router,
    users.router,
    account.router,
    stock.router,
]
