"""Which conntrack entries a failover or failback removes (pure), and when the sidecar's hook acts.

The router of the lab: WAN 198.51.100.2 on wan0 (masquerade), LAN 10.10.0.1/24 on lan0, client
10.10.0.100, alternate gateway 10.10.0.11, internet host 203.0.113.1.
"""

import asyncio
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address as A

import pytest

from failover.net.conntrack import Addresses, Flow, FlowMover, Report, select

TCP, UDP, ICMP = socket.IPPROTO_TCP, socket.IPPROTO_UDP, socket.IPPROTO_ICMP
WAN, LAN_ROUTER, CLIENT, GW, NET = "198.51.100.2", "10.10.0.1", "10.10.0.100", "10.10.0.11", "203.0.113.1"
ADDRS = Addresses.of(wan=[WAN], local=[WAN, LAN_ROUTER, "127.0.0.1"], lan=["10.10.0.1/24"])
T0 = 1_000_000_000_000


def flow(src, dst, *, nat_src=None, nat_dst=None, proto=TCP, sport=40000, dport=9000, start=None, id=1):
    """An entry as conntrack holds it: the reply tuple reverses the original, NAT applied."""
    return Flow(proto, A(src), A(dst), A(nat_dst or dst), A(nat_src or src),
                sport=sport, dport=dport, id=id, start_ns=start)


# Every kind of entry a home router holds, named.
MASQ_TCP = flow(CLIENT, NET, nat_src=WAN, id=10)                          # LAN -> internet over the WAN
MASQ_UDP = flow(CLIENT, NET, nat_src=WAN, proto=UDP, id=11)
MASQ_ICMP = Flow(ICMP, A(CLIENT), A(NET), A(NET), A(WAN), icmp=(7, 8, 0), id=12)
ROUTER_OUT = flow(WAN, NET, id=20)                                        # the router's own, from the WAN address
ROUTER_LAN = flow(LAN_ROUTER, GW, proto=UDP, sport=862, dport=862, id=21)  # heartbeats to a gateway
TO_ROUTER = flow(CLIENT, LAN_ROUTER, dport=22, id=22)                     # LAN host -> router (ssh, dns)
HAIRPIN = flow(CLIENT, WAN, dport=443, id=23)                             # LAN host -> router's WAN address
PORT_FWD = flow("192.0.2.9", WAN, nat_dst=CLIENT, dport=8080, id=24)      # internet -> port forward -> client
LAN_LOCAL = flow(CLIENT, GW, dport=7070, id=25)                           # within the LAN (bridged with br_netfilter)
MDNS = flow(CLIENT, "224.0.0.251", proto=UDP, sport=5353, dport=5353, id=26)
BCAST = flow(CLIENT, "10.10.0.255", proto=UDP, sport=68, dport=67, id=27)
VIA_ALT = flow(CLIENT, NET, start=T0 + 5, id=30)                          # began during failover: not NATed here
VIA_ALT_UDP = flow(CLIENT, NET, proto=UDP, start=T0 + 6, id=31)
BEFORE = flow(CLIENT, "192.0.2.50", start=T0 - 5, id=32)                  # un-NATed, older than failover
UNSTAMPED = flow(CLIENT, "192.0.2.51", start=None, id=33)                 # made before stamping was on
OTHER_SRC = flow("172.16.0.5", NET, start=T0 + 7, id=34)                  # not from the LAN (another interface)

ALL = [MASQ_TCP, MASQ_UDP, MASQ_ICMP, ROUTER_OUT, ROUTER_LAN, TO_ROUTER, HAIRPIN, PORT_FWD, LAN_LOCAL,
       MDNS, BCAST, VIA_ALT, VIA_ALT_UDP, BEFORE, UNSTAMPED, OTHER_SRC]


def test_failover_removes_exactly_the_flows_masqueraded_to_the_wan():
    assert select("failover", ALL, ADDRS) == [MASQ_TCP, MASQ_UDP, MASQ_ICMP]


def test_failover_keeps_the_routers_own_and_lan_and_inbound_flows():
    kept = set(ALL) - set(select("failover", ALL, ADDRS))
    assert {ROUTER_OUT, ROUTER_LAN, TO_ROUTER, HAIRPIN, PORT_FWD, LAN_LOCAL, MDNS, VIA_ALT} <= kept


def test_failover_without_nat_on_the_router_removes_nothing():
    # No masquerade: no entry binds a flow to the WAN's address, the new path needs no clean-up.
    plain = [flow(CLIENT, NET, id=i) for i in range(5)]
    assert select("failover", plain, ADDRS) == []


