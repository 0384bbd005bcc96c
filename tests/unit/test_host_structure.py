"""The host's import structure: no circle among its modules (type-only and function-local
imports counted too: a circle is one for a reader whatever Python does at run time), and no
import from the rest of the product (the host knows nothing about failover; ``failover/scripts/``
starts the failover scripts in it)."""

from __future__ import annotations

import ast
from pathlib import Path

HOST = Path(__file__).resolve().parents[2] / "failover" / "host"
PACKAGE = "failover.host"


def imports(path: Path) -> set[str]:
    """Absolute names of what the module imports: ``from .x import y`` gives ``failover.host.x``
    (or ``failover.host.x.y``, filtered to modules later)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = PACKAGE.split(".")[: len(PACKAGE.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names |= {f"{module}.{a.name}" for a in node.names}
    return names


def graph() -> dict[str, set[str]]:
    modules = {f"{PACKAGE}.{p.stem}": p for p in HOST.glob("*.py") if p.stem != "__init__"}
    return {name: {m for m in imports(path) if m in modules and m != name} for name, path in modules.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_host_modules_import_in_no_circle():
    assert circles(graph()) == []


def test_the_circle_finder_sees_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_host_imports_nothing_from_the_rest_of_the_product():
    outside = {str(p.relative_to(HOST)): sorted(m for m in imports(p)
                                                if m.split(".")[0] in ("failover", "api") and not m.startswith(PACKAGE))
               for p in HOST.glob("*.py")}
    assert {k: v for k, v in outside.items() if v} == {}


if __name__ == "__main__":
    # python tests/unit/test_host_structure.py: the counts behind the first test
    edges = graph()
    found = circles(edges)
    print(f"failover/host: {len(edges)} modules, {sum(map(len, edges.values()))} imports between them, "
          f"{len(found)} import circles ({sum(map(len, found))} modules in them)")
    for group in found:
        print("  circle:", " ".join(m.rsplit(".", 1)[1] for m in group))
