"""The stock page (lots by product and expiry), its forms (a delivery received, unopened vials
discarded) and the recall of a lot (every patient given it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bontrack.knowledge import load_knowledge
from bontrack.schemas import parse
from bontrack.stock.kind import STOCK_RECEIPT, VIAL_DISCARD
from bontrack.stock.schemas import DiscardRequest, StockReceiptCreate
from bontrack.stock.service import (
    discard_vials,
    expiry_warning_days,
    recall,
    receive_vials,
    same_lot,
    stock_on_hand,
)
from bontrack.web.deps import READ_CLINICAL, NowDep, PageUser, Principal, SessionDep
from bontrack.web.views.common import FormItems, allow, check_csrf, csrf_of, page, save

router = APIRouter(include_in_schema=False)


def _products() -> list[tuple[str, str]]:
    """(product id, its name and the vial sizes it comes in), for the delivery form."""
    out = []
    for pid, p in load_knowledge().files.products.items():
        each = [f"{v.units:g}" for v in p.vials]
        sizes = f"{', '.join(each[:-1])} or {each[-1]}" if len(each) > 1 else each[0]
        out.append((pid, f"{p.display_name}: {sizes} U vials"))
    return out


@router.get("/stock", response_class=HTMLResponse)
def stock_page(request: Request, db: SessionDep, principal: PageUser, at: NowDep) -> Response:
    """The clinic's toxin stock by product and expiry, lots expiring soon flagged; a recall search."""
    allow(request, principal, READ_CLINICAL)
    today = at.date()
    lines = stock_on_hand(db=db, actor=principal.actor, on=today)
    saved = request.query_params.get("saved")
    received = request.query_params.get("lot", "") if saved == "delivery" else ""
    expired = [x for x in lines if x.expired and received and same_lot(x.lot, received)]
    return page(
        request,
        principal,
        "stock.html",
        lines=lines,
        today=today,
        warn_days=expiry_warning_days(),
        saved=saved,
        expired_delivery=expired[0] if expired else None,
        may_write=principal.role in STOCK_RECEIPT.write_roles,
    )


@router.get("/stock/recall", response_class=HTMLResponse)
def recall_page(
    request: Request,
    db: SessionDep,
    principal: PageUser,
    lot: Annotated[str, Query(min_length=1, max_length=64)],
) -> Response:
    """Every patient and session given a lot, with contact details (audited)."""
    allow(request, principal, READ_CLINICAL)
    found = recall(db=db, actor=principal.actor, lot=lot)
    return page(request, principal, "recall.html", found=found)


# ---- a delivery received, vials discarded -----------------------------------------------------


# the labels these forms show (others' templates label the same fields differently)
LABELS = {"vial_count": "Number of vials", "vial_units": "Units per vial", "lot": "Lot number"}


def _fields(items: list[tuple[str, str]]) -> dict[str, Any]:
    return {k: v.strip() for k, v in items if k != "csrf_token"}


def _receipt_form(
    request: Request, principal: Principal, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    return page(
        request,
        principal,
        "stock_receive.html",
        status=status,
        values=values,
        errors=errors,
        products=_products(),
    )


@router.get("/stock/receive", response_class=HTMLResponse)
def receive_form(request: Request, principal: PageUser, at: NowDep) -> Response:
    """The form for a delivery of vials of one lot (the day defaults to today)."""
    allow(request, principal, STOCK_RECEIPT.write_roles)
    return _receipt_form(request, principal, {"received_on": at.date().isoformat()}, {})


@router.post("/stock/receive", response_class=HTMLResponse)
def receive_post(request: Request, db: SessionDep, principal: PageUser, items: FormItems) -> Response:
    """Save the delivery all or nothing, back to the stock page; or the form again with its errors."""
    allow(request, principal, STOCK_RECEIPT.write_roles)
    return _save_form(
        request,
        db,
        principal,
        items,
        lambda values: receive_vials(db=db, actor=principal.actor, data=parse(StockReceiptCreate, values)),
        saved=lambda values: urlencode({"saved": "delivery", "lot": values.get("lot", "")}),
        again=_receipt_form,
    )


def _save_form(
    request: Request,
    db: Session,
    principal: Principal,
    items: list[tuple[str, str]],
    write: Callable[[dict[str, Any]], object],
    *,
    saved: str | Callable[[dict[str, Any]], str],
    again: Callable[[Request, Principal, dict[str, Any], dict[str, str], int], Response],
) -> Response:
    """A stock form's post: the write all or nothing, then back to the stock page saying what was
    saved; or the form ``again`` with its errors in words, nothing saved."""
    check_csrf(request, principal, csrf_of(items))
    values = _fields(items)
    done, errors, status = save(db, lambda: write(values), LABELS)
    if done is not None:
        return RedirectResponse(f"/stock?{saved(values) if callable(saved) else 'saved=' + saved}", 303)
    return again(request, principal, values, errors, status)


def _discard_form(
    request: Request, principal: Principal, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    return page(request, principal, "stock_discard.html", status=status, values=values, errors=errors)


@router.get("/stock/discard", response_class=HTMLResponse)
def discard_form(
    request: Request,
    principal: PageUser,
    at: NowDep,
    lot: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The form to record unopened vials of a lot thrown away, with the reason."""
    allow(request, principal, VIAL_DISCARD.write_roles)
    return _discard_form(request, principal, {"lot": lot, "discarded_on": at.date().isoformat()}, {})


@router.post("/stock/discard", response_class=HTMLResponse)
def discard_post(request: Request, db: SessionDep, principal: PageUser, items: FormItems) -> Response:
    """Save the discard (never more vials than are left), back to the stock page; or the form again."""
    allow(request, principal, VIAL_DISCARD.write_roles)
    return _save_form(
        request,
        db,
        principal,
        items,
        lambda values: discard_vials(db=db, actor=principal.actor, data=parse(DiscardRequest, values)),
        saved="discard",
        again=_discard_form,
    )
