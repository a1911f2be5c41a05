"""One way to write a product and a dose on every page: the knowledge base's display name
("onabotulinumtoxinA (Botox)") and units as the engine's messages write them ("120", "12.5",
"10,000": no trailing ".0", no exponent); an e-mail address kept whole up to its "@"."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape

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


# a phone or record number, or an e-mail's part before the "@", up to this long is never broken
KEPT_WHOLE = 24


def whole(text: object) -> Markup:
    """A short value on one line: a phone number ("+1 202 555 0147", not "+1 202 555" then "0147"),
    a record number ("SYN-000047", not "SYN-" then "000047"); one longer than ``KEPT_WHOLE`` may
    break (anything an imported registry holds still fits its column)."""
    if len(str(text)) > KEPT_WHOLE:
        return Markup(escape(text))
    return Markup('<span class="nowrap">{}</span>').format(text)


def email(address: str) -> Markup:
    """An e-mail address that a narrow column breaks only before its "@" ("syn-000035" whole,
    not "syn-" then "000035@example.org"); a longer name than ``KEPT_WHOLE`` may break anywhere."""
    name, at, domain = address.rpartition("@")
    if not at or not name or len(name) > KEPT_WHOLE:
        return Markup(escape(address))
    return Markup('<span class="nowrap">{}</span><wbr>@{}').format(name, domain)


_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def dates_whole(text: object) -> Markup:
    """Text (escaped, or Markup as it is) with each date on one line ("began 2026-10-05", not
    "began 2026-" then "10-05")."""
    return Markup(_DATE.sub(r'<span class="nowrap">\g<0></span>', str(escape(text))))
