"""Several path-check targets: a quorum, target faults that never fail over, ICMP beside STAMP.

Topology (failover/lab/sidecarlab.py plus two hosts that only answer ICMP echo, each in its own
network behind the ISP: failover/lab/targets.py; the ``net`` fixture in conftest.py):

    router ── wan0 ═══ isp0 ── isp ── inet0 ═══ internet 203.0.113.1 (STAMP reflector)
                                  ├── tgt1 ═══ icmp1   192.0.2.53   (echo only)
                                  └── tgt2 ═══ icmp2   198.18.0.53  (echo only)

Config: the three as ``[[wan.target]]`` (stamp at 5 ms, icmp at 100 ms), reliability 2 unless
said. Silencing a target is a drop rule for it in the ISP (nftables), so the rest of the path is
untouched; an ISP blackout is the ISP no longer forwarding. Rules are counted by an rtnetlink
listener in the router (RTM_NEWRULE at priority 1000), not by the daemon.

Expected routing state:

    all targets answer:                    no rule; every target "up"
    one target silenced (reliability 2):   no rule ever; that target "down", path up; a target
                                           fault in the log and in /metrics
    ... with reliability 3:                 the rule (the same fault is a failover: the check
                                           above can see one)
    two of three silenced (reliability 2): one rule "1000: lookup 100"
    ... with reliability 1:                 no rule
    ISP blackout:                          one rule
    silenced target answers again:         that target "up" again, no rule
    one target dropping 50 % of echo requests (20 s here; 5 minutes: bench/path_targets.py):
                                           no rule ever
"""

from __future__ import annotations

import time

import pytest

from prometheus_client.parser import text_string_to_metric_families
from failover.lab.netns import wait_for

from failover.lab.routerlab import INTERNET, failover_rule
from failover.lab.sidecarlab import path_verdicts
from failover.lab.targets import ICMP1, ICMP2

def test_targets_are_listed_as_the_contract_says(net):
    net.start()
    got = net.hb.http.get("/api/v1/targets").json()
    assert [(t["address"], t["kind"], t["status"]) for t in got] == [
        (INTERNET, "stamp", "up"), (ICMP1, "icmp", "up"), (ICMP2, "icmp", "up")]
    assert all(set(t) == {"address", "kind", "status", "rtt_ms", "loss"} for t in got)
    assert all(t["rtt_ms"] is not None and 0 < t["rtt_ms"] < 50 and t["loss"] == 0.0 for t in got), got


def metrics(net) -> dict[tuple[str, str | None], float]:
    """/metrics samples by (name, target address)."""
    text = net.hb.http.get("/metrics").text
    return {(s.name, s.labels.get("address")): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def fault_then_hold(net, silenced: list[str], hold_s: float = 3.0) -> None:
    for address in silenced:
        net.silence(address)
    wait_for(lambda: all(net.targets()[a]["status"] == "down" for a in silenced), timeout=5,
             what=f"{silenced} shown down")
    time.sleep(hold_s)


@pytest.mark.parametrize("reliability,fails_over", [(2, False), (3, True)])
def test_one_target_silenced_is_a_target_fault_not_a_failover(net, reliability, fails_over):
    net.start(reliability)
    fault_then_hold(net, [ICMP1])
    added = net.rules_added()
    if fails_over:  # the same fault without the quorum's slack: this test can see a failover
        assert added == 1 and failover_rule(net.hb.topo)
        return
    assert added == 0 and net.hb.topo.rules() == []
    assert path_verdicts(net.hb) == [True]
    t = net.targets()
    assert (t[ICMP1]["status"], t[ICMP2]["status"], t[INTERNET]["status"]) == ("down", "up", "up")
    assert net.hb.state()["wan"]["path"] is True
    faults = [e for e in net.hb.http.get("/api/v1/log").json() if e.get("fault")]
    assert [(e["kind"], e["address"]) for e in faults] == [("wan", ICMP1)], faults
    assert "target fault" in faults[0]["message"] and "no failover" in faults[0]["message"]
    m = metrics(net)
    assert m[("failover_wan_target_faults_total", ICMP1)] == 1.0, m
    assert m[("failover_wan_target_up", ICMP1)] == 0.0 and m[("failover_wan_target_up", ICMP2)] == 1.0
    assert m[("failover_wan_confirmation_rounds_total", None)] == 1.0


@pytest.mark.parametrize("reliability,fails_over", [(2, True), (1, False)])
def test_two_of_three_silenced(net, reliability, fails_over):
    net.start(reliability)
    fault_then_hold(net, [ICMP1, INTERNET])
    assert net.rules_added() == (1 if fails_over else 0)
    assert bool(failover_rule(net.hb.topo)) is fails_over
    assert path_verdicts(net.hb) == ([True, False] if fails_over else [True])


def test_isp_blackout_fails_over(net):
    net.start()
    net.hb.isp_forwarding(False)
    wait_for(lambda: failover_rule(net.hb.topo), timeout=3, what="failover on an ISP blackout")
    assert path_verdicts(net.hb) == [True, False]
    # The API answers from the core's latest snapshot (sent on a state change and every 100 ms):
    # the rule can be in the kernel before the snapshot that shows the targets down.
    wait_for(lambda: all(t["status"] == "down" for t in net.targets().values()), timeout=1,
             what="every target shown down")


def test_a_silenced_target_that_answers_again_is_shown_up(net):
    net.start()
    fault_then_hold(net, [ICMP2], hold_s=0.5)
    net.unsilence()
    wait_for(lambda: net.targets()[ICMP2]["status"] == "up", timeout=5, what="the target up again")
    ups = [e for e in net.hb.http.get("/api/v1/log").json() if e.get("address") == ICMP2 and e.get("status") == "up"]
    assert ups and "consecutive replies" in ups[-1]["message"]
    assert net.rules_added() == 0


def test_one_target_dropping_half_its_echo_requests_never_fails_over(net):
    net.start()
    net.nft("icmp1", "add table ip lossy\n"
                     "add chain ip lossy inbound { type filter hook input priority 0; }\n"
                     "add rule ip lossy inbound icmp type echo-request numgen random mod 100 < 50 drop\n")
    time.sleep(20)
    assert net.rules_added() == 0 and path_verdicts(net.hb) == [True]
    t = net.targets()[ICMP1]
    assert 0.3 < t["loss"] < 0.7, t  # the drop really happened


def test_icmp_errors_about_our_echoes_are_loss_never_replies(net):
    net.start()
    # The ISP refuses what is sent to icmp1 with "host unreachable" (quoting our echo request).
    net.nft("isp", f"add rule ip silence drops ip daddr {ICMP1} reject with icmp type host-unreachable\n")
    wait_for(lambda: net.targets()[ICMP1]["status"] == "down", timeout=5, what="icmp1 down on errors")
    m = metrics(net)
    assert m[("failover_wan_target_icmp_errors_total", ICMP1)] > 0, m
    assert m[("failover_wan_target_icmp_errors_total", ICMP2)] == 0.0
    down = [e for e in net.hb.http.get("/api/v1/log").json()
            if e.get("address") == ICMP1 and e.get("status") == "down" and not e.get("fault")]
    assert down and "blackout" in down[-1]["message"], down
    assert net.rules_added() == 0  # a fault, the quorum holds