def test_failover_follows_every_wan_address_and_nothing_without_one():
    second = flow(CLIENT, NET, nat_src="198.51.100.3", id=40)
    two = Addresses.of(wan=[WAN, "198.51.100.3"], local=[LAN_ROUTER], lan=["10.10.0.1/24"])
    assert select("failover", [MASQ_TCP, second], two) == [MASQ_TCP, second]
    none = Addresses.of(wan=[], local=[LAN_ROUTER], lan=["10.10.0.1/24"])
    assert select("failover", ALL, none) == []


def test_failback_removes_flows_begun_through_the_alternate_only():
    assert select("failback", ALL, ADDRS, since_ns=T0) == [VIA_ALT, VIA_ALT_UDP]


def test_failback_without_a_known_start_takes_every_unnated_flow_from_the_lan_beyond_it():
    assert select("failback", ALL, ADDRS, since_ns=None) == [VIA_ALT, VIA_ALT_UDP, BEFORE, UNSTAMPED]


def test_failback_never_touches_masqueraded_router_or_lan_flows():
    chosen = set(select("failback", ALL, ADDRS, since_ns=None))
    for f in (MASQ_TCP, MASQ_UDP, MASQ_ICMP, ROUTER_OUT, ROUTER_LAN, TO_ROUTER, HAIRPIN, PORT_FWD,
              LAN_LOCAL, MDNS, BCAST, OTHER_SRC):
        assert f not in chosen, f


def test_failback_without_a_lan_prefix_removes_nothing():
    no_lan = Addresses.of(wan=[WAN], local=[WAN], lan=[])
    assert select("failback", ALL, no_lan) == []


def test_unknown_transition_is_an_error():
    with pytest.raises(ValueError, match="failover or failback"):
        select("sideways", ALL, ADDRS)


def test_flow_text_names_the_nat():
    assert str(MASQ_TCP) == "tcp 10.10.0.100->203.0.113.1 40000->9000 nat 198.51.100.2"
    assert str(VIA_ALT) == "tcp 10.10.0.100->203.0.113.1 40000->9000"


# -- the sidecar's hook: when it acts ---------------------------------------------------------


@dataclass
class D:
    failover: bool
    rule: bool
    failover6: bool = False
    rule6: bool = False


OFF, ON = D(False, False), D(True, True)
ON_NO_RULE, OFF_RULE_LEFT = D(True, False), D(False, True)


def run_mover(states, stamps=True):
    calls = []

    def cleaner(transition, wan, lan, since, family):
        calls.append((transition, wan, lan, since) if family == 4 else (transition, wan, lan, since, family))
        return Report(transition, [], 0, 0, family=family)

    async def go():
        m = FlowMover("lo", "lo", cleaner=cleaner, stamps=lambda: stamps)
        started = [m.observe(s) for s in states]
        await m.wait()
        return m, started

    m, started = asyncio.run(go())
    return m, started, calls


def test_hook_acts_once_per_transition_and_only_once_the_rule_is_in_its_new_state():
    m, started, calls = run_mover([OFF, OFF, ON_NO_RULE, ON, ON, None, OFF_RULE_LEFT, OFF, OFF])
    assert started == [None, None, None, "failover", None, None, None, "failback", None]
    assert [c[0] for c in calls] == ["failover", "failback"]
    assert calls[0][1:3] == ("lo", "lo") and calls[0][3] is None


def test_failback_is_filtered_from_the_last_poll_that_saw_failover_off():
    m, started, calls = run_mover([OFF, ON, OFF])
    since = calls[1][3]
    assert isinstance(since, int) and since > 1_600_000_000 * 10**9  # CLOCK_REALTIME ns


def test_without_stamps_or_after_a_start_during_failover_failback_is_not_time_filtered():
    _, _, calls = run_mover([OFF, ON, OFF], stamps=False)
    assert calls[1] == ("failback", "lo", "lo", None)
    _, started, calls = run_mover([ON, OFF])
    assert started == ["failover", "failback"] and calls[1][3] is None


def test_start_with_failover_off_does_nothing():
    _, started, calls = run_mover([OFF, OFF_RULE_LEFT, OFF])
    assert started == [None, None, None] and calls == []


def test_a_failing_cleanup_is_reported_not_raised():
    def cleaner(*a):
        raise PermissionError("ctnetlink: operation not permitted")

    async def go():
        reports = []
        m = FlowMover("lo", "lo", on_report=reports.append, cleaner=cleaner, stamps=lambda: False)
        m.observe(OFF)
        m.observe(ON)
        await m.wait()
        return reports

    [r] = asyncio.run(go())
    assert r.error and "failover conntrack clean-up failed: PermissionError" in r.message()


