"""The WAN device comes and goes: wan0 deleted and created again (same name, new ifindex), 5 times.

Topology: failover/lab/sidecarlab.py (router, ISP, internet host with a reflector, gw1
and gw2 with agents); host (daemon) and sidecar on the router, path check to the internet host
through wan0. Failback hold-down off (failover/lab/routerlab.py NO_HOLD: only min_clean_ms = 1 s), so each
return fails back as after a single outage; dampening's growth is tested elsewhere.

Expected routing state, per cycle (observed with `ip rule` and the daemon's control socket):

    wan0 deleted:             carrier down -> one rule "1000: lookup 100", default via the elected
                              gateway: gw1 throughout (gw2 is as near, a fraction of a millisecond
                              either way, which never moves the election), its forwarding on
    wan0 created again        carrier up, and the path check, bound to the new wan0, answers ->
    (new ifindex, addresses    rule gone, both forwarding off; daemon: wan=up carrier=up path=up
     and default restored):
"""

import time

import pytest

from failover.lab.netns import wait_for
from failover.lab.routerlab import NO_HOLD

from failover.lab.sidecarlab import path_verdicts
from failover.lab.routerlab import failover_rule

CYCLES = 5


@pytest.fixture
def running(hb):
    hb.write_config(dampening=NO_HOLD)
    hb.topo.start_host(hb.config_path)
    hb.start_sidecar()
    wait_for(lambda: hb.state()["daemon"]["connected"], what="sidecar connected to the daemon")
    wait_for(lambda: path_verdicts(hb)[-1:] == [True], what="the path check's first verdict: up")
    wait_for(lambda: hb.topo.state()["path"] == "up", what="the daemon told: path up")
    return hb


def test_wan_deleted_and_recreated_fails_over_and_back_each_time(running):
    topo = running.topo
    indexes = {topo.wan_ifindex()}
    for cycle in range(CYCLES):
        topo.delete_wan()
        wait_for(lambda: failover_rule(topo), timeout=5, what=f"cycle {cycle}: the failover rule")
        st = topo.state()
        assert (st["carrier"], st["wan"], st["failover"]) == ("down", "down", "on"), st
        assert st["elected"] == topo.gateways[0] and topo.default_via() == topo.gateways[0], st
        wait_for(lambda: topo.forwarding(1) == "1", what=f"cycle {cycle}: gw1 told up")
        assert topo.forwarding(2) == "0"
        time.sleep(1.0)  # gone for a while: the path check's probes fail meanwhile
        assert failover_rule(topo)

        topo.recreate_wan((150 + cycle, 250 + cycle))
        index = topo.wan_ifindex()
        assert index not in indexes
        indexes.add(index)
        # Not a speed figure (bench/wan_recreate.py times it): the rule must go, with no restart.
        wait_for(lambda: topo.rules() == [], timeout=10, what=f"cycle {cycle}: failback after wan0 returned")
        wait_for(lambda: topo.forwarding(1) == topo.forwarding(2) == "0", what=f"cycle {cycle}: gateways told down")
        st = topo.state()
        assert (st["carrier"], st["path"], st["wan"], st["failover"]) == ("up", "up", "up", "off"), st
    assert running.state()["wan"] == {"interface": "wan0", "carrier": True, "path": True, "up": True}
    # The path check itself came back each time (it was not the carrier alone).
    assert path_verdicts(running).count(True) >= 1 + CYCLES
    assert running.sidecar.poll() is None and topo.host.poll() is None
