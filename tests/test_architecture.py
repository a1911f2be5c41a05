"""The import rules of the house, checked from the source with ``ast`` (no module is imported).

- no import cycle between modules (an import of a module's own parent package does not count:
  Python imports the package first anyway);
- the core (knowledge, clinical, instruments, analytics, planning) imports no database, web, CLI
  or terminal library, and none of bontrack's storage, web or command-line modules;
- a domain imports no face (web, command line) and no ``reports``.

Every import counts: at the top, inside a function, or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "bontrack"

CORE = ("knowledge", "clinical", "instruments", "analytics", "planning")
DOMAINS = (
    "patients",
    "injections",
    "outcomes",
    "therapy",
    "screening",
    "assessments",
    "scheduling",
    "research",
)
DATABASE_AND_WEB = ("sqlalchemy", "alembic", "psycopg", "fastapi", "starlette", "uvicorn", "jinja2")
COMMAND_LINE = ("typer", "rich", "click")
STORAGE = ("storage", "db", "records", "bulk", "audit", "corrections", "correctable", "backup")
FACES = ("web", "cli", "registry_cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in (SRC / PACKAGE).rglob("*.py")}


@cache
def _imports(module: str) -> frozenset[str]:
    """Every module name ``module`` imports (absolute, relative resolved; names of submodules kept)."""
    path = _modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            submodules = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in _modules()}
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(base)
    return frozenset(found)


def _is_under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _ancestors(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        m: {i for i in _imports(m) if i in modules and i != m and i not in _ancestors(m)} for m in modules
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _violations(
    sources: tuple[str, ...], forbidden_outside: tuple[str, ...], forbidden_ours: tuple[str, ...]
) -> list[str]:
    """``module imports name`` for each import of a module under ``sources`` that is forbidden
    (``cli`` among ``forbidden_ours`` also means every ``bontrack.*.cli`` module)."""
    ours = tuple(f"{PACKAGE}.{p}" for p in forbidden_ours)
    any_cli = "cli" in forbidden_ours
    bad = []
    for module in sorted(_modules()):
        if not _is_under(module, tuple(f"{PACKAGE}.{s}" for s in sources)):
            continue
        for imported in sorted(_imports(module)):
            is_cli = imported.startswith(PACKAGE + ".") and imported.rpartition(".")[2] == "cli"
            if _is_under(imported, forbidden_outside) or _is_under(imported, ours) or (any_cli and is_cli):
                bad.append(f"{module} imports {imported}")
    return bad


def test_the_checker_finds_a_cycle_and_resolves_relative_imports() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert "bontrack.errors" in _imports("bontrack.records")


def test_no_import_cycle_between_modules() -> None:
    assert _cycles(_graph()) == []


def test_the_core_imports_no_database_or_web() -> None:
    assert _violations(CORE, DATABASE_AND_WEB, (*STORAGE, "web")) == []


def test_the_core_imports_no_command_line_or_terminal_code() -> None:
    assert _violations(CORE, COMMAND_LINE, FACES) == []


def test_domains_import_no_face_and_no_reports() -> None:
    assert _violations(DOMAINS, (), (*FACES, "reports")) == []


STORAGE_MAY_IMPORT = (
    "storage",
    "errors",
    "schemas",
    "dates",
    "clock",
    "actor",
    "audit.models",
)


def test_storage_imports_run_one_way() -> None:
    """bontrack.storage imports only itself and the leaves below it (no domain, face or report)."""
    allowed = tuple(f"{PACKAGE}.{p}" for p in STORAGE_MAY_IMPORT)
    bad = [
        f"{module} imports {imported}"
        for module in sorted(_modules())
        if _is_under(module, (f"{PACKAGE}.storage",))
        for imported in sorted(_imports(module))
        if imported.startswith(PACKAGE + ".") and not _is_under(imported, allowed)
    ]
    assert bad == []


def test_no_listener_on_sqlalchemys_global_session() -> None:
    """Session events are registered on bontrack's own session class (storage.unit.UnitOfWork)."""
    found = []
    for module, path in sorted(_modules().items()):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("listen", "listens_for"):
                target = node.args[0] if node.args else None
                if isinstance(target, ast.Name) and target.id == "Session":
                    found.append(f"{module}:{node.lineno}")
    assert found == []


def test_storage_imports_no_domain_face_or_report() -> None:
    """Named outright (the allow-list above already implies it): no domain, web, CLI or report."""
    assert _violations(("storage",), (), (*DOMAINS, *FACES, "reports", "kinds", "records")) == []


def test_no_import_cycle_within_storage() -> None:
    """Inside storage every import counts, a package's own ``__init__`` included."""
    modules = [m for m in _modules() if _is_under(m, (f"{PACKAGE}.storage",))]
    graph = {m: {i for i in _imports(m) if i in modules and i != m} for m in modules}
    assert _cycles(graph) == []


def test_engine_and_bulk_writing_live_in_storage() -> None:
    """No top-level db.py or bulk.py beside storage/ (their old import paths are gone)."""
    assert not {f"{PACKAGE}.db", f"{PACKAGE}.bulk"} & set(_modules())
    assert {f"{PACKAGE}.storage.engine", f"{PACKAGE}.storage.bulk", f"{PACKAGE}.storage.unit"} <= set(
        _modules()
    )


def test_records_and_audit_write_through_the_unit_of_work_not_a_writer_they_pick() -> None:
    """bontrack.records (and its look-ups, bontrack.record_lookups) never asks whether a bulk block
    is open (it calls the unit of work's writer); bontrack.audit only reads and queries the log
    (its writing is storage.audit_log)."""
    for module in (f"{PACKAGE}.records", f"{PACKAGE}.record_lookups", f"{PACKAGE}.corrections"):
        assert not {i for i in _imports(module) if _is_under(i, (f"{PACKAGE}.storage.bulk",))}, module
        source = _modules()[module].read_text(encoding="utf-8")
        assert "BulkWriter" not in source and "bulk_writer" not in source, module
    audit_writers = ("insert_many", "write_audit", "writer_of", "log")
    for module in sorted(m for m in _modules() if _is_under(m, (f"{PACKAGE}.audit",))):
        tree = ast.parse(_modules()[module].read_text(encoding="utf-8"))
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        imported = {
            a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names
        }
        assert not (defined | imported) & set(audit_writers), module


def test_session_events_are_registered_in_storage_on_the_unit_of_work_only() -> None:
    found = []
    for module, path in sorted(_modules().items()):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("listen", "listens_for"):
                target = node.args[0] if node.args else None
                name = target.id if isinstance(target, ast.Name) else None
                if name is not None and ("Session" in name or name == "UnitOfWork"):
                    found.append((module, name))
    assert found == [(f"{PACKAGE}.storage.unit", "UnitOfWork")]
