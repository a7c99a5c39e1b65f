"""No import circles in any source root, imports inside functions included.

A lazy import hides a circle from the interpreter but not from a reader: the
folders are meant to tell one direction (HTTP -> tenant -> auth -> service ->
repository -> events -> tasks, search, plugins), so a module that needs one
below it and is needed by it is a design fault, whatever the import timing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SOURCE_PACKAGES = {
    "xinfang": REPO_ROOT / "platform" / "xinfang",
    "xinfang_search": REPO_ROOT / "search" / "xinfang_search",
    "xinfang_activity": REPO_ROOT / "plugins" / "xinfang_activity",
    "xinfang_filesender": REPO_ROOT / "plugins" / "xinfang_filesender",
}


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """module -> the modules of ``package`` it imports anywhere in its text (relative imports resolved)."""
    modules: dict[str, tuple[Path, bool]] = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    graph = {}
    for name, (path, is_package) in modules.items():
        here = name.split(".") if is_package else name.split(".")[:-1]
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                anchor = here[: len(here) - node.level + 1] if node.level else []
                module = ".".join(anchor + ([node.module] if node.module else []))
                targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    imported.add(target)
        graph[name] = imported
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for following in sorted(graph[module]):
            if following not in index:
                visit(following)
                low[module] = min(low[module], low[following])
            elif following in stack:
                low[module] = min(low[module], index[following])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_scan_sees_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_the_scan_sees_lazy_and_relative_imports():
    graph = import_graph(SOURCE_PACKAGES["xinfang"], "xinfang")
    assert "xinfang.plugins" in graph["xinfang.worker"]  # `from .plugins import ...` inside a method
    assert "xinfang.worker" in graph["xinfang.app"]


@pytest.mark.parametrize("package", sorted(SOURCE_PACKAGES))
def test_no_import_circles(package):
    assert circles(import_graph(SOURCE_PACKAGES[package], package)) == []
