from pathlib import Path

import pytest

from .topology import RouterTopology


@pytest.fixture
def error_style():
    """How the host words failed calls; scenarios that must hold on every kernel parametrize it
    with topology.ERROR_STYLES (before 6.7 Lunatik words every errno "(efault)")."""
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


HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    # This hook sees every collected item, not only this folder's.
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.netns)
