"""Stopping the daemon: what it leaves in the FIB, and the control socket file it leaves none of.

Expected routing state after `failover host` stops (SIGTERM) while failed over, and after the next
start: expected.toml beside this file. And no file at control.socket.
"""

import os
import socket

from failover.lab.netns import wait_for

from failover.lab.routerlab import failover_rule


def test_stop_while_failed_over_leaves_fib_and_removes_socket(topo, expected):
    topo.start_host()
    topo.set_isp(False)
    wait_for(lambda: failover_rule(topo), what="the failover rule")
    wait_for(lambda: topo.forwarding(1) == "1", what="gw1 told up")
    rules, routes = topo.rules(), topo.table_routes()

    assert topo.stop_host() == 0
    assert not os.path.lexists(topo.socket_path)
    assert topo.rules() == rules
    assert topo.table_routes() == routes
    assert topo.routing_is(expected["stopped_failed_over"]), topo.routing()

    topo.set_isp(True)
    topo.start_host()
    wait_for(lambda: topo.routing_is(expected["restarted_wan_up"]), what="rule removed, gw1 told down by the next start")


def test_stale_socket_file_is_replaced_at_start(topo):
    topo.config()
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(topo.socket_path)   # a crash leaves the file with nobody behind it
    stale.close()
    assert os.path.lexists(topo.socket_path)
    topo.start_host()
    assert topo.control("state").startswith("ok ")
