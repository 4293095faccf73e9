"""The product's import graph has no cycles, and its layers import downwards only.

Read from the source with `ast` (nothing is imported), so the rules hold whatever is installed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("server", "webapp", "metamodel", "panns", "bench")


def _modules() -> dict[str, Path]:
    found = {}
    # Every top-level module but the settings template and a developer's own config.py.
    files = [path for path in sorted(ROOT.glob("*.py")) if path.name not in ("config.example.py", "config.py")]
    for package in PACKAGES:
        files += sorted((ROOT / package).rglob("*.py"))
    for path in files:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, *, inside_functions: bool) -> set[str]:
    """First-party modules that `module` imports (at module level, or also inside functions)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not inside_functions:
                continue
            if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
                continue  # annotations only: never executed
            if isinstance(node, ast.Import):
                found.update(filter(None, (_resolve(alias.name) for alias in node.names)))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(parts + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    target = full if full in MODULES else _resolve(base)
                    if target:
                        found.add(target)
            for field in ("body", "orelse", "finalbody"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    visit(children)
            for handler in getattr(node, "handlers", []):
                visit(handler.body)

    visit(ast.parse(path.read_text()).body)
    found.discard(module)
    return found


def _cycles(inside_functions: bool) -> list[list[str]]:
    graph = {m: _imports(m, inside_functions=inside_functions) for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def connect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            connect(module)
    return cycles


def test_no_module_imports_itself_back_at_import_time():
    assert _cycles(inside_functions=False) == []


def test_storage_backends_never_import_the_storage_factory():
    for module in MODULES:
        if module.startswith("server.storage_"):
            assert "server.storage" not in _imports(module, inside_functions=True), module


def test_the_streams_app_never_imports_the_feedback_app():
    # feedback is about streams' highlights; streams reads the owner's threshold by relation name.
    for module in MODULES:
        if module.startswith("webapp.streams"):
            wrong = {m for m in _imports(module, inside_functions=True) if m.startswith("webapp.feedback")}
            assert not wrong, f"{module} imports {wrong}"


def test_metamodel_imports_the_server_only_inside_the_command_that_analyses_recordings():
    for module in MODULES:
        if module.startswith("metamodel"):
            wrong = {m for m in _imports(module, inside_functions=False) if m.startswith("server")}
            assert not wrong, f"{module} imports {wrong} at module level"
