"""The lab's dual-stack data (conf/lab.toml → LabTopology.network): a ULA prefix on the LAN, the
WAN, the internet segment and each alternate's uplink, IPv6 routes beside the IPv4 ones, NAT that
covers both families, agents and the reflector on both, the IPv6 demo flow, the gateways'
address6 in the router's config; the docker lab stays IPv4 only. The lab built and failed over
is tests/topotests/lab_dualstack."""

from __future__ import annotations

import ipaddress

import pytest

from failover.lab.targets import ICMP_HOSTS, ICMP_HOSTS6
from failover.lab.topology import DEFAULT_LAB, LabError, load


@pytest.fixture(scope="module")
def topo():
    return load(DEFAULT_LAB)


@pytest.fixture(scope="module")
def net(topo):
    return topo.network(config="/x.toml", flow_file="/flow.json", flow6_file="/flow6.json")


def v6(net, node: str, ifname: str) -> tuple[str, ...]:
    return next(i.addresses6 for s in net.segments for i in (s.bridge, *s.ends)
                if i is not None and i.node == node and i.name == ifname)


def test_every_segment_is_dual_stack(topo, net):
    assert topo.ipv6
    assert v6(net, "router", "lan0") == ("fd00:10::1/64",) and v6(net, "client", "eth0") == ("fd00:10::100/64",)
    assert v6(net, "router", "wan0") == ("fd00:198:51:100::2/64",) and v6(net, "isp", "isp0") == ("fd00:198:51:100::1/64",)
    assert v6(net, "internet", "eth0") == ("fd00:203:0:113::1/64",)
    for g in topo.gateway:
        assert v6(net, g.name, "eth0") == (f"{g.address6}/64",)
        assert v6(net, g.name, "up0")[0].endswith("::2/64") and v6(net, "internet", f"up-{g.name}")[0].endswith("::1/64")
    for name, isp_if, *_ in ICMP_HOSTS:  # the echo-only targets, each in a /64 of its own
        isp6, host6 = ICMP_HOSTS6[name]
        assert v6(net, name, "eth0") == (f"{host6}/64",) and v6(net, "isp", isp_if) == (f"{isp6}/64",)
    for a in (topo.lan.prefix6, topo.wan.prefix6, topo.internet.prefix6, *(h for _, h in ICMP_HOSTS6.values())):
        assert ipaddress.IPv6Network(a, strict=False).subnet_of(ipaddress.IPv6Network("fc00::/7"))  # ULA


def test_ipv6_routes_mirror_the_ipv4_ones_and_nat_is_for_both(topo, net):
    six = {(r.node, r.dst, r.via) for r in net.routes if r.family == 6}
    assert {("router", "default", topo.wan.isp6), ("client", "default", topo.lan.router6),
            ("isp", topo.lan.prefix6, topo.wan.router6), ("internet", "default", topo.internet.isp6)} <= six
    assert {n for n, d, _ in six if d == "default"} >= {g.name for g in topo.gateway}
    assert {(name, "default", isp6) for name, (isp6, _) in ICMP_HOSTS6.items()} <= six
    # masquerade, rendered into one nftables inet table by the builder: IPv4 and IPv6 alike
    assert [n.rule() for n in net.node("router").nat] == ['oifname "wan0" masquerade']
    assert all([n.rule() for n in net.node(g.name).nat] == ['oifname "up0" masquerade'] for g in topo.gateway)


def test_agents_reflector_and_demo_flow_on_both_families(topo, net):
    for g in topo.gateway:
        argv = net.process(f"agent-{g.name}").argv
        assert ("--listen", g.address6) == argv[argv.index(g.address6) - 1:argv.index(g.address6) + 1]
        assert topo.lan.router6 in argv  # --allow: the router's IPv6 address may command it too
    assert topo.internet.host6 in net.process("reflector-internet").argv
    assert net.process("flow-echo6").argv[-1] == topo.internet.host6
    assert f"[{topo.internet.host6}]:{topo.flow.port}" in net.process("flow6").argv
    assert [g.address6 for g in topo.router_config("/s", "/t").gateway] == [g.address6 for g in topo.gateway]


def test_each_family_is_judged_by_its_own_three_targets(topo):
    """The path check's IPv6 targets are the same three hosts' IPv6 addresses (the reflector
    and the two echo-only hosts), each family 3 with reliability 2: each has its own verdict."""
    wan = topo.router_config("/s", "/t").wan
    by_family = {4: [], 6: []}
    for t in wan.target:
        by_family[ipaddress.ip_address(t.address).version].append((t.address, t.kind, t.interval_ms))
    assert by_family[4] == [(topo.internet.host, "stamp", 5), *((a, "icmp", 100) for *_, a in ICMP_HOSTS)]
    assert by_family[6] == [(topo.internet.host6, "stamp", 5), *((ICMP_HOSTS6[n][1], "icmp", 100) for n, *_ in ICMP_HOSTS)]
    assert [(f, len(wan.targets_of(f)), wan.quorum_of(f)) for f in wan.families] == [("ipv4", 3, 2), ("ipv6", 3, 2)]
    assert [t.address for t in topo.router_config("/s", "/t", ipv6=False).wan.target] == [
        topo.internet.host, *(a for *_, a in ICMP_HOSTS)]


def test_ipv6_can_be_left_out(topo):
    net = topo.network(config="/x.toml", flow_file="/flow.json", flow6_file="/flow6.json", ipv6=False)
    assert all(not i.addresses6 for s in net.segments for i in (s.bridge, *s.ends) if i is not None)
    assert all(r.family == 4 for r in net.routes)
    assert not any(p.name in ("flow6", "flow-echo6") for p in net.processes)
    assert all(g.address6 is None for g in topo.router_config("/s", "/t", ipv6=False).gateway)


def test_a_half_dual_stack_file_or_an_address_outside_its_prefix_is_refused(tmp_path):
    text = DEFAULT_LAB.read_text()
    half = tmp_path / "half.toml"
    half.write_text(text.replace('prefix6 = "fd00:203:0:113::/64"\n', ""))
    with pytest.raises(LabError, match="prefix6 on lan, wan and internet, or on none"):
        load(half)
    outside = tmp_path / "outside.toml"
    outside.write_text(text.replace('address6 = "fd00:10::12"', 'address6 = "fd00:11::12"'))
    with pytest.raises(LabError, match="fd00:11::12 is outside fd00:10::/64"):
        load(outside)
