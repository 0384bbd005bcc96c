"""SIGHUP reloads the config of the bare `failover host` (the scripts without a sidecar).

The host reads its config into conf.lua, the scripts' view of it. A SIGHUP reads the file again:
one whose conf.lua differs restarts the daemon and notifier with it, the elected gateway first,
leaving the FIB alone; one that changes nothing for the scripts (the sidecar's fields, say)
restarts nothing; one that does not load, or moves the rule or the control socket, is refused
whole and the running scripts go on. (Before, SIGHUP's default action killed the host.)

Three gateways exist; the config starts with gw1 and gw2, and the WAN's carrier is cut.

Expected routing state (router namespace), throughout after the carrier loss:

    one rule "1000: from all lookup 100"; table 100's default via the elected gateway (told up)
"""

from __future__ import annotations

import signal
import time

import pytest

from failover.lab.netns import wait_for

from failover.lab.rulewatch import RuleWatch
from failover.lab.routerlab import RouterTopology, gateway_address


@pytest.fixture
def topo(tmp_path):
    t = RouterTopology.build(tmp_path, n_gateways=3)
    try:
        yield t
    finally:
        t.cleanup()


def hangup(topo, host, logged: str) -> None:
    before = topo.log("host").count(logged)
    host.send_signal(signal.SIGHUP)
    wait_for(lambda: topo.log("host").count(logged) > before, what=f"{logged!r} in the host's log")
    assert host.poll() is None, topo.log("host")


def test_sighup_reloads_the_bare_host_and_refuses_bad_files(topo):
    gw1, gw2, gw3 = (gateway_address(i) for i in (1, 2, 3))
    config = topo.config([gw1, gw2])
    host = topo.start_host(config)
    topo.set_isp(False)
    wait_for(topo.has_failover_rule, what="the failover rule")
    wait_for(lambda: topo.default_via() == gw1 and topo.forwarding(1) == "1", what="gw1 told up")
    assert topo.control(f"elect {gw3}") == f"err unknown gateway {gw3}"
    watch = RuleWatch(topo.nets.ns("router")).start()
    monitor = topo.nets.spawn("router", ["ip", "monitor", "route"], log=topo.tmp / "routes.log")
    try:
        # gw3 added: conf.lua differs, the scripts restart with it; the rule and T's default stay.
        config.write_text(config.read_text() + f'[[gateway]]\nname = "gw3"\naddress = "{gw3}"\n')
        hangup(topo, host, "reloaded")
        assert "scripts restarted with the new conf.lua" in topo.log("host")
        assert topo.log("host").count("daemon started") == 2
        time.sleep(0.5)
        assert "table 100" not in topo.log("routes"), topo.log("routes")  # T's default never moved
        assert topo.default_via() == gw1 and topo.state()["elected"] == gw1
        wait_for(lambda: topo.control(f"elect {gw3}") == "ok", what="the daemon knowing gw3")
        wait_for(lambda: topo.default_via() == gw3 and topo.forwarding(3) == "1", what="gw3 elected and told up")
        time.sleep(0.5)
        watch.sync()
        assert watch.events == [], watch.events  # the rule never went, never came again
        assert topo.has_failover_rule()

        # The sidecar's fields only: nothing for the scripts, nothing restarted.
        config.write_text(config.read_text() + "[heartbeat]\ndetect_multiplier = 5\n")
        hangup(topo, host, "nothing changed for the scripts")
        assert topo.log("host").count("daemon started") == 2
        assert topo.state()["elected"] == gw3

        # A broken file, then a moved rule: refused whole, the running scripts go on.
        good = config.read_text()
        config.write_text(good + '[[gateway]]\nname = "gw4"\naddress = "10.10.0.300"\n')
        hangup(topo, host, "reload refused")
        assert "gateway.3.address" in topo.log("host")
        config.write_text(good.replace("priority = 1000", "priority = 1001"))
        hangup(topo, host, "failover.priority cannot change without a restart")
        assert topo.log("host").count("daemon started") == 2
        time.sleep(0.3)
        watch.sync()
        assert watch.events == [] and topo.has_failover_rule() and topo.default_via() == gw3
        assert topo.state()["elected"] == gw3 and topo.state()["failover"] == "on"
    finally:
        topo.nets.stop(monitor)
        watch.close()
    assert topo.stop_host() == 0
