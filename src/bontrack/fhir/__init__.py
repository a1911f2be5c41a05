"""FHIR R4 facade at /fhir: bontrack's records as FHIR resources, read through the clinic-scoped
services (so a user sees exactly what the API shows them, and every read is audited).

Resources are built as plain JSON and validated with ``fhir.resources`` (its R4B models: the
package ships no R4 4.0.1 models that work with pydantic 2; every element used here has the same
shape in R4 and R4B). Layout: ``router`` (read, search, $everything, metadata, $export routes),
``outcome`` (content type, OperationOutcome errors), ``codes`` (code systems and the knowledge
file's codes), ``mapping`` (records -> resources), ``search_params`` (parameters, filters),
``search``, ``bulk``, ``capability``. Import from the EHR: ``import_routes``, ``importing``
(Bundle and Patients) and ``import_clinical`` (Conditions, medicines, allergies) make a plan,
``import_roles`` checks it against the user's write roles, ``import_writes`` records it.
"""
