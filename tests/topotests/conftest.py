"""Shared fixtures of the namespace scenarios: each scenario is a folder of its own
(tests/topotests/<scenario>/: its test file, and its expected routing state beside it), built
by the topology engine in failover/lab and torn down by these fixtures, even on failure."""

import tomllib
from pathlib import Path

import pytest

from failover.lab.flowlab import FlowTopology
from failover.lab.routerlab import RouterTopology
from failover.lab.sidecarlab import hb_fixture


@pytest.fixture
def expected(request) -> dict:
    """The scenario's expected routing state, by name: expected.toml beside its test file
    (RouterTopology.routing_is compares the parts a state names)."""
    return tomllib.loads((request.path.parent / "expected.toml").read_text())


@pytest.fixture
def error_style():
    """How the host words failed calls; scenarios that must hold on every kernel parametrize it
    with routerlab.ERROR_STYLES (before 6.7 Lunatik words every errno "(efault)")."""
    return "names"


@pytest.fixture
def topo(tmp_path, error_style):
    """Router, ISP and two gateways with agents; everything removed afterwards, even on failure."""
    t = RouterTopology.build(tmp_path, n_gateways=2)
    t.error_style = error_style
    try:
        yield t
    finally:
        t.cleanup()


@pytest.fixture
def running(topo):
    """The topology with `failover host` running on the router."""
    topo.start_host()
    return topo


@pytest.fixture
def hb(tmp_path):
    """The router with the internet host (heartbeats, path check, REST) and two gateways."""
    yield from hb_fixture(tmp_path)


@pytest.fixture
def ft(tmp_path):
    """Flows across failover: client, NAT, one gateway with its own uplink, the echoes."""
    t = FlowTopology.build(tmp_path)
    try:
        yield t
    finally:
        t.cleanup()


HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    # This hook sees every collected item, not only this folder's.
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.netns)
