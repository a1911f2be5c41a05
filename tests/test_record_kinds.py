"""The one registry of record kinds: everything built from it covers every kind, each kind is
declared by its domain, and no other module keeps a list of kinds of its own.

This is what makes "adding a record type = one domain package + one registry line" true (see the
README's development section): a new kind in ``bontrack.kinds.KINDS`` gets its API routes, its
history and withdrawal pages, its timeline list, its export and import; its correction page needs
its form spec, and the test below names the kind that has none.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from fastapi.routing import APIRoute

from bontrack.kinds import BY_NAME, CORRECTABLE, KINDS, TIMELINE
from bontrack.web.api import corrections as api
from bontrack.web.views import corrections as pages
from bontrack.web.views.correction_specs import FORMS

SRC = Path(__file__).resolve().parents[1] / "src" / "bontrack"
NAMES = {k.name for k in KINDS}
# the registry itself, and each domain's declaration of its own kinds
ALLOWED = {SRC / "kinds.py", *(SRC.glob("*/kind.py"))}
# kept on purpose: the demo generator's own names for what it draws (its word for a session is
# "session"); it writes each through the kind's create service, one generator step per kind
EXEMPT = {SRC / "synth" / "items.py"}


def _routes(router: object) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in getattr(router, "routes", [])
        if isinstance(route, APIRoute)
        for method in route.methods
    }


def test_every_correctable_kind_has_its_api_routes() -> None:
    routes = _routes(api.router)
    for kind in CORRECTABLE.values():
        at = f"/api/{kind.collection}/{{{kind.id_param}}}"
        assert {("PUT", at), ("POST", f"{at}/withdraw"), ("GET", f"{at}/history")} <= routes, kind.name


def test_the_api_has_no_correction_routes_but_the_registrys() -> None:
    collections = {f"/api/{k.collection}/" for k in CORRECTABLE.values()}
    for method, path in _routes(api.router):
        if method in ("PUT", "POST") or path.endswith("/history"):
            assert any(path.startswith(c) for c in collections), path


def test_every_correctable_kind_has_a_correction_page_and_its_pages() -> None:
    assert set(FORMS) == set(CORRECTABLE)
    for name, form in FORMS.items():
        assert form.kind is CORRECTABLE[name]
    at = "/patients/{patient_id}/records/{kind}/{record_id}"
    assert {
        ("GET", f"{at}/correct"),
        ("POST", f"{at}/correct"),
        ("GET", f"{at}/withdraw"),
        ("POST", f"{at}/withdraw"),
        ("GET", f"{at}/history"),
    } <= _routes(pages.router)


def test_each_kind_is_declared_by_its_domain_and_corrected_by_its_service() -> None:
    for kind in KINDS:
        assert kind.row.record_type == kind.name  # the audit log's name is the kind's
        domain = kind.row.__module__.rpartition(".")[0]
        declared = [m for m in ALLOWED if m.parent.name == domain.rpartition(".")[2]]
        assert declared, f"{kind.name}: no {domain}.kind module"
        if kind.correctable:
            update = kind.updater()
            assert update.__module__ == f"{domain}.service", kind.name
            assert kind.id_param in inspect.signature(update).parameters, kind.name


def test_references_name_kinds_listed_before() -> None:
    for i, kind in enumerate(KINDS):
        for _field, target in kind.references:
            assert KINDS.index(BY_NAME[target]) < i, (kind.name, target)
    assert all(kind.dated_by for kind in TIMELINE.values())


def _kind_lists(path: Path, root: Path = SRC) -> list[str]:
    """Literal collections (tuple, list, set, dict keys) naming three kinds or more, and string
    comparisons with a kind name, in one module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        items: list[ast.expr | None] = []
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = list(node.elts)
        elif isinstance(node, ast.Dict):
            items = list(node.keys)
        named = {i.value for i in items if isinstance(i, ast.Constant) and i.value in NAMES}
        if len(named) >= 3:
            found.append(f"{path.relative_to(root)}:{node.lineno} lists {sorted(named)}")
    return found


def test_no_other_module_keeps_its_own_list_of_kinds() -> None:
    found = [
        f for path in sorted(SRC.rglob("*.py")) if path not in ALLOWED | EXEMPT for f in _kind_lists(path)
    ]
    assert found == []


def test_the_checker_finds_a_list_of_kinds(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('LISTS = {"patient": 1, "episode": 2, "outcome": 3}\nOK = ("patient", "x")\n')
    found = _kind_lists(module, tmp_path)
    assert len(found) == 1 and "outcome" in found[0]


def test_the_generic_correction_view_names_no_kind() -> None:
    """web/views/corrections.py decides nothing by a kind's name: what differs is in the kinds and
    in the form specs."""
    tree = ast.parse(Path(pages.__file__).read_text(encoding="utf-8"))
    named = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in NAMES
    ]
    assert named == []
    assert "_form" not in {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
