"""Carrier loss moves both families; the conntrack clean-up handles IPv6 flows as IPv4 ones.

Topology: failover/lab/flowlab.py dual-stack (routerlab ``ipv6=True``): the router NATs both
families on wan0 (``snat``: to 198.51.100.2 and fd00:198:51:100::2; ``masquerade``), gw1 NATs
both on its own uplink to the internet host (203.0.113.1, fd00:203:0:113::1), a LAN client
(10.10.0.100, fd00:10::100). Flows from the client, held open and pinged every 50 ms:

    wan / wan_udp      TCP / UDP to the internet host over IPv4, set up over the WAN
    wan6 / wan6_udp    the same over IPv6
    alt* (during failover) the same, set up through gw1

Every conntrack entry is read with Debian's `conntrack -L -f ipv4|ipv6` (an independent reader,
not the product's), in the router and in gw1; every routing state with `ip` (expected.toml).

Expected:

    carrier loss:  both families' rules and tables as expected.toml [failed_over]; the sidecar
                   removes exactly the WAN-NATed entries of both families (one report each);
                   wan and wan6 are RESET, wan_udp and wan6_udp MOVED: they echo again through
                   gw1, whose own conntrack now holds them NATed to its uplink (100.64.1.2,
                   fd00:100:64:1::2); new flows of both families go through gw1 the same way
    carrier back:  the rules gone in both families; the flows set up through gw1 removed (both
                   families) and their UDP ones NATed to the WAN again
    path6 down:    only IPv6 moves (expected.toml [ipv6_only]); only IPv6 entries are removed,
                   every IPv4 entry stays the same entry (id) and the IPv4 TCP flow keeps echoing
    control:       no sidecar, snat: the WAN-NATed IPv6 entries stay and wan6/wan6_udp are
                   stranded (what the clean-up fixes, and what makes the tests above able to fail)
    no nft:        the dump fallback, run for IPv6 after the daemon alone failed over: the same
                   IPv6 entries go, every IPv4 entry stays the same entry
"""

from __future__ import annotations

import sys
import time

import pytest

from failover.lab.flow_scale import table
from failover.lab.flowlab import FlowTopology
from failover.lab.netns import wait_for
from failover.lab.routerlab import (CLIENT, CLIENT6, ECHO_PORT, INTERNET, INTERNET6, WAN, WAN6, gateway_address6,
                                    uplink, uplink6)

V4_TCP, V4_UDP = f"tcp:{INTERNET}:{ECHO_PORT}", f"udp:{INTERNET}:{ECHO_PORT}"
V6_TCP, V6_UDP = f"tcp:[{INTERNET6}]:{ECHO_PORT}", f"udp:[{INTERNET6}]:{ECHO_PORT}"
GW1_UPLINK, GW1_UPLINK6 = uplink(1)[0], uplink6(1)[0]


def dual_stack_flows(tmp_path, nat: str):
    t = FlowTopology.build(tmp_path, nat=nat, ipv6=True)
    try:
        t.hb.write_config(probe=False, address6={1: gateway_address6(1)})
        t.topo.start_host(t.hb.config_path)
        yield t
    finally:
        t.cleanup()


@pytest.fixture(params=["snat", "masquerade"])
def flows(request, tmp_path):
    yield from dual_stack_flows(tmp_path, request.param)


@pytest.fixture
def snat_flows(tmp_path):
    yield from dual_stack_flows(tmp_path, "snat")


def entries(t, node: str, family: str) -> list:
    """The client's entries to the internet host in ``node``'s conntrack, by `conntrack -L`."""
    client, internet = (CLIENT, INTERNET) if family == "ipv4" else (CLIENT6, INTERNET6)
    return [e for e in table(t.nets.ns(node), family) if e.src == client and e.dst == internet]


def entry(t, node: str, family: str, sport: int, proto: str):
    found = [e for e in entries(t, node, family) if e.sport == sport and e.proto == proto]
    assert len(found) <= 1, found
    return found[0] if found else None


def cleanups(t, transition: str) -> dict[str, dict]:
    """The sidecar's clean-up reports of ``transition``, by family."""
    reports = [e for e in t.hb.http.get("/api/v1/log").json()
               if e["kind"] == "failover" and e.get("transition") == transition]
    by_family = {e["family"]: e for e in reports}
    assert len(by_family) == len(reports), reports  # one per family and transition
    return by_family


