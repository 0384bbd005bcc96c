"""Gateways are reconciled, not assumed: told again after a restart, leased, left when they cannot
be told. Topology: failover/lab/flowlab.py (router masquerading on wan0, each gwN with
its own NATed uplink to the internet host, a LAN client), `failover host` and `failover sidecar`
on the router, heartbeats without a WAN path check (carrier faults only).

Expected routing state, per scenario (WAN carrier lost in each):

    restart      gw1 elected and told up; its agent is killed and forwarding goes back to its boot
                 default (off): the client's flow dies. The agent comes back: once its heartbeat
                 is up again the daemon tells it up again (the sidecar's `reassert`), forwarding
                 is on, the flow echoes; rule 1000 and T's default via gw1 never changed.
                 Old behaviour: "acknowledged up" was held forever, forwarding stayed off.
    lease        an agent with --lease 1: a lone `up` lapses (forwarding off) after 1 s; the
                 daemon's refresh (control.refresh_ms) keeps it on for as long as it runs; the
                 daemon stopped, forwarding goes off within the lease.
    cannot tell  gw1 (best RTT) drops TCP to its control port (nftables) while its STAMP
                 reflector answers. After two failed exchanges the daemon reports it
                 `unreachable=`, REST shows it reachable=false, usable=false, the election moves:
                 T's default via gw2, gw2 forwarding on, the flow echoes through gw2; gw1's
                 forwarding stays off. The drop removed, gw1 acknowledges again, is usable, and
                 the election returns to it (T's default via gw1, gw1 on, gw2 off).
                 Old behaviour: T's default stayed via gw1, nobody forwarded, the flow was dead.
"""

import signal
import socket
import subprocess
import time

import pytest

from failover.lab.netns import wait_for
from failover.lab.nsocket import socket_in

from failover.lab.flowlab import ECHO_PORT, INTERNET, FlowTopology
from failover.lab.routerlab import ROUTER_LAN, gateway_address

GW1, GW2 = gateway_address(1), gateway_address(2)
TO_NET_UDP = f"udp:{INTERNET}:{ECHO_PORT}"
NO_REFRESH_MS = 3_600_000  # the daemon's refresh out of the way: what is tested is the reassert


def start(t: FlowTopology, **control) -> None:
    path = t.hb.write_config(probe=False, hold_ms=500, control=control)
    t.topo.start_host(path)
    t.hb.start_sidecar()
    wait_for(t.hb.all_up, timeout=10, what="every gateway's heartbeat up")


def failed_over(t: FlowTopology, via: str) -> bool:
    st = t.topo.state()
    return st["failover"] == "on" and len(t.topo.rules()) == 1 and t.topo.default_via() == via


@pytest.fixture
def one(ft):
    """One gateway (conftest's ``ft``)."""
    return ft


@pytest.fixture
def two(tmp_path):
    t = FlowTopology.build(tmp_path, n_gateways=2)
    try:
        # gw2 farther away (5 ms): gw1 is the election's clear choice.
        t.topo.stop_agent(2)
        t.topo.start_agent(2, "--lab-delay-ms", "5")
        yield t
    finally:
        t.cleanup()


def test_restarted_elected_gateway_is_told_up_again(one):
    t, topo = one, one.topo
    start(t, refresh_ms=NO_REFRESH_MS)
    topo.set_isp(False)
    wait_for(lambda: failed_over(t, GW1) and topo.forwarding(1) == "1", what="failover via gw1, told up")
    flow = t.hold("udp", udp=TO_NET_UDP)

    # gw1 power-cycles during the outage: the agent dies, forwarding is back to its boot default.
    topo.stop_agent(1, signal.SIGKILL)
    topo.nets.sysctl("gw1", "net.ipv4.ip_forward", 0)
    wait_for(lambda: t.hb.gateways()[GW1]["status"] == "down", what="gw1's heartbeat lost")
    dead = flow.echoed("udp")
    time.sleep(0.5)
    assert flow.echoed("udp") == dead, "the flow should be dead while gw1 does not forward"

    topo.start_agent(1)
    wait_for(lambda: t.hb.gateways()[GW1]["status"] == "up", timeout=5, what="gw1's heartbeat back")
    # Not a speed figure (bench.gateway_reconcile measures it): on the old code this never happens.
    wait_for(lambda: topo.forwarding(1) == "1", timeout=3, what="gw1 told up again")
    flow.echoes_resume("udp", timeout=3)
    assert failed_over(t, GW1)


def send_line(t: FlowTopology, line: bytes, address: str = GW1) -> str:
    s = socket_in(t.nets.ns("router"), socket.AF_INET, socket.SOCK_STREAM)
    with s:
        s.settimeout(3)
        s.bind((ROUTER_LAN, 0))
        s.connect((address, 7070))
        s.sendall(line)
        return s.recv(64).decode()


