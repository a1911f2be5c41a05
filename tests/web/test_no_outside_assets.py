"""No outside assets (issue 14, item 9): every page, /docs included, loads its scripts, styles and
images from bontrack itself, so the app works on a clinic network without the internet."""

from __future__ import annotations

import re

from web.conftest import Site, log_in

# an asset the browser fetches by itself: src=, <link href=>, CSS url(), @import
ASSET = re.compile(
    r"""(?:\bsrc\s*=\s*|<link\b[^>]*\bhref\s*=\s*|url\(\s*|@import\s+)["']?([^"')\s>]+)""", re.I
)
OUTSIDE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)


def _assets(text: str) -> list[str]:
    return [found for found in ASSET.findall(text) if not found.startswith(("data:", "#"))]


def _check(site: Site, path: str) -> list[str]:
    """The page's own assets, each fetched: none outside the app, each served."""
    response = site.client.get(path, headers={"accept": "text/html"})
    assert response.status_code in (200, 404), (path, response.status_code)
    assets = _assets(response.text)
    outside = [a for a in assets if OUTSIDE.match(a) and not a.startswith("http://testserver/")]
    assert not outside, f"{path} loads from outside the app: {outside}"
    for asset in assets:
        served = site.client.get(asset)
        assert served.status_code == 200, (path, asset)
        if asset.split("?")[0].endswith(".css"):
            inner = [a for a in _assets(served.text) if OUTSIDE.match(a)]
            assert not inner, f"{asset} loads from outside the app: {inner}"
    return assets


def test_docs__swagger_ui_served_by_bontrack(site: Site) -> None:
    log_in(site, "physician")
    assets = _check(site, "/docs")
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith("swagger-ui.css") for a in assets)
    policy = site.client.get("/docs").headers["content-security-policy"]
    assert "http" not in policy and "script-src 'self';" in policy  # no CDN, no inline script
    assert site.client.get("/openapi.json").status_code == 200


def test_pages__no_asset_from_outside(site: Site) -> None:
    patient = site.world.patient_id
    _check(site, "/login")
    log_in(site, "physician")
    for path in (
        "/",
        "/patients",
        "/patients/new",
        f"/patients/{patient}",
        f"/patients/{patient}/sessions/new",
        f"/patients/{patient}/outcomes/new",
        "/worklist",
        "/no/such/page",
    ):
        assert _check(site, path), f"{path} has no stylesheet"
    _check(site, "/report")  # its style is inline (the same HTML as the PDF): checked all the same