def routing_is(t, expected: dict) -> bool:
    return t.topo.routing_is(expected["ipv4"], 4) and t.topo.routing_is(expected["ipv6"], 6)


def test_carrier_loss_moves_both_families_and_their_flows(flows, expected):
    t = flows
    t.hb.start_sidecar()
    wait_for(t.hb.all_up, timeout=5, what="gw1 up")
    assert routing_is(t, expected["wan_up"])
    a = t.hold("a", wan=V4_TCP, wan_udp=V4_UDP, wan6=V6_TCP, wan6_udp=V6_UDP)
    for name, family, proto, nat in (("wan", "ipv4", "tcp", WAN), ("wan_udp", "ipv4", "udp", WAN),
                                     ("wan6", "ipv6", "tcp", WAN6), ("wan6_udp", "ipv6", "udp", WAN6)):
        assert entry(t, "router", family, a.sport(name), proto).reply_dst == nat, name

    # -- carrier loss ------------------------------------------------------------------------
    t.topo.set_isp(False)
    wait_for(lambda: routing_is(t, expected["failed_over"]), what="both families failed over via gw1")
    reports = wait_for(lambda: (r := cleanups(t, "failover")) and len(r) == 2 and r, what="a clean-up per family")
    assert all(r["error"] is None and r["method"] == "mark" for r in reports.values()), reports
    # No entry of either family NATed to the WAN is left: the IPv6 ones went like the IPv4 ones.
    assert [e for e in entries(t, "router", "ipv4") if e.reply_dst == WAN] == []
    assert [e for e in entries(t, "router", "ipv6") if e.reply_dst == WAN6] == []
    wait_for(lambda: a.error("wan") and a.error("wan6"), timeout=5, what="both WAN TCP flows reset")
    a.echoes_resume("wan_udp")
    a.echoes_resume("wan6_udp")
    # ... through the alternate: gw1 NATs them to its uplink, in both families.
    assert entry(t, "gw1", "ipv4", a.sport("wan_udp"), "udp").reply_dst == GW1_UPLINK
    assert entry(t, "gw1", "ipv6", a.sport("wan6_udp"), "udp").reply_dst == GW1_UPLINK6

    b = t.hold("b", alt=V4_TCP, alt_udp=V4_UDP, alt6=V6_TCP, alt6_udp=V6_UDP)
    for name, family, proto, nat in (("alt", "ipv4", "tcp", GW1_UPLINK), ("alt_udp", "ipv4", "udp", GW1_UPLINK),
                                     ("alt6", "ipv6", "tcp", GW1_UPLINK6), ("alt6_udp", "ipv6", "udp", GW1_UPLINK6)):
        assert entry(t, "gw1", family, b.sport(name), proto).reply_dst == nat, name
        # the router routes them as they are: it NATs nothing towards the LAN
        assert entry(t, "router", family, b.sport(name), proto).reply_dst == (CLIENT if family == "ipv4" else CLIENT6)

    # -- carrier back ------------------------------------------------------------------------
    t.topo.set_isp(True)
    wait_for(lambda: routing_is(t, expected["wan_up"]), timeout=10, what="both families back on the WAN")
    reports = wait_for(lambda: (r := cleanups(t, "failback")) and len(r) == 2 and r, timeout=10,
                       what="a failback clean-up per family")
    assert all(r["error"] is None for r in reports.values()), reports
    try:
        wait_for(lambda: b.error("alt") and b.error("alt6"), timeout=5, what="the TCP flows through gw1 reset")
    except TimeoutError:
        print("DEBUG", b.status(), reports, entries(t, "router", "ipv6"), entries(t, "router", "ipv4"))
        raise
    b.echoes_resume("alt_udp")
    b.echoes_resume("alt6_udp")
    assert entry(t, "router", "ipv4", b.sport("alt_udp"), "udp").reply_dst == WAN
    assert entry(t, "router", "ipv6", b.sport("alt6_udp"), "udp").reply_dst == WAN6


