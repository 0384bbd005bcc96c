"""The import structure of the code base: which module imports which, and in which role.

    python -m tests.importgraph                # the working tree
    python -m tests.importgraph REV [PLACES]   # a commit, e.g. one from before the layout by role

prints one count a line (``import cycles``, ``upward imports``, ...) and, below them, each
offending import. ``tests/unit/test_layering.py`` holds the working tree to zero on each count.

The roles, bottom first (README.md, "Layout"): a module imports its own role and those
below, never one above. A module of an older tree takes the role of the place it has at PLACES
(default HEAD; git's rename detection between REV and PLACES, so a commit that only moved files
maps best); one that has no place there is listed as unplaced.
Every ``import`` statement counts, those inside functions and under ``TYPE_CHECKING`` too: each
is something a reader of the module has to know.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parents[1]
#: The trees whose modules are read; tests/ only as a target of bench's imports.
TREES = ("failover", "api", "bench", "tests")

#: Roles, bottom first: module-name prefixes (a prefix covers the module and its submodules;
#: the package ``failover`` itself is only its ``__init__``).
ROLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bottom", ("failover.config", "failover.keys", "failover.package_data", "failover.tasks")),
    ("core", ("failover.core",)),
    ("host", ("failover.host",)),
    ("net", ("failover.net",)),
    ("agent", ("failover.agent",)),
    ("scripts", ("failover.scripts",)),
    ("sidecar", ("failover.sidecar",)),
    ("lab", ("failover.lab",)),
    ("api", ("api",)),
    ("cli", ("failover.cli", "failover.__main__")),
    ("bench", ("bench",)),
    ("tests", ("tests",)),
)
RANK = {name: i for i, (name, _) in enumerate(ROLES)}
#: What api/ may import from failover/: the core's narrow interface, the views and events it
#: speaks of, the link that carries them to the API's process (and the bottom: config models).
API_INTERFACE = frozenset({"failover.sidecar.coreview", "failover.core.views", "failover.core.events",
                           "failover.sidecar.coreipc"})
#: Modules outside failover/host/ that the host may import: none, it knows nothing about failover
#: (the failover scripts' folder is given it by failover/scripts/launch.py and the command line).
HOST_MAY_IMPORT: frozenset[str] = frozenset()


def role_of(module: str) -> str | None:
    if module == "failover":
        return "bottom"
    best: tuple[int, str] | None = None
    for name, prefixes in ROLES:
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and (best is None or len(p) > best[0]):
                best = (len(p), name)
    return best[1] if best else None


def module_name(path: PurePosixPath) -> str:
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@dataclass
class Graph:
    #: module -> the modules it imports (of the trees read)
    edges: dict[str, set[str]] = field(default_factory=dict)
    #: module -> its name at its present place (itself, but for an older tree's moved modules)
    now: dict[str, str] = field(default_factory=dict)
    #: module -> its role (by its present place)
    roles: dict[str, str | None] = field(default_factory=dict)
    packages: set[str] = field(default_factory=set)

    def cycles(self, within: tuple[str, ...] = ("failover", "api")) -> list[list[str]]:
        """Strongly connected components of two or more modules (or one importing itself)."""
        nodes = [m for m in self.edges if m.split(".")[0] in within]
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        out: list[list[str]] = []

        def visit(v: str) -> None:  # Tarjan's algorithm (the graphs are small: recursion is fine)
            index[v] = low[v] = len(index)
            stack.append(v)
            on_stack.add(v)
            for w in self.edges.get(v, ()):
                if w.split(".")[0] not in within:
                    continue
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                scc = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    scc.append(w)
                    if w == v:
                        break
                if len(scc) > 1 or v in self.edges.get(v, ()):
                    out.append(sorted(scc))

        for v in sorted(nodes):
            if v not in index:
                visit(v)
        return sorted(out)

    def imports(self) -> Iterable[tuple[str, str]]:
        for a in sorted(self.edges):
            for b in sorted(self.edges[a]):
                yield a, b

    def upward(self) -> list[tuple[str, str]]:
        """Imports of a module whose role is above the importer's (tests/ may import anything)."""
        out = []
        for a, b in self.imports():
            ra, rb = self.roles.get(a), self.roles.get(b)
            if ra is None or rb is None or "tests" in (ra, rb):
                continue  # tests/ may import anything; bench/ -> tests/ is a count of its own
            if RANK[rb] > RANK[ra]:
                out.append((a, b))
        return out

    def api_beyond_interface(self) -> list[tuple[str, str]]:
        return [(a, b) for a, b in self.imports()
                if self.roles.get(a) == "api" and b.startswith("failover")
                and self.roles.get(b) != "bottom" and self.now[b] not in API_INTERFACE]

    def host_outside(self) -> list[tuple[str, str]]:
        """Imports of failover/ outside failover/host/ by a module in failover/host/ (where it
        stands in the tree read, not where it is now: a file that left the host counts)."""
        def in_host(m: str) -> bool:
            return m.startswith("failover.host.") or m == "failover.host"

        return [(a, b) for a, b in self.imports()
                if in_host(a) and not in_host(b) and b.startswith("failover")
                and self.now[b] not in HOST_MAY_IMPORT and b not in self.packages_above(a)]

    def bench_tests(self) -> list[tuple[str, str]]:
        return [(a, b) for a, b in self.imports() if self.roles.get(a) == "bench" and self.roles.get(b) == "tests"]

    def packages_above(self, module: str) -> set[str]:
        """The packages a module sits in (``failover``, ...): importing one is not a dependency."""
        parts = module.split(".")
        return {".".join(parts[:i]) for i in range(1, len(parts))}

    def unplaced(self) -> list[str]:
        return sorted(m for m, r in self.roles.items() if r is None)


