"""The lab's topology (conf/lab.toml → LabTopology.network) and its fault kinds.

The namespace lab itself is exercised in tests/browser/test_dashboard_lab.py; here, the data:
the router's path check probes the internet host's STAMP reflector and failover/lab/targets.py's
echo-only hosts (each in a network of its own behind the ISP) with a reliability of 2, and the
fault kinds agree between the CLI, the REST body and the dashboard's buttons.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
import typing
from pathlib import Path

import pytest

from api.models import LabFault
from failover.config import Wan
from failover.lab.cli import FAULTS
from failover.lab.targets import ICMP_HOSTS
from failover.lab.topology import DEFAULT_LAB, LabError, load

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def topo():
    return load(DEFAULT_LAB)


def test_the_router_probes_three_targets_beyond_the_isp_with_reliability_2(topo):
    wan = topo.router_config("/run/x.sock", "/run/token", ipv6=False).wan
    assert wan.probe is None and wan.reliability == 2
    assert [(t.address, t.kind, t.interval_ms) for t in wan.target] == [
        (topo.internet.host, "stamp", 5), *((address, "icmp", 100) for *_, address in ICMP_HOSTS)]


def test_the_echo_only_hosts_are_in_the_network_each_in_its_own_network_behind_the_isp(topo):
    net = topo.network(config="/x", flow_file=None)
    by_address = {}
    for seg in net.segments:
        for end in (seg.bridge, *seg.ends):
            if end is not None and end.address:
                by_address[str(ipaddress.IPv4Interface(end.address).ip)] = (seg, end)
    networks = set()
    for name, *_, address in ICMP_HOSTS:
        seg, end = by_address[address]
        assert end.node == name and {e.node for e in seg.ends} == {"isp", name}
        networks.add(seg.prefix)
        # no process answers for them: the kernel's echo reply is all they give
        assert not [p for p in net.processes if p.node == name]
        assert any(r.node == name and r.dst == "default" for r in net.routes)
    stamp_seg, _ = by_address[topo.internet.host]
    assert len(networks | {stamp_seg.prefix}) == 3
    assert [n for n in topo.roles if n in {name for name, *_ in ICMP_HOSTS}] == topo.target_hosts


def test_a_lab_file_whose_networks_cover_a_target_is_refused(tmp_path):
    text = DEFAULT_LAB.read_text().replace("10.10.0.", "192.0.2.")
    bad = tmp_path / "lab.toml"
    bad.write_text(text)
    with pytest.raises(LabError, match=r"lan \(192\.0\.2\.0/24\) and target-icmp1 \(192\.0\.2\.0/24\) overlap"):
        load(bad)


@pytest.mark.parametrize("value", [0, 4])
def test_a_reliability_the_targets_cannot_meet_is_refused(tmp_path, value):
    bad = tmp_path / "lab.toml"
    bad.write_text(re.sub(r"(?m)^reliability = \d+", f"reliability = {value}", DEFAULT_LAB.read_text()))
    with pytest.raises(LabError, match="path.reliability"):
        load(bad)


def test_fault_kinds_agree_between_cli_rest_and_dashboard():
    rest = typing.get_args(LabFault.model_fields["kind"].annotation)
    assert set(FAULTS) == set(rest)
    html = (REPO / "api" / "static" / "index.html").read_text()
    assert set(re.findall(r'data-fault="([^"]+)"', html)) == set(FAULTS)
    assert {"target-silence", "target-clear"} <= set(FAULTS)


def readme_path_configs() -> list[dict]:
    """The README's ``[wan]`` examples under "Path check targets": the real router's, then the lab's."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("**Path check targets.**"):]
    blocks = re.findall(r"```toml\n(.*?)```", section, re.S)[:2]
    return [tomllib.loads(b)["wan"] for b in blocks]


def test_the_readme_shows_a_real_router_config_beside_the_labs_own(topo):
    router, lab = readme_path_configs()
    real = Wan.model_validate(router)
    assert {t.kind for t in real.target} == {"icmp"} and real.reliability == 2
    assert {"1.1.1.1", "9.9.9.9"} <= {t.address for t in real.target}
    # the lab's, word for word what `make lab` gives its router
    assert Wan.model_validate(lab) == topo.router_config("/run/x.sock", "/run/token").wan


def test_the_router_hands_both_demo_flows_files_to_the_api(topo):
    """The dual-stack lab runs a demo flow per family; the router's sidecar is told both files
    (GET /api/v1/lab flow, flow6), the IPv4-only lab only the IPv4 one."""
    def router_argv(**kw):
        net = topo.network(config="/x", flow_file="/s/flow.json", flow6_file="/s/flow6.json", **kw)
        return next(p for p in net.processes if p.name == "router").argv

    argv = router_argv()
    assert argv[argv.index("--lab-flow-file") + 1] == "/s/flow.json"
    assert argv[argv.index("--lab-flow6-file") + 1] == "/s/flow6.json"
    assert "--lab-flow6-file" not in router_argv(ipv6=False)