def test_ipv6_alone_moving_cleans_ipv6_entries_only(flows, expected):
    t = flows
    t.hb.start_sidecar()
    wait_for(t.hb.all_up, timeout=5, what="gw1 up")
    a = t.hold("a", wan=V4_TCP, wan_udp=V4_UDP, wan6=V6_TCP, wan6_udp=V6_UDP)
    v4 = {(e.proto, e.sport): e for e in entries(t, "router", "ipv4")}
    assert t.topo.control("path6 down") == "ok"
    wait_for(lambda: routing_is(t, expected["ipv6_only"]), what="IPv6 alone through gw1")
    [report] = wait_for(lambda: list(cleanups(t, "failover").values()), what="the IPv6 clean-up")
    assert report["family"] == "ipv6" and report["error"] is None, report
    assert [e for e in entries(t, "router", "ipv6") if e.reply_dst == WAN6] == []
    wait_for(lambda: a.error("wan6"), timeout=5, what="the IPv6 WAN TCP flow reset")
    a.echoes_resume("wan6_udp")
    assert entry(t, "gw1", "ipv6", a.sport("wan6_udp"), "udp").reply_dst == GW1_UPLINK6
    # IPv4 untouched: the same entries (id), still NATed to the WAN, still echoing.
    a.echoes_resume("wan")
    assert a.error("wan") is None
    now = {(e.proto, e.sport): e for e in entries(t, "router", "ipv4")}
    assert {k: (e.id, e.reply_dst) for k, e in now.items()} == {k: (e.id, e.reply_dst) for k, e in v4.items()}
    assert t.topo.rules(4) == []


def test_without_the_clean_up_ipv6_flows_are_stranded(snat_flows):
    """The control: the daemon alone fails over; nobody touches conntrack. With snat the
    WAN-NATed IPv6 entries stay and their flows are stranded (with masquerade the kernel drops a
    masqueraded entry whose packets leave by another interface: that case heals by itself)."""
    t = snat_flows
    a = t.hold("a", wan6=V6_TCP, wan6_udp=V6_UDP)
    kept = entry(t, "router", "ipv6", a.sport("wan6"), "tcp")
    t.topo.set_isp(False)
    wait_for(lambda: t.topo.rules(6) and t.topo.forwarding6(1) == "1", what="IPv6 failed over via gw1")
    time.sleep(0.5)
    echoed = a.echoed("wan6"), a.echoed("wan6_udp")
    time.sleep(4)
    assert a.error("wan6") is None, "reset without a clean-up: the test could not tell"
    assert (a.echoed("wan6"), a.echoed("wan6_udp")) == echoed, "a flow of the dead path still echoes"
    still = entry(t, "router", "ipv6", a.sport("wan6"), "tcp")
    assert still is not None and still.id == kept.id and still.reply_dst == WAN6


CLEAN = ("import sys; from failover.net.conntrack import clean; "
         "r = clean(sys.argv[1], 'wan0', 'lan0', None, int(sys.argv[2])); print(r.method, len(r.removed), r.error)")


def test_without_nft_the_dump_clean_up_handles_ipv6_alike(snat_flows):
    """The fallback (no nft, or a kernel too old for a delete by mark): dump, select, delete entry
    by entry, run by hand in the router after the daemon alone failed over: IPv6's WAN-NATed
    entries go, IPv4's stay the same entries; wan6_udp moves, wan6 is reset."""
    t = snat_flows
    a = t.hold("a", wan=V4_TCP, wan6=V6_TCP, wan6_udp=V6_UDP)
    v4 = {(e.proto, e.sport): e.id for e in entries(t, "router", "ipv4")}
    t.topo.set_isp(False)
    wait_for(lambda: t.topo.rules(6) and t.topo.forwarding6(1) == "1", what="IPv6 failed over via gw1")
    out = t.nets.exec("router", sys.executable, "-c", CLEAN, "failover", "6")
    method, removed, error = out.stdout.split()
    assert (method, error) == ("dump", "None") and int(removed) >= 2, out.stdout
    assert [e for e in entries(t, "router", "ipv6") if e.reply_dst == WAN6] == []
    wait_for(lambda: a.error("wan6"), timeout=5, what="the IPv6 WAN TCP flow reset")
    a.echoes_resume("wan6_udp")
    assert {(e.proto, e.sport): e.id for e in entries(t, "router", "ipv4")} == v4
