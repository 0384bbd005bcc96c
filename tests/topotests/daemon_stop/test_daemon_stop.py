"""Stopping the daemon: what it leaves in the FIB, and the control socket file it leaves none of.

Expected routing state after `failover host` stops (SIGTERM) while failed over: unchanged, so
traffic keeps flowing via the alternate while nobody watches:
    one rule "1000: from all lookup 100";
    table 100 = { 10.10.0.0/24 dev lan0, default via 10.10.0.11 dev lan0 };
    gw1's forwarding still on (it was not told down), gw2's off;
and no file at control.socket. The next start reconciles: the WAN is back, so the rule goes.
"""

import os
import socket

from failover.lab.netns import wait_for

from failover.lab.routerlab import failover_rule
from failover.lab.routerlab import LAN_PREFIX


def test_stop_while_failed_over_leaves_fib_and_removes_socket(topo):
    topo.start_host()
    topo.set_isp(False)
    wait_for(lambda: failover_rule(topo), what="the failover rule")
    wait_for(lambda: topo.forwarding(1) == "1", what="gw1 told up")
    rules, routes = topo.rules(), topo.table_routes()

    assert topo.stop_host() == 0
    assert not os.path.lexists(topo.socket_path)
    assert topo.rules() == rules
    assert topo.table_routes() == routes
    assert {r["dst"] for r in routes} == {"default", LAN_PREFIX}
    assert (topo.forwarding(1), topo.forwarding(2)) == ("1", "0")

    topo.set_isp(True)
    topo.start_host()
    wait_for(lambda: topo.rules() == [], what="the rule removed by the next start")
    wait_for(lambda: topo.forwarding(1) == "0", what="gw1 told down by the next start")


def test_stale_socket_file_is_replaced_at_start(topo):
    topo.config()
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(topo.socket_path)   # a crash leaves the file with nobody behind it
    stale.close()
    assert os.path.lexists(topo.socket_path)
    topo.start_host()
    assert topo.control("state").startswith("ok ")
