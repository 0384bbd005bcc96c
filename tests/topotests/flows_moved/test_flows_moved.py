"""Flows moved, not stranded: conntrack clean-up on failover and failback, in namespaces.

Topology: failover/lab/flowlab.py (router masquerading on wan0, gw1 NATing its own
uplink, a LAN client). Flows from the client, held open and pinged every 50 ms:

    wan     TCP client -> internet :9000, set up over the WAN (NATed to 198.51.100.2)
    wan_udp UDP client -> internet :9000, same path
    lan     TCP client -> router 10.10.0.1:9001 (LAN-local, in the router's conntrack)
    alt     TCP client -> internet :9000, set up during failover (through gw1, NATed by gw1)
    alt_udp UDP the same

Expected (WAN carrier cut, then back):

    failover: the sidecar removes exactly the WAN-NATed entries (wan, wan_udp) after rule 1000
              is in; wan is RESET at once (a new source address is a stranger to the server),
              wan_udp is MOVED (the same socket echoes through gw1), lan is untouched (same
              conntrack id) and keeps echoing.
    failback: the sidecar removes the entries of flows through gw1 (alt, alt_udp, and wan_udp as
              it now runs): alt is RESET, alt_udp and wan_udp are MOVED back, lan is untouched.
    no sidecar (control): the WAN-NATed entries stay, wan gets neither an echo nor a reset and
              wan_udp no echo: stranded. This is what the clean-up fixes, and what makes the
              test above able to fail.
"""

import time

import pytest

from failover.lab.netns import wait_for

from failover.lab.flowlab import CLIENT, ECHO_PORT, INTERNET, LAN_PORT, WAN, FlowTopology, fail_back, fail_over
from failover.lab.routerlab import ROUTER_LAN

TO_NET = f"tcp:{INTERNET}:{ECHO_PORT}"
TO_NET_UDP = f"udp:{INTERNET}:{ECHO_PORT}"
TO_ROUTER = f"tcp:{ROUTER_LAN}:{LAN_PORT}"


@pytest.fixture(params=["snat", "masquerade"])
def flows(request, tmp_path):
    t = FlowTopology.build(tmp_path, nat=request.param)
    try:
        t.hb.write_config(probe=False)
        t.topo.start_host(t.hb.config_path)
        yield t
    finally:
        t.cleanup()


def entry(table, sport, dport=ECHO_PORT, proto=6):
    found = [e for e in table if e["orig_src"] == CLIENT and e["sport"] == sport
             and e["dport"] == dport and e["proto"] == proto]
    assert len(found) <= 1, found
    return found[0] if found else None


def cleanups(t, transition):
    return [e for e in t.hb.http.get("/api/v1/log").json()
            if e["kind"] == "failover" and e.get("transition") == transition]


