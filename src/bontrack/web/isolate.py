"""Text a person entered, among other words on a page: isolated in ``<bdi>``, so what it holds
(right-to-left text, or a stored U+202E that reverses everything after it) turns only itself,
not the rest of the line (``Markup("{} ({})").format(isolated(event), severity)``: the
program's words escaped, the entered ones isolated). The input schemas refuse control
characters, but not the bidirectional ones (Arabic and Hebrew text needs them), and a registry
imported from elsewhere holds anything."""

from __future__ import annotations

from markupsafe import Markup


def isolated(value: object) -> Markup:
    """``<bdi>value</bdi>``, the value escaped (the templates' ``| bdi`` filter)."""
    return Markup("<bdi>{}</bdi>").format("" if value is None else value)


def joined(values: list[str], separator: str = ", ") -> Markup:
    """Entered values, each isolated, joined."""
    return Markup.escape(separator).join(isolated(v) for v in values)
