"""The talk's own failover/service script, unmodified, moves the rule under the host.

Expected: carrier lost on wan0 -> "1000: from all lookup 100 proto kernel" and gw1 forwarding;
carrier back -> no rule at 1000 and gw1 not forwarding.
"""

import sys

from failover.lab.netns import wait_for

from failover.lab.routerlab import REPO


def test_talk_service_moves_rule_on_carrier_changes(topo):
    proc = topo.nets.spawn(
        "router",
        [sys.executable, "-m", "failover.cli", "lunatik", "--talk", "--root", "kernel/talk", "run", "failover/service"],
        log=topo.tmp / "talk.log", cwd=REPO,
    )
    # The daemon is loaded by the service's last line, after its notifier is registered.
    wait_for(lambda: "elected 10.10.0.11" in topo.log("talk"), what="the service loaded", timeout=10)
    assert topo.rules() == [] and proc.poll() is None
    topo.set_isp(False)
    wait_for(lambda: len(topo.rules()) == 1, what="the talk's rule", timeout=5)
    rule = topo.rules()[0]
    assert rule["table"] == "100" and rule.get("protocol") == "kernel", rule
    wait_for(lambda: topo.forwarding(1) == "1", what="gw1 told up")
    topo.set_isp(True)
    wait_for(lambda: topo.rules() == [], what="rule removed")
    wait_for(lambda: topo.forwarding(1) == "0", what="gw1 told down")
    assert topo.nets.stop(proc) == 0, topo.log("talk")
    assert "error" not in topo.log("talk"), topo.log("talk")
