"""Shared fixtures of the namespace scenarios: each scenario is a folder of its own
(tests/topotests/<scenario>/: its test file, and its expected routing state beside it), built
by the topology engine in failover/lab and torn down by these fixtures, even on failure."""

import queue
import tomllib
from pathlib import Path

import pytest

from bench.event_to_rule import rtnl_listener
from failover.lab.flowlab import FlowTopology
from failover.lab.netns import wait_for
from failover.lab.routerlab import INTERNET, RouterTopology
from failover.lab.sidecarlab import HeartbeatTopology, hb_fixture, path_verdicts
from failover.lab.targets import icmp_hosts, wan_targets


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
def topo6(tmp_path, error_style):
    """The same, dual-stack (routerlab ``ipv6=True``): IPv6 on every interface, agents on both families."""
    t = RouterTopology.build(tmp_path, n_gateways=2, ipv6=True)
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


class TargetsTopology:
    """The heartbeat topology with the ICMP hosts, a router probing the three, and its observers:
    target silencing (a drop rule for it in the ISP, so the rest of the path is untouched) and an
    rtnetlink listener counting the rules the kernel adds."""

    def __init__(self, hb: HeartbeatTopology) -> None:
        self.hb = hb
        hb.nets.extend(*icmp_hosts())
        self.nft("isp", "add table ip silence\nadd chain ip silence drops { type filter hook forward priority 0; }\n")
        self.events: queue.Queue = queue.Queue()
        self.listener = rtnl_listener(hb.nets.ns("router"), self.events)

    def nft(self, node: str, rules: str) -> None:
        self.hb.nets.nft(node, rules)

    def start(self, reliability: int | None = 2) -> None:
        hb = self.hb
        hb.topo.start_host(hb.write_config(probe=False, wan=wan_targets(INTERNET, reliability=reliability)))
        hb.start_sidecar()
        wait_for(lambda: all(t["status"] == "up" for t in self.targets().values()), timeout=15,
                 what="every target up")
        wait_for(lambda: path_verdicts(hb)[-1:] == [True], what="the path up")

    def silence(self, address: str) -> None:
        self.nft("isp", f"add rule ip silence drops ip daddr {address} drop\n")

    def unsilence(self) -> None:
        self.nft("isp", "flush chain ip silence drops\n")

    def targets(self) -> dict[str, dict]:
        return {t["address"]: t for t in self.hb.http.get("/api/v1/targets").json()}

    def rules_added(self) -> int:
        n = 0
        while True:
            try:
                kind, _t, _ = self.events.get_nowait()
            except queue.Empty:
                return n
            n += kind == "rule"

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def net(tmp_path):
    """One gateway, the internet host and the two ICMP hosts (failover/lab/targets.py), unstarted."""
    hb = HeartbeatTopology.build(tmp_path, n_gateways=1)
    t = None
    try:
        t = TargetsTopology(hb)
        yield t
    finally:
        if t is not None:
            t.close()
        hb.cleanup()


HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    # This hook sees every collected item, not only this folder's.
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.netns)