def _imported(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The known modules that ``module``'s source imports."""

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (m := resolve(alias.name)) is not None:
                    out.add(m)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            for alias in node.names:
                # ``from pkg import name``: the submodule pkg.name if there is one, else pkg itself
                target = f"{prefix}.{alias.name}"
                m = target if target in known else resolve(prefix)
                if m is not None:
                    out.add(m)
    out.discard(module)  # ``from . import x`` inside x's own package __init__ resolves to itself
    return out


def build(sources: Mapping[PurePosixPath, str], places: Mapping[PurePosixPath, PurePosixPath] | None = None) -> Graph:
    """The graph of ``sources`` (repository path -> text); ``places`` maps a path to where that
    module lives now, for its role (default: where it is)."""
    places = places or {}
    names = {p: module_name(p) for p in sources}
    known = set(names.values())
    g = Graph(packages={names[p] for p in sources if p.name == "__init__.py"})
    for path, text in sources.items():
        name = names[path]
        g.now[name] = module_name(places.get(path, path))
        g.roles[name] = role_of(g.now[name])
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        g.edges[name] = _imported(tree, name, path.name == "__init__.py", known)
    return g


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout


def working_tree() -> dict[PurePosixPath, str]:
    out = {}
    for top in TREES:
        for p in (REPO / top).rglob("*.py"):
            out[PurePosixPath(p.relative_to(REPO).as_posix())] = p.read_text()
    return out


def at_commit(rev: str, places_at: str = "HEAD") -> tuple[dict[PurePosixPath, str], dict[PurePosixPath, PurePosixPath]]:
    """The Python sources of ``rev`` and, for each that has moved since, its place at ``places_at``."""
    paths = [PurePosixPath(p) for p in _git("ls-tree", "-r", "--name-only", rev, "--", *TREES).split("\n")
             if p.endswith(".py")]
    sources = {p: _git("show", f"{rev}:{p}") for p in paths}
    places = {}
    for line in _git("diff", "--name-status", "-M", rev, places_at, "--", *TREES).splitlines():
        status, *files = line.split("\t")
        if status.startswith("R"):
            places[PurePosixPath(files[0])] = PurePosixPath(files[1])
    return sources, places


def report(g: Graph) -> dict[str, list]:
    """Each count's offenders, in the order printed."""
    return {
        "import cycles (failover/, api/)": [" -> ".join(c) for c in g.cycles()],
        "upward imports": [f"{a} -> {b}" for a, b in g.upward()],
        "api/ imports beyond the core's interface": [f"{a} -> {b}" for a, b in g.api_beyond_interface()],
        "failover/host/ imports outside itself": [f"{a} -> {b}" for a, b in g.host_outside()],
        "bench/ imports of tests/": [f"{a} -> {b}" for a, b in g.bench_tests()],
        "modules without a role": g.unplaced(),
    }


def main(argv: list[str]) -> int:
    if len(argv) > 2:
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    g = build(*at_commit(*argv)) if argv else build(working_tree())
    rows = report(g)
    print(f"tree: {' with the places at '.join(argv) if argv else 'working tree'}; modules {len(g.edges)}, "
          f"imports between them {sum(len(v) for v in g.edges.values())}")
    for what, offenders in rows.items():
        print(f"{what}: {len(offenders)}")
    for what, offenders in rows.items():
        if offenders:
            print(f"\n{what}:")
            for o in offenders:
                print(f"  {o}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