def test_failover_and_failback_reset_or_move_only_the_flows_of_the_dead_path(flows):
    t = flows
    t.hb.start_sidecar()
    wait_for(t.hb.all_up, timeout=5, what="gw1 up")
    a = t.hold("a", wan=TO_NET, wan_udp=TO_NET_UDP, lan=TO_ROUTER)
    before = t.conntrack()
    wan, wan_udp = entry(before, a.sport("wan")), entry(before, a.sport("wan_udp"), proto=17)
    lan = entry(before, a.sport("lan"), dport=LAN_PORT)
    assert wan["reply_dst"] == WAN and wan_udp["reply_dst"] == WAN, (wan, wan_udp)
    assert lan["reply_dst"] == CLIENT

    # -- failover ------------------------------------------------------------------------
    fail_over(t)
    [report] = wait_for(lambda: cleanups(t, "failover"), what="the failover clean-up")
    assert report["error"] is None and report["method"] == "mark", report
    if t.nat == "snat":
        assert report["conntrack_removed"] >= 2, report
    now = t.conntrack()
    # Only the WAN-NATed entries went (a re-created entry may reuse a CTA_ID: the NAT tells them
    # apart); every other entry of before is still the same entry.
    assert [e["text"] for e in now if e["reply_dst"] == WAN and e["orig_src"] == CLIENT] == []
    after = {e["id"] for e in now}
    missing = [e["text"] for e in before if e["id"] not in after and e["id"] not in (wan["id"], wan_udp["id"])]
    assert missing == []
    wait_for(lambda: a.error("wan"), timeout=5, what="the WAN TCP flow reset")
    a.echoes_resume("wan_udp")   # moved: the same UDP socket, now through gw1
    a.echoes_resume("lan")
    assert a.error("lan") is None and a.error("wan_udp") is None
    now = t.conntrack()
    assert entry(now, a.sport("lan"), dport=LAN_PORT)["id"] == lan["id"]
    assert entry(now, a.sport("wan_udp"), proto=17)["reply_dst"] == CLIENT  # not NATed here any more

    # -- during failover: new flows go through gw1 -----------------------------------------
    b = t.hold("b", alt=TO_NET, alt_udp=TO_NET_UDP)
    during = t.conntrack()
    alt, alt_udp = entry(during, b.sport("alt")), entry(during, b.sport("alt_udp"), proto=17)
    assert alt["reply_dst"] == CLIENT and alt_udp["reply_dst"] == CLIENT  # gw1 NATs, not the router

    # -- failback ------------------------------------------------------------------------
    fail_back(t)
    [report] = wait_for(lambda: cleanups(t, "failback"), timeout=10, what="the failback clean-up")
    assert report["error"] is None and report["method"] == "mark", report
    # Everything removed was a client flow to the internet host; LAN-local and router flows stay.
    after = {e["id"]: e for e in t.conntrack()}
    removed = [e["text"] for e in during if e["id"] not in after or after[e["id"]]["text"] != e["text"]]
    assert {alt["text"], alt_udp["text"]} <= set(removed), removed
    assert all(f.startswith(("tcp 10.10.0.100->203.0.113.1", "udp 10.10.0.100->203.0.113.1")) for f in removed)
    wait_for(lambda: b.error("alt"), timeout=5, what="the gw1 TCP flow reset")
    b.echoes_resume("alt_udp")   # moved back to the WAN
    a.echoes_resume("wan_udp")
    a.echoes_resume("lan")
    assert a.error("lan") is None and b.error("alt_udp") is None and a.error("wan_udp") is None
    now = t.conntrack()
    assert entry(now, a.sport("lan"), dport=LAN_PORT)["id"] == lan["id"]
    assert entry(now, b.sport("alt_udp"), proto=17)["reply_dst"] == WAN  # NATed to the WAN again


def test_without_the_clean_up_flows_are_stranded(flows):
    """The control: the daemon alone fails over and back, nobody touches conntrack.

    snat: the WAN-NATed flows are stranded at failover. masquerade: the kernel kills a
    masqueraded entry whose packets leave by another interface, so failover heals by itself, but
    the flows begun through gw1 are stranded at failback. Each is what the clean-up fixes, and
    what makes the test above able to fail.
    """
    t = flows
    a = t.hold("a", wan=TO_NET, wan_udp=TO_NET_UDP, lan=TO_ROUTER)
    wan = entry(t.conntrack(), a.sport("wan"))
    fail_over(t)
    if t.nat == "snat":
        assert_stranded(a, "wan", "wan_udp")
        a.echoes_resume("lan")
        kept = entry(t.conntrack(), a.sport("wan"))
        assert kept is not None and kept["id"] == wan["id"] and kept["reply_dst"] == WAN
        return
    wait_for(lambda: a.error("wan"), timeout=5, what="the kernel resetting the masqueraded flow")
    b = t.hold("b", alt=TO_NET, alt_udp=TO_NET_UDP)
    fail_back(t)
    assert_stranded(b, "alt", "alt_udp")
    a.echoes_resume("lan")


def assert_stranded(h, tcp, udp):
    time.sleep(0.5)
    echoed = h.echoed(tcp), h.echoed(udp)
    time.sleep(4)
    assert h.error(tcp) is None, "reset without a clean-up: the test could not tell"
    assert (h.echoed(tcp), h.echoed(udp)) == echoed, "a flow of the dead path still echoes"
