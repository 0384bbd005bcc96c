"""Heartbeats drive failover: the WAN path check and the gateways' STAMP sessions, in namespaces.

Topology: failover/lab/sidecarlab.py (router, ISP, internet host with a reflector,
gw1 10.10.0.11 and gw2 10.10.0.12 with agents). Host (daemon) and sidecar run on the router.

Expected routing state, per scenario:

    WAN path answers:        no rule at priority 1000; gw1/gw2 forwarding off
    ISP stops forwarding:    carrier stays up, path down -> one rule "1000: lookup 100",
    (silent blackout)        table 100 default via 10.10.0.11 (first elected), gw1 forwarding on
    ISP forwards again:      path up after recover_count replies -> rule gone, gw1 forwarding off
    elected gw1 dies         (failover active) gw1 heartbeats down -> election moves at once:
                             table 100 default via 10.10.0.12, gw2 forwarding on
"""

import time

import pytest

from failover.lab.netns import wait_for

from failover.lab.routerlab import failover_rule
from failover.lab.sidecarlab import failover_switches, path_verdicts


@pytest.fixture
def running(hb):
    """Host and sidecar on the router, path check to the internet host, both gateways up."""
    # A long hold keeps the first-elected gw1 whatever the RTT noise between two veths says
    # while the API's process starts.
    hb.write_config(hold_ms=600_000)
    hb.topo.start_host(hb.config_path)
    hb.start_sidecar()
    wait_for(hb.all_up, timeout=5, what="both gateways up")
    wait_for(lambda: hb.state()["daemon"]["connected"], what="sidecar connected to the daemon")
    wait_for(lambda: path_verdicts(hb)[-1:] == [True], what="the path check's first verdict: up")
    return hb


def test_silent_blackout_fails_over_via_heartbeats(running, expected):
    topo = running.topo
    assert topo.routing_is(expected["wan_up"]) and topo.state()["wan"] == "up", topo.routing()
    t0 = time.monotonic()
    running.isp_forwarding(False)
    wait_for(lambda: failover_rule(topo), timeout=5, what="the failover rule")
    took = time.monotonic() - t0
    wait_for(lambda: topo.forwarding(1) == "1", what="gw1 told up")
    st = topo.state()
    assert (st["carrier"], st["path"], st["wan"], st["failover"]) == ("up", "down", "down", "on")
    assert topo.routing_is(expected["failed_over"]), topo.routing()
    # The sidecar reads the daemon's state back every 100 ms.
    s = wait_for(lambda: (s := running.state())["failover"]["active"] and s, what="REST state: failover on")
    assert s["wan"] == {"interface": "wan0", "carrier": True, "path": False, "up": False}
    assert s["failover"]["active"] is True and s["failover"]["rule"] is True
    assert isinstance(s["failover"]["since"], float)
    assert took < 2.0, f"silent blackout took {took:.2f} s to fail over"  # generous: not a benchmark


def test_recovery_fails_back_after_the_path_recovers(running, expected):
    topo = running.topo
    running.isp_forwarding(False)
    wait_for(lambda: topo.forwarding(1) == "1", timeout=5, what="failover to gw1")
    # While failed over, the path check still probes through wan0 (bound to the device).
    running.isp_forwarding(True)
    wait_for(lambda: topo.rules() == [], timeout=5, what="failback: rule removed")
    wait_for(lambda: topo.routing_is(expected["wan_up"]), what="gw1 told down")
    assert topo.state()["path"] == "up"
    assert path_verdicts(running) == [True, False, True]
    # Failover on, then off (the conntrack clean-up's reports are "failover" entries too).
    wait_for(lambda: failover_switches(running) == [True, False], what="failover on and off in the log")


def test_elected_gateway_dies_election_moves_and_routing_follows(running, expected):
    topo = running.topo
    topo.set_isp(False)  # carrier loss: failover via gw1
    wait_for(lambda: topo.default_via() == "10.10.0.11" and topo.forwarding(1) == "1", what="failover via gw1")
    topo.nets.ip("gw1", "link", "set", "eth0", "down")  # gw1 dies
    wait_for(lambda: topo.default_via() == "10.10.0.12", timeout=3, what="table 100 default via gw2")
    wait_for(lambda: topo.forwarding(2) == "1", what="gw2 told up")
    assert topo.routing_is(expected["gw2_elected"]), topo.routing()
    wait_for(lambda: running.state()["elected"] == {"address": "10.10.0.12", "name": "gw2", "pinned": False},
             what="REST state follows the daemon")
    gws = running.gateways()
    assert gws["10.10.0.11"]["status"] == "down" and gws["10.10.0.12"]["elected"] is True


def restart_agent_with_lab_delay(hb, i: int, address: str, delay_ms: int) -> None:
    """Replace gw<i>'s agent by one whose reflector holds replies (the agent's lab-only option)."""
    old = next(p for p in hb.nets.procs if address in p.args)
    hb.nets.stop(old)
    hb.topo.start_agent(i, "--lab-delay-ms", str(delay_ms))


def test_slower_gateway_loses_the_election_after_the_hold(hb):
    # gw1 (the daemon's default, first configured) is 40 ms away; gw2 is near. No gateway goes
    # down: gw2 wins on latency alone, once it has led by more than the margin for hold_ms.
    restart_agent_with_lab_delay(hb, 1, "10.10.0.11", 40)
    hb.write_config(hold_ms=500)
    hb.topo.start_host(hb.config_path)
    hb.start_sidecar()
    wait_for(lambda: hb.state()["elected"]["address"] == "10.10.0.12", timeout=6,
             what="election moved to the nearer gw2")
    wait_for(lambda: hb.topo.state()["elected"] == "10.10.0.12", what="the daemon follows")
    gws = hb.gateways()
    assert gws["10.10.0.11"]["status"] == "up"  # moved on latency, not because gw1 failed
    assert gws["10.10.0.11"]["rtt_ms"] > 30 > gws["10.10.0.12"]["rtt_ms"]
    reasons = [e["message"] for e in hb.http.get("/api/v1/log").json() if e["kind"] == "election"]
    assert any("beat gw1" in r and "hold 500 ms" in r for r in reasons), reasons
