"""Helpers of the FHIR facade's tests (the folder is not named ``fhir``: a package of that name
there would hide the ``fhir.resources`` package)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from web.conftest import Site


def check_resource(resource: dict[str, Any]) -> Any:
    """Validate one resource with fhir.resources' model of its type (raises when invalid)."""
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def all_entries(site: Site, role: str, path: str) -> list[dict[str, Any]]:
    """Every entry of a search, following the Bundle's next links to the end."""
    url: str | None = path
    entries: list[dict[str, Any]] = []
    while url is not None:
        response = site.client.get(url, headers=site.bearer(role))
        assert response.status_code == 200, response.text
        bundle = response.json()
        entries += bundle.get("entry", [])
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    return entries
