"""The house's shape, read from the source: no import cycles, and the composition root on top.

Every `import` and `from ... import` in service/ is read with `ast`, those inside functions
included (a lazy import is still a dependency), and the module graph is checked for cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parent.parent / "service"
ENTRY_POINTS = ("service.web", "service.cli", "service.scheduler", "service.demo", "service.bootstrap")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SERVICE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def service_modules() -> dict[str, Path]:
    return {module_name(p): p for p in SERVICE.rglob("*.py")}


def relative_origins() -> list[tuple[str, str]]:
    """(module, what it imports from) for every relative import: `from ..x.y import z` -> service.x.y."""
    found = []
    for name, path in service_modules().items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.append((name, ".".join([*base, node.module] if node.module else base)))
    return found


def import_graph() -> dict[str, set[str]]:
    modules = service_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")
                if node.level > 1:
                    base = base[: len(base) - node.level + 1]
                origin = (
                    ".".join([*base, node.module] if node.module else base) if node.level else node.module
                )
                # `from package import module` depends on the module; any other name on its module.
                targets = [f"{origin}.{alias.name}" for alias in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_of_the_service_imports_itself_through_others():
    assert cycles(import_graph()) == []


def test_every_relative_import_names_a_module_that_exists():
    # A lazy import inside a function fails only when it runs: a moved module must not leave one behind.
    modules = service_modules()
    assert [(name, origin) for name, origin in relative_origins() if origin not in modules] == []


def test_the_cycle_finder_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_entry_points_import_the_composition_root():
    importers = {name for name, targets in import_graph().items() if "service.bootstrap" in targets}
    assert {name for name in importers if not name.startswith(ENTRY_POINTS)} == set()


def test_the_domain_imports_nothing_of_the_service_outside_it():
    outside = {
        (name, target)
        for name, targets in import_graph().items()
        if name.startswith("service.domain")
        for target in targets
        if not target.startswith("service.domain")
    }
    assert outside == set()


def test_the_runtime_container_imports_no_service():
    assert {t for t in import_graph()["service.runtime"] if t.startswith("service.services")} == set()
