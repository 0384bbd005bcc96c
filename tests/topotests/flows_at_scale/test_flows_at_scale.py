"""Flow clean-up at router scale: 20,000 conntrack entries, the failed path's gone within 1 s.

Topology: failover/lab/flowlab.py (router masquerading out of wan0, gw1 on the LAN, a
client), `failover host` and `failover sidecar` in the router as deployed. Real UDP flows from the
client (failover/lab/flow_scale.py), one datagram each, UDP timeouts raised so none expires:

    wan    10,000  client -> internet host, ports 10000-19999, via the WAN: NATed to 198.51.100.2
    local  10,000  client -> router 10.10.0.1, ports 10000-19999: LAN-local, not NATed
    alt    10,000  client -> internet host, ports 20000-29999, begun during failover: via gw1,
                   not NATed by the router

Expected:

    failover (WAN carrier cut): every `wan` entry is gone within 1 s of rule 1000 appearing;
             every other entry of before is still there with the same conntrack id.
    failback (carrier back):    every `alt` entry is gone within 1 s of rule 1000 going; every
             other entry of before is still there with the same id.

Observers: the router's rtnetlink (rule timing) and its nf_conntrack_count (read every 0.5 ms),
then Debian's `conntrack -L` for which entries went — not the sidecar's report. The entry-by-entry
clean-up this replaced took ~1 ms per entry (tens of seconds here) and fails the bound.
"""

import time

import pytest

from failover.lab.netns import wait_for

from failover.lab.flow_scale import Watch, conntrack_count, fill, gone_after, key, long_udp_timeouts, table, touched
from failover.lab.flowlab import CLIENT, INTERNET, WAN, FlowTopology
from failover.lab.flowlab import fail_back, fail_over
from failover.lab.routerlab import PRIORITY, ROUTER_LAN

N = 10_000
BOUND_S = 1.0
SLACK = 50   # wait until this close; the exact figure comes from conntrack -L afterwards


@pytest.fixture
def scale(tmp_path):
    t = FlowTopology.build(tmp_path, nat="masquerade")
    watch = None
    try:
        long_udp_timeouts(t.nets)
        t.hb.write_config(probe=False)
        t.topo.start_host(t.hb.config_path)
        t.hb.start_sidecar()
        wait_for(t.hb.all_up, timeout=5, what="gw1 up")
        watch = Watch(t.nets.ns("router"), PRIORITY)
        yield t, watch
    finally:
        if watch is not None:
            watch.close()
        t.cleanup()


def test_20000_entries_failed_path_gone_within_1s_nothing_else_touched(scale):
    t, watch = scale
    router = t.nets.ns("router")
    fill(t.nets.ns("client"), watch, INTERNET, range(10_000, 10_000 + N), N)
    fill(t.nets.ns("client"), watch, ROUTER_LAN, range(10_000, 10_000 + N), 2 * N)
    before = table(router)
    wan = {key(e) for e in before if e.src == CLIENT and e.dst == INTERNET and e.reply_dst == WAN}
    assert len(wan) >= N, f"{len(wan)} entries NATed to the WAN"
    assert len([e for e in before if e.dst == ROUTER_LAN and e.reply_dst == CLIENT]) >= N

    # -- failover ------------------------------------------------------------------------
    n0 = watch.count()
    t0 = time.monotonic()
    fail_over(t)
    t_rule = watch.rule_time("rule", after=t0)
    watch.shrunk_to(n0 - len(wan) + SLACK, after=t_rule, timeout=60)
    after = table(router)
    took = gone_after(watch, before, after, wan, t_rule)
    print(f"failover: {len(wan)} entries gone {took * 1000:.1f} ms after the rule")
    assert took <= BOUND_S, f"failover: {len(wan)} entries gone {took * 1000:.0f} ms after the rule"
    assert [e for e in after if key(e) in wan] == []
    kept, lost = touched(before, after, wan)
    assert kept >= N and lost == []

    # -- during failover: flows through gw1 ------------------------------------------------
    n1 = watch.count()
    fill(t.nets.ns("client"), watch, INTERNET, range(20_000, 20_000 + N), n1 + N)
    during = table(router)
    alt = {key(e) for e in during if e.src == CLIENT and e.dst == INTERNET and e.reply_dst == CLIENT}
    assert len(alt) >= N, f"{len(alt)} entries via gw1"

    # -- failback ------------------------------------------------------------------------
    n2 = watch.count()
    t2 = time.monotonic()
    fail_back(t)
    t_unrule = watch.rule_time("unrule", after=t2)
    watch.shrunk_to(n2 - len(alt) + SLACK, after=t_unrule, timeout=60)
    final = table(router)
    took = gone_after(watch, during, final, alt, t_unrule)
    print(f"failback: {len(alt)} entries gone {took * 1000:.1f} ms after the rule went")
    assert took <= BOUND_S, f"failback: {len(alt)} entries gone {took * 1000:.0f} ms after the rule went"
    assert [e for e in final if key(e) in alt] == []
    kept, lost = touched(during, final, alt)
    assert kept >= N and lost == []
    assert abs(conntrack_count(router) - len(final)) < 100  # the tool's count agrees with its list
