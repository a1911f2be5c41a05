"""Search: results of checked queries (``bontrack.fhir.search_params``) read, filtered, paged
(``_count``, ``_offset``, with self/first/previous/next/last links), ``_include``d, and
de-identified for researchers; answered as a ``searchset`` Bundle."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from bontrack.errors import NotFoundError
from bontrack.fhir.deidentify import Deidentifier
from bontrack.fhir.mapping import Resource, validate
from bontrack.fhir.outcome import FhirError, Issue, shown
from bontrack.fhir.search_params import INCLUDES, Query, keep, parse, reference_id
from bontrack.fhir.sources import PATIENT_TYPES, Reader


class Searcher:
    """Searches, reads and $everything for one request."""

    def __init__(self, reader: Reader, base_url: str, deidentifier: Deidentifier | None) -> None:
        self.reader = reader
        self.base = base_url.rstrip("/")
        self.deid = deidentifier

    # --- reading ---
    def read(self, resource_type: str, rid: str) -> Resource:
        if self.deid is not None:
            self.deid.refuse(resource_type)
            found = [r for r in self._all(parse(resource_type, [("_id", rid)])) if r["id"] == rid]
            if not found:
                raise NotFoundError.one("id", f"no {resource_type} {shown(rid)}")
            return validate(found[0])
        return validate(self.reader.read(resource_type, rid))

    # --- searching ---
    def search(self, q: Query, path: str) -> Resource:
        if q.resource_type == "AuditEvent":
            return self._audit_search(q, path)
        self._refuse_last_updated(q)
        matches = [r for r in self._all(q) if keep(q, r)]
        page = matches[q.offset : q.offset + q.count]
        included = self._included(q, page)
        return self.bundle(q, path, len(matches), page, included)

    def everything(self, patient_id: str, q: Query, path: str) -> Resource:
        """Patient/$everything: the patient, their records, and the practitioners and clinic cited."""
        self._refuse_last_updated(q)
        if self.deid is not None:
            patient_id = self._real_patient_id(patient_id)
        patient = self.reader.read("Patient", patient_id)
        found = [patient]
        for t in PATIENT_TYPES:
            found += self.reader.compartment(patient_id, t)
        found += self._referenced(found, ("Practitioner", "Organization"))
        # filtered as the user sees them: a researcher's dates are years (no exact-date oracle)
        found = [r for r in map(self._out, found) if keep(q, r)]
        page = found[q.offset : q.offset + q.count]
        return self.bundle(q, path, len(found), page, [])

    def _refuse_last_updated(self, q: Query) -> None:
        """De-identified resources carry no meta (the times they were saved are exact dates):
        ``_lastUpdated`` is refused for researchers rather than silently matching nothing."""
        if self.deid is not None and q.values("_lastUpdated"):
            raise FhirError(
                400,
                [
                    Issue(
                        "_lastUpdated cannot be searched on de-identified data: it carries no times "
                        "of saving (dates are given to the year only)",
                        "not-supported",
                        "_lastUpdated",
                    )
                ],
            )

    def _real_patient_id(self, given: str) -> str:
        assert self.deid is not None
        for p in self.reader.patients():
            if self.deid.pseudonym(p.id) == given:
                return p.id
        raise NotFoundError.one("id", f"no Patient {shown(given)}")

    def _out(self, resource: Resource) -> Resource:
        return self.deid.resource(resource) if self.deid is not None else resource

    def _patient_ids(self, q: Query) -> list[str] | None:
        wanted = q.values("patient") + q.values("subject")
        if not wanted:
            return None
        ids = [reference_id(v, "Patient") for v in wanted]
        if self.deid is not None:
            real = {self.deid.pseudonym(p.id): p.id for p in self.reader.patients()}
            return [real[i] for i in ids if i in real]
        return ids

    def _all(self, q: Query) -> list[Resource]:
        """Every resource of the query's type the user sees, narrowed by patient where asked."""
        t = q.resource_type
        r = self.reader
        found: list[Resource]
        if self.deid is not None and t == "Patient" and (q.value("name") or q.value("identifier")):
            raise FhirError(
                403, [Issue("de-identified data cannot be searched by name or identifier", "forbidden")]
            )
        if t == "Patient":
            from bontrack.fhir.mapping.people import patient

            name, ident = q.value("name"), q.value("identifier")
            narrow = ident.rpartition("|")[2] if ident else name
            if self.deid is not None:
                narrow = None  # names and identifiers are not searchable de-identified
            found = [patient(p) for p in r.patients(search=narrow)]
        elif t in PATIENT_TYPES:
            ids = self._patient_ids(q)
            if ids is None:
                ids = [p.id for p in r.patients()]
            found = []
            for pid in ids:
                try:
                    found += r.compartment(pid, t)
                except NotFoundError:
                    continue
        elif t == "Practitioner":
            found = r.clinicians()
        elif t == "Organization":
            found = r.clinics()
        elif t == "Questionnaire":
            found = r.questionnaires()
        else:
            raise ValueError(t)
        if self.deid is not None:
            found = [self.deid.resource(x) for x in found]
        return found

    def _audit_search(self, q: Query, path: str) -> Resource:
        if self.deid is not None:
            self.deid.refuse("AuditEvent")
        if q.values("_lastUpdated"):
            raise FhirError(
                400,
                [
                    Issue(
                        "_lastUpdated is not supported for AuditEvent (an entry is never updated)",
                        "not-supported",
                        "_lastUpdated",
                    )
                ],
            )
        if q.values("_id"):  # filtered before paging: the total counts the matches
            wanted = [set(v.split(",")) for v in q.values("_id")]
            # an AuditEvent's id is its entry's seq: newest first, as the pages are
            ids = sorted((i for i in set.intersection(*wanted) if i.isdigit() and len(i) <= 18), key=int)[
                ::-1
            ]
            matches = [e for e in map(self.reader.audit_event, ids) if e is not None]
            page = matches[q.offset : q.offset + q.count]
            return self.bundle(q, path, len(matches), page, [])
        total, page = self.reader.audit_events(limit=q.count, offset=q.offset)
        return self.bundle(q, path, total, page, [])

    # --- _include ---
    def _included(self, q: Query, page: list[Resource]) -> list[Resource]:
        refs: dict[str, None] = {}
        for source, param in q.includes:
            for resource in page:
                for reference in _references(resource, INCLUDES[(source, param)]):
                    refs[reference] = None
        out: list[Resource] = []
        for reference in refs:
            rtype, _, rid = reference.partition("/")
            try:
                out.append(self.read(rtype, rid))
            except NotFoundError:
                continue
        return out

    def _referenced(self, found: list[Resource], types: tuple[str, ...]) -> list[Resource]:
        refs: dict[str, None] = {}
        for resource in found:
            _walk_references(resource, refs)
        out = []
        for reference in refs:
            rtype, _, rid = reference.partition("/")
            if rtype in types:
                try:
                    out.append(self.reader.read(rtype, rid))
                except NotFoundError:
                    continue
        return out

    # --- the Bundle ---
    def bundle(
        self, q: Query, path: str, total: int, page: list[Resource], included: list[Resource]
    ) -> Resource:
        entries = [
            {
                "fullUrl": f"{self.base}/{r['resourceType']}/{r['id']}",
                "resource": validate(r),
                "search": {"mode": "match"},
            }
            for r in page
        ]
        entries += [
            {
                "fullUrl": f"{self.base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "include"},
            }
            for r in included
        ]
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": self._links(q, path, total),
            "entry": entries,
        }

    def _links(self, q: Query, path: str, total: int) -> list[dict[str, str]]:
        kept = [(k, v) for k, v in q.params if k not in ("_offset", "_count")]

        def url(offset: int) -> str:
            return f"{self.base}{path}?" + urlencode(
                [*kept, ("_count", str(q.count)), ("_offset", str(offset))]
            )

        links = [{"relation": "self", "url": url(q.offset)}, {"relation": "first", "url": url(0)}]
        if q.count > 0:
            if q.offset + q.count < total:
                links.append({"relation": "next", "url": url(q.offset + q.count)})
            if q.offset > 0:
                links.append({"relation": "previous", "url": url(max(0, q.offset - q.count))})
            last = max(0, (total - 1) // q.count * q.count) if total else 0
            links.append({"relation": "last", "url": url(last)})
        return links


def _references(resource: Resource, path: str) -> list[str]:
    nodes: list[Any] = [resource]
    for part in path.split("."):
        nxt: list[Any] = []
        for node in nodes:
            value = node.get(part) if isinstance(node, dict) else None
            if isinstance(value, list):
                nxt += value
            elif value is not None:
                nxt.append(value)
        nodes = nxt
    return [n["reference"] for n in nodes if isinstance(n, dict) and "reference" in n]


def _walk_references(node: Any, into: dict[str, None]) -> None:
    if isinstance(node, dict):
        reference = node.get("reference")
        if isinstance(reference, str) and not reference.startswith("#"):
            into[reference] = None
        for value in node.values():
            _walk_references(value, into)
    elif isinstance(node, list):
        for value in node:
            _walk_references(value, into)


__all__ = ["INCLUDES", "Query", "Searcher", "parse"]
