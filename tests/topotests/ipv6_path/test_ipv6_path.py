"""Each family judged on its own: an IPv6-only blackout beyond the ISP moves IPv6 only, while an
IPv4 flow keeps going through the WAN without a gap; an IPv4-only blackout moves IPv4 only.

Topology: the router scenario with flows (client, NAT) and the internet host beyond the ISP,
dual-stack (the topology engine's ``ipv6``; wan6.py); one gateway, gw1, with its ``address6``. Targets: the
internet host's STAMP reflector on IPv4 (203.0.113.1) and on IPv6 (fd00:203:0:113::1), each
judging its own family's path. Observers: the kernel's rule notifications in the router (an
rtnetlink listener, both families) and, for the IPv4 flow, a receiver on the internet host
counting sequence numbers. Neither takes the daemon's word.

Expected routing state:

    both families answer:        no rule in either family
    IPv6 blackout beyond ISP:    ``ip -6 rule``: 1000: from all lookup 100, exactly once;
                                 ``ip -6 route show table 100``: the LAN's prefix and
                                 default via fd00:10::11 dev lan0;
                                 ``ip rule``: no failover rule, ever; the IPv4 flow loses nothing;
                                 the daemon's state: path=up path6=down failover=off failover6=on
    IPv6 back:                   no rule in either family
    IPv4 blackout beyond ISP:    ``ip rule``: 1000: from all lookup 100; no IPv6 rule, ever;
                                 path=down path6=up failover=on failover6=off
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from failover.lab.netns import wait_for
from failover.lab.routerlab import INTERNET, PRIORITY, REPO, TABLE
from failover.lab.sidecarlab import HeartbeatTopology

from failover.lab.rulewatch import FibWatch  # the topology engine's one rtnetlink watcher, both families

from .wan6 import GW1_6, INTERNET6, LAN6_PREFIX, CountedFlow, blackout, build, end_blackout, write_config

TARGETS = [{"address": INTERNET, "kind": "stamp", "interval_ms": 5},
           {"address": INTERNET6, "kind": "stamp", "interval_ms": 5}]


@pytest.fixture
def dual(tmp_path):
    hb = build(tmp_path)
    watch = None
    try:
        watch = FibWatch(hb.nets.ns("router")).start()
        yield hb, watch
    finally:
        if watch is not None:
            watch.close()
        hb.cleanup()


def start(hb: HeartbeatTopology, targets=TARGETS, **sections: dict) -> None:
    hb.topo.start_host(write_config(hb, targets, **sections))
    hb.start_sidecar()
    wait_for(lambda: all(t["status"] == "up" for t in hb.http.get("/api/v1/targets").json()), timeout=15,
             what="every target up")
    wait_for(lambda: daemon(hb)["path6"] == "up" and daemon(hb)["path"] == "up", timeout=5, what="both paths up")


def daemon(hb: HeartbeatTopology) -> dict[str, str]:
    return hb.topo.state()


def rules(hb: HeartbeatTopology, family: str) -> list[dict]:
    out = hb.nets.ip("router", family, "-j", "rule", "show", "priority", str(PRIORITY)).stdout
    return json.loads(out or "[]")


def test_targets_carry_their_family(dual):
    hb, _ = dual
    start(hb)
    got = hb.http.get("/api/v1/targets").json()
    assert [(t["address"], t["kind"], t["status"]) for t in got] == [(INTERNET, "stamp", "up"),
                                                                    (INTERNET6, "stamp", "up")]
    metrics = hb.http.get("/metrics").text
    assert f'failover_wan_target_up{{address="{INTERNET6}",family="ipv6",kind="stamp"}} 1.0' in metrics, metrics


def test_ipv6_blackout_moves_ipv6_only_and_the_ipv4_flow_keeps_going(dual):
    hb, watch = dual
    start(hb)
    flow = CountedFlow(hb).start()
    try:
        time.sleep(1.0)
        first = flow.mark()
        blackout(hb, "ip6")
        wait_for(lambda: watch.snapshot()[1] == 1, timeout=5, what="the IPv6 failover rule")
        s = daemon(hb)
        assert (s["path"], s["path6"], s["failover"], s["failover6"]) == ("up", "down", "off", "on"), s
        six = rules(hb, "-6")
        assert len(six) == 1 and six[0].get("table") == str(TABLE), six
        routes = hb.nets.ip("router", "-6", "route", "show", "table", str(TABLE)).stdout
        assert LAN6_PREFIX in routes and f"default via {GW1_6} dev lan0" in routes, routes
        time.sleep(2.0)  # the IPv4 flow keeps going through the WAN meanwhile
        last = flow.mark()
        end_blackout(hb, "ip6")
        wait_for(lambda: watch.snapshot()[1] == 0, timeout=10, what="IPv6 failing back")
        time.sleep(0.5)  # the last packets in flight
    finally:
        flow.close()
    assert watch.rule4_adds == 0 and rules(hb, "-4") == []  # IPv4 never moved
    assert watch.max_rules6 == 1
    lost = flow.lost_between(first, last)
    assert last - first > 800 and lost == [], f"{len(lost)} of {last - first} IPv4 packets lost"
    log = hb.http.get("/api/v1/log").json()
    verdicts = [(e["family"], e["path"]) for e in log if e.get("source") == "path-check"]
    assert verdicts == [("ipv4", True), ("ipv6", True), ("ipv6", False), ("ipv6", True)] or \
        verdicts == [("ipv6", True), ("ipv4", True), ("ipv6", False), ("ipv6", True)], verdicts
    failovers = [(e["family"], e["active"]) for e in log if e["kind"] == "failover" and "active" in e]
    assert failovers == [("ipv6", True), ("ipv6", False)], failovers
    # Silence, not a reply timeout: the IPv4 flow's echoes kept the WAN receiving, but IPv6's own
    # receive counter stood still, so the blackout was told from a slow path at once.
    down = [e["message"] for e in log if e.get("address") == INTERNET6 and e.get("status") == "down"]
    assert down and "nothing received for" in down[0] and "though traffic came in" not in down[0], down


def test_ipv4_blackout_moves_ipv4_only(dual):
    hb, watch = dual
    start(hb)
    blackout(hb, "ip")
    wait_for(lambda: watch.snapshot()[0] == 1, timeout=5, what="the IPv4 failover rule")
    time.sleep(1.0)
    s = daemon(hb)
    assert (s["path"], s["path6"], s["failover"], s["failover6"]) == ("down", "up", "on", "off"), s
    assert watch.max_rules6 == 0 and rules(hb, "-6") == []
    four = rules(hb, "-4")
    assert len(four) == 1 and four[0].get("table") == str(TABLE), four


def test_an_icmpv6_target_with_errors_counted_as_loss(dual):
    """An ``icmp`` target with an IPv6 address is probed with ICMPv6 echo (RTT from the kernel's
    receive timestamps); ICMPv6 errors quoting our requests are loss, never replies."""
    hb, watch = dual
    start(hb, [TARGETS[0], {"address": INTERNET6, "kind": "icmp", "interval_ms": 20}])
    t6 = {t["address"]: t for t in hb.http.get("/api/v1/targets").json()}[INTERNET6]
    assert t6["kind"] == "icmp" and t6["rtt_ms"] is not None and 0 < t6["rtt_ms"] < 50, t6
    # The ISP refuses what is sent to the target with "address unreachable" (quoting our echo).
    hb.nets.nft("isp", "add table ip6 refuse\n"
                       "add chain ip6 refuse drops { type filter hook forward priority 0; }\n"
                       f"add rule ip6 refuse drops ip6 daddr {INTERNET6} reject with icmpv6 type addr-unreachable\n")
    wait_for(lambda: watch.snapshot()[1] == 1, timeout=5, what="the IPv6 failover rule")

    def errors() -> list[str]:
        return [line for line in hb.http.get("/metrics").text.splitlines()
                if line.startswith("failover_wan_target_icmp_errors_total{") and INTERNET6 in line]

    # /metrics counts come with the core's next snapshot (every 100 ms): waited for, not sampled.
    counted = wait_for(lambda: [e for e in errors() if float(e.split()[-1]) > 0], what="ICMPv6 errors counted")
    assert len(counted) == 1, counted
    down = [e for e in hb.http.get("/api/v1/log").json()
            if e.get("address") == INTERNET6 and e.get("status") == "down"]
    assert down and "blackout" in down[-1]["message"], down
    assert watch.rule4_adds == 0


def test_the_journal_replays_both_families_to_the_live_decisions(dual):
    """``failover replay`` of a run with both families' targets: each family's path verdicts
    word for word as the live log has them, and each family's failover on/off in the live order
    (the daemon's decision.lua run once per family, as the daemon runs it)."""
    hb, watch = dual
    journal = hb.topo.tmp / "journal.jsonl"
    start(hb, journal={"path": str(journal)})
    for family, nft, rules in (("ipv6", "ip6", 1), ("ipv4", "ip", 0)):
        blackout(hb, nft)
        wait_for(lambda: watch.snapshot()[rules] == 1, timeout=5, what=f"the {family} failover rule")
        time.sleep(0.3)
        end_blackout(hb, nft)
        wait_for(lambda: watch.snapshot()[rules] == 0, timeout=10, what=f"{family} failing back")
        time.sleep(0.5)
    live = hb.http.get("/api/v1/log").json()
    hb.sidecar.send_signal(signal.SIGTERM)
    assert hb.sidecar.wait(10) == 0
    proc = subprocess.run([sys.executable, "-m", "failover.cli", "replay", str(journal), "--json"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    replayed = [json.loads(line) for line in proc.stdout.splitlines()]

    def verdicts(entries):
        return [(e["family"], e["message"]) for e in entries if e.get("source") in ("path-check", "target")]

    def failovers(entries):
        return [(e["family"], e["active"]) for e in entries if e["kind"] == "failover" and "active" in e]

    assert verdicts(replayed) == verdicts(live)
    assert [f for f, _ in verdicts(live)].count("ipv6") >= 3, live
    assert failovers(replayed) == failovers(live) == [("ipv6", True), ("ipv6", False), ("ipv4", True), ("ipv4", False)]
