"""The measuring core and the API meet only at the narrow interface: the core imports nothing
from ``api/``; ``api/`` imports from the core only the interface, its events and (for the API's
own process) the link that carries them. The command line is the one place that knows both."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: What api/ may import from failover/.
INTERFACE = {"failover.sidecar.coreview", "failover.core.events", "failover.sidecar.coreipc"}


def imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
    return out


def test_the_core_imports_nothing_from_the_api():
    offenders = {str(p.relative_to(REPO)): sorted(m for m in imports(p) if m == "api" or m.startswith("api."))
                 for p in (REPO / "failover").rglob("*.py") if p.name != "cli.py"}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_api_knows_only_the_interface_of_the_core():
    offenders = {str(p.relative_to(REPO)): sorted(m for m in imports(p)
                                                 if (m == "failover" or m.startswith("failover.")) and m not in INTERFACE)
                 for p in (REPO / "api").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