def forwarding_during(t: FlowTopology, seconds: float) -> set[str]:
    seen, end = set(), time.monotonic() + seconds
    while time.monotonic() < end:
        seen.add(t.topo.forwarding(1))
        time.sleep(0.05)
    return seen


def test_lone_up_lapses_after_the_lease(one):
    t, topo = one, one.topo
    topo.stop_agent(1)
    topo.start_agent(1, "--lease", "1")
    assert send_line(t, b"up\n") == "ok\n"
    assert topo.forwarding(1) == "1"
    wait_for(lambda: topo.forwarding(1) == "0", timeout=3, what="the lease lapsing")
    assert send_line(t, b"up\n") == "ok\n"   # a new up starts a new lease
    assert topo.forwarding(1) == "1"
    assert send_line(t, b"down\n") == "ok\n"
    assert forwarding_during(t, 1.5) == {"0"}  # a down ends the lease: nothing lapses later


@pytest.mark.parametrize("refresh_ms, kept", [(300, True), (NO_REFRESH_MS, False)],
                         ids=["refreshed", "not-refreshed"])
def test_refresh_renews_the_lease_while_the_router_lives(one, refresh_ms, kept):
    t, topo = one, one.topo
    topo.stop_agent(1)
    topo.start_agent(1, "--lease", "1")
    start(t, refresh_ms=refresh_ms)
    topo.set_isp(False)
    wait_for(lambda: failed_over(t, GW1) and topo.forwarding(1) == "1", what="failover via gw1, told up")
    seen = forwarding_during(t, 3.0)   # three leases long
    if kept:
        assert seen == {"1"}, "forwarding lapsed although the daemon refreshed every 300 ms"
        # The router dies: nobody renews, the gateway stops forwarding within the lease.
        t.nets.stop(t.hb.sidecar)
        topo.stop_host()
        wait_for(lambda: topo.forwarding(1) == "0", timeout=3, what="the lease lapsing after the router died")
    else:
        # Without a refresh the lease lapses: what shows that the refresh is what kept it.
        assert "0" in seen


def block_control(t: FlowTopology, role: str) -> None:
    """The agent's control port silently drops TCP; its STAMP reflector (UDP) still answers."""
    rules = ("table inet blockctl {\n chain input {\n  type filter hook input priority 0; policy accept;\n"
             "  tcp dport 7070 drop\n }\n}\n")
    subprocess.run(["ip", "netns", "exec", t.nets.ns(role), "nft", "-f", "-"], input=rules, text=True,
                   check=True, capture_output=True)


def unblock_control(t: FlowTopology, role: str) -> None:
    t.nets.exec(role, "nft", "delete", "table", "inet", "blockctl")


def test_gateway_that_cannot_be_told_is_left_for_the_next(two):
    t, topo = two, two.topo
    start(t)
    wait_for(lambda: topo.state()["elected"] == GW1, timeout=5, what="gw1 elected (best RTT)")
    flow = t.hold("udp", udp=TO_NET_UDP)
    block_control(t, "gw1")
    topo.set_isp(False)

    wait_for(lambda: failed_over(t, GW2) and topo.forwarding(2) == "1", timeout=6,
             what="the election moved to gw2 and told it up")
    flow.echoes_resume("udp", timeout=3)
    assert topo.forwarding(1) == "0"
    # REST's `elected` is the daemon's as the sidecar last polled it (every 100 ms): waited for.
    gws = wait_for(lambda: (g := t.hb.gateways())[GW2]["elected"] and g, what="REST: gw2 elected")
    assert (gws[GW1]["status"], gws[GW1]["reachable"], gws[GW1]["usable"]) == ("up", False, False)
    assert (gws[GW2]["reachable"], gws[GW2]["usable"], gws[GW2]["elected"]) == (True, True, True)
    assert GW1 in topo.state()["unreachable"].split(",")
    log = [e["message"] for e in t.hb.http.get("/api/v1/log").json() if e["kind"] in ("gateway", "election")]
    assert any("gw1 10.10.0.11 unusable" in m for m in log), log
    assert any("cannot be told: moved at once to gw2" in m for m in log), log
    r = t.hb.http.request("POST", "/api/v1/elect", json={"address": GW1}, headers=t.hb.auth())
    assert r.status_code == 409 and "does not answer up/down" in r.json()["detail"], r.text

    # gw1 answers again: it acknowledges its "down", is usable, and the election returns to it.
    unblock_control(t, "gw1")
    wait_for(lambda: t.hb.gateways()[GW1]["reachable"] is True, timeout=10, what="gw1 reachable again")
    wait_for(lambda: failed_over(t, GW1) and topo.forwarding(1) == "1" and topo.forwarding(2) == "0",
             timeout=5, what="the election back on gw1, told up, gw2 down")
    flow.echoes_resume("udp", timeout=3)
    assert topo.state()["unreachable"] == "none"