@pytest.mark.parametrize("loaded,method", [(True, "mark"), (False, "dump")])
def test_with_the_marking_rules_loaded_each_transition_is_one_delete_by_mark_else_the_dump(
        monkeypatch, loaded, method):
    from failover.net import conntrack

    calls, loads = [], []
    monkeypatch.setattr(conntrack, "clean_marked", lambda t, *a: calls.append(("mark", t)) or Report(t, [], 0, 0))
    monkeypatch.setattr(conntrack, "clean", lambda t, *a: calls.append(("dump", t)) or Report(t, [], 0, 0))

    async def go():
        m = FlowMover("lo", "lo", stamps=lambda: False,
                      marks=lambda wan, lan: loads.append((wan, lan)) or loaded)
        for s in (OFF, ON, OFF):
            m.observe(s)
        await m.wait()
        return m

    m = asyncio.run(go())
    assert loads == [("lo", "lo")] and m.marking is loaded  # loaded once, before any clean-up
    assert calls == [(method, "failover"), (method, "failback")]


# -- IPv6: the same selection, each family on its own -------------------------------------------

from ipaddress import ip_address as A6  # noqa: E402

WAN6, LAN6_ROUTER, CLIENT6, GW6, NET6 = "fd00:198:51:100::2", "fd00:10::1", "fd00:10::100", "fd00:10::11", "fd00:203:0:113::1"
GLOBAL_CLIENT = "2001:db8:10::100"
ADDRS46 = Addresses.of(wan=[WAN, WAN6], local=[WAN, LAN_ROUTER, "127.0.0.1", WAN6, LAN6_ROUTER, "::1"],
                       lan=["10.10.0.1/24", "fd00:10::1/64", "2001:db8:10::1/64"])


def flow6(src, dst, *, nat_src=None, proto=TCP, start=None, id=1):
    return Flow(proto, A6(src), A6(dst), A6(dst), A6(nat_src or src), sport=40000, dport=9000, id=id, start_ns=start)


NAT66_TCP = flow6(CLIENT6, NET6, nat_src=WAN6, id=60)           # ULA client NATed out of the WAN
NAT66_ICMP = Flow(socket.IPPROTO_ICMPV6, A6(CLIENT6), A6(NET6), A6(NET6), A6(WAN6), icmp=(7, 128, 0), id=61)
ROUTED6 = flow6(GLOBAL_CLIENT, NET6, id=62)                      # global prefix routed as is: no binding
VIA_ALT6 = flow6(CLIENT6, NET6, start=T0 + 5, id=63)             # began during IPv6 failover, through gw1
LINK_LOCAL6 = flow6("fe80::100", "fe80::1", id=64)
MCAST6 = flow6(CLIENT6, "ff02::fb", proto=UDP, start=T0 + 5, id=65)
TO_ROUTER6 = flow6(CLIENT6, LAN6_ROUTER, start=T0 + 5, id=66)
ALL46 = ALL + [NAT66_TCP, NAT66_ICMP, ROUTED6, VIA_ALT6, LINK_LOCAL6, MCAST6, TO_ROUTER6]


def test_ipv6_failover_removes_the_nat66_flows_of_the_wan_only():
    assert select("failover", ALL46, ADDRS46, family=6) == [NAT66_TCP, NAT66_ICMP]
    assert str(NAT66_ICMP) == "icmpv6 fd00:10::100->fd00:203:0:113::1 nat fd00:198:51:100::2"


def test_ipv6_failback_removes_the_flows_through_the_alternate_only():
    assert select("failback", ALL46, ADDRS46, since_ns=T0, family=6) == [VIA_ALT6]


def test_each_familys_transition_leaves_the_other_family_alone():
    assert select("failover", ALL46, ADDRS46, family=4) == [MASQ_TCP, MASQ_UDP, MASQ_ICMP]
    assert select("failover", ALL46, ADDRS46) == [MASQ_TCP, MASQ_UDP, MASQ_ICMP, NAT66_TCP, NAT66_ICMP]


def test_the_mover_cleans_each_family_on_its_own_transitions():
    v6_on, v6_off = D(False, False, True, True), D(False, False, False, False)
    both_on = D(True, True, True, True)
    _, started, calls = run_mover([v6_off, v6_on, v6_on, v6_off, both_on, v6_off], stamps=False)
    assert started == [None, "failover", None, "failback", "failover", "failback"]
    assert [(c[0], c[-1] if len(c) == 5 else 4) for c in calls] == [
        ("failover", 6), ("failback", 6), ("failover", 4), ("failover", 6), ("failback", 4), ("failback", 6)]
