"""FHIR R4 facade over the clinic-scoped services (fhir.resources models)."""
