"""One way to write a product and a dose on every page: the knowledge base's display name
("onabotulinumtoxinA (Botox)") and units as the engine's messages write them ("120", "12.5",
"10,000": no trailing ".0", no exponent)."""

from __future__ import annotations

from typing import Any

from bontrack.clinical.findings import number
from bontrack.knowledge import load_knowledge


def product(product_id: str) -> str:
    """The product's display name (an id the knowledge base does not know: as stored)."""
    return load_knowledge().product_name(product_id)


def units(value: float) -> str:
    """Units (or any dose) in words: "120", "12.5", "10,000"."""
    return number(value)


def session_words(session: Any) -> str:
    """A session in a picker or on a plot: "2026-03-02 · onabotulinumtoxinA (Botox) 120 U"."""
    data = session.data
    return f"{data.date} · {product(data.product)} {units(data.total_units)} U"
