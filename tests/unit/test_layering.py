"""The code base's import structure (README.md, "Layout"): packages by role, imports only
downward, no cycles. ``python -m tests.importgraph`` prints the same counts with each offender.

The roles, bottom first: config, keys, package data and task lifetimes; ``failover/core/`` (pure:
no I/O, no asyncio); ``failover/host/`` (the generic Lua host, which knows nothing about
failover); ``failover/net/`` (thin shells over sockets and netlink); the agent; what runs the
failover scripts (``failover/scripts/``); the measuring core and its process
(``failover/sidecar/``, whose reload restarts the scripts); the lab; ``api/``; the command line;
``bench/``."""

from __future__ import annotations

import ast

import pytest

from tests.importgraph import REPO, build, working_tree


@pytest.fixture(scope="module")
def graph():
    return build(working_tree())


def test_every_module_has_a_role(graph):
    assert graph.unplaced() == []


def test_no_module_imports_in_a_circle(graph):
    # type-only and function-local imports count too (tests/importgraph.py)
    assert graph.cycles() == []


def test_imports_go_only_downward(graph):
    assert graph.upward() == []


def test_the_host_knows_nothing_about_failover(graph):
    assert graph.host_outside() == []


def test_the_api_knows_only_the_interface_of_the_core(graph):
    assert graph.api_beyond_interface() == []


def test_the_core_imports_nothing_from_the_api(graph):
    assert [(a, b) for a, b in graph.imports()
            if a.startswith("failover.") and a != "failover.cli" and graph.roles.get(b) == "api"] == []


def test_bench_never_imports_tests(graph):
    """The benchmarks build their namespaces with the lab (failover.lab), not with test code."""
    assert graph.bench_tests() == []


def test_the_pure_cores_use_no_asyncio_and_no_sockets():
    io = {"asyncio", "socket", "subprocess", "selectors", "os", "pyroute2", "httpx"}
    offenders = {}
    for p in sorted((REPO / "failover" / "core").rglob("*.py")):
        used = set()
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import):
                used |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                used.add(node.module.split(".")[0])
        if used & io:
            offenders[p.name] = sorted(used & io)
    assert offenders == {}


def test_waits_are_bounded_with_asyncio_timeout_never_wait_for():
    """The rule and its reason are stated once, in failover/tasks.py; here it is kept everywhere."""
    offenders = []
    for top in ("failover", "api", "bench", "tests"):
        for p in sorted((REPO / top).rglob("*.py")):
            for node in ast.walk(ast.parse(p.read_text())):
                if (isinstance(node, ast.Attribute) and node.attr == "wait_for"
                        and isinstance(node.value, ast.Name) and node.value.id == "asyncio") \
                        or (isinstance(node, ast.ImportFrom) and node.module == "asyncio"
                            and any(a.name == "wait_for" for a in node.names)):
                    offenders.append(f"{p.relative_to(REPO)}:{node.lineno}")
    assert offenders == []
