"""WAN failover on real netdev events, with the daemon and notifier in the user-space host.

The expected routing state of each step is written beside this file (expected.toml: WAN up, failed
over, gw2 elected) and read back from the router's kernel (RouterTopology.routing).
"""

import random
import re
import sys
import time
from pathlib import Path

import pytest

from failover.lab.netns import wait_for

from failover.lab.routerlab import ERROR_STYLES, PRIORITY, TABLE, failover_rule


@pytest.fixture(params=ERROR_STYLES)
def error_style(request):
    """Every scenario here holds whatever the kernel's error strings are (see conftest)."""
    return request.param


def test_wan_up_means_no_rule(running, expected):
    assert running.routing_is(expected["wan_up"]), running.routing()
    assert running.state()["failover"] == "off"
    assert running.state()["wan"] == "up"


def test_carrier_loss_installs_rule_and_tells_elected_gateway(running, expected):
    running.set_isp(False)
    wait_for(lambda: failover_rule(running), what="the failover rule")
    wait_for(lambda: running.forwarding(1) == "1", what="gw1 told up")
    assert running.routing_is(expected["failed_over"]), running.routing()
    st = running.state()
    assert (st["wan"], st["carrier"], st["failover"], st["rule"], st["elected"]) == (
        "down", "down", "on", "present", "10.10.0.11")


def test_carrier_back_removes_rule_and_tells_gateway_down(running, expected):
    running.set_isp(False)
    wait_for(lambda: running.forwarding(1) == "1", what="gw1 told up")
    running.set_isp(True)
    wait_for(lambda: running.routing_is(expected["wan_up"]), what="the rule removed, gw1 told down")
    assert running.state()["failover"] == "off"


def test_elect_moves_default_and_swaps_gateways(running, expected):
    running.set_isp(False)
    wait_for(lambda: running.forwarding(1) == "1", what="gw1 told up")
    assert running.control("elect 10.10.0.12") == "ok"
    wait_for(lambda: running.routing_is(expected["gw2_elected"]), what="T's default via gw2, gw2 up, gw1 down")
    assert running.state()["elected"] == "10.10.0.12"


def test_elect_while_wan_up_changes_nothing_in_routing(running, expected):
    assert running.control("elect 10.10.0.12") == "ok"
    # The daemon converges right after the poll that served `elect`; a later request is served
    # by a later poll, so this reply comes after the FIB work the election asked for.
    assert running.state()["elected"] == "10.10.0.12"
    assert running.routing_is(expected["wan_up"]), running.routing()


def test_restart_with_stale_and_duplicate_rules_converges(topo):
    # Stale: the WAN is up but a crash left two copies of the rule and a wrong default in T.
    for _ in range(2):
        topo.add_raw_rule()
    topo.nets.ip("router", "rule", "add", "priority", str(PRIORITY), "lookup", "200")
    assert len(topo.rules()) == 3
    topo.start_host()
    wait_for(lambda: topo.rules() == [], what="stale rules removed")
    # Now down, with a duplicate and a wrong default left behind by "someone".
    topo.set_isp(False)
    wait_for(lambda: failover_rule(topo), what="the failover rule")
    topo.stop_host()
    topo.add_raw_rule()
    topo.nets.ip("router", "route", "replace", "default", "via", "10.10.0.12", "table", str(TABLE))
    assert len(topo.rules()) == 2
    topo.start_host()
    wait_for(lambda: failover_rule(topo) and topo.default_via() == "10.10.0.11", what="one rule, default via gw1")
    assert topo.state()["rule"] == "present"


def test_unanswering_gateway_does_not_stall_daemon(topo):
    # gw3 exists in the config but drops everything: its SYNs are never answered.
    dead = "10.10.0.13"
    topo.nets.ip("router", "neigh", "add", dead, "lladdr", "02:00:00:00:00:13", "dev", "lan0")
    topo.start_host(topo.config(gateways=[*topo.gateways, dead]))
    topo.set_isp(False)
    wait_for(lambda: topo.forwarding(1) == "1", what="gw1 told up")
    assert topo.control("elect 10.10.0.13") == "ok"
    worst = 0.0
    for _ in range(50):  # the exchange with gw3 is in flight all along: the daemon keeps serving
        t0 = time.monotonic()
        assert topo.control("state").startswith("ok ")
        worst = max(worst, time.monotonic() - t0)
    # Not a speed figure: a daemon blocked on gw3 would take the exchange's whole second.
    assert worst < 0.5, f"a control request took {worst * 1000:.0f} ms"
    assert topo.default_via() == dead
    assert topo.control("elect 10.10.0.12") == "ok"
    wait_for(lambda: topo.forwarding(2) == "1", what="gw2 told up despite gw3 never answering")


def test_garbage_control_lines_leave_daemon_serving(running):
    rng = random.Random(862)
    before = running.state()
    samples = [b"", b"\n", b"elect\n", b"elect 999.1.1.1\n", b"elect 10.10.0.99\n", b"path sideways\n",
               b"STATE\n", b"state now\n", b"x" * 5000 + b"\n", b"\xff\xfe\x00\n", b"path  up\n"]
    for i in range(1000):
        if i < len(samples):
            line = samples[i]
        else:
            line = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        try:
            reply = running.control(line, timeout=3)
        except OSError:
            continue  # the daemon may close on us mid-garbage; it must keep serving the next
        assert not reply.startswith("ok") or line.startswith((b"state", b"path", b"elect")), (line, reply)
    after = running.state()
    assert after["failover"] == before["failover"] and after["rule"] == before["rule"]
    assert running.rules() == []


def test_config_lacking_a_site_field_exits_2_and_touches_nothing(topo):
    # The WAN's carrier is down: a host that guessed "wan0" would fail over at once.
    topo.set_isp(False)
    full = topo.config().read_text()
    lacking = {
        "wan.interface": full.replace('interface = "wan0"\n', ""),
        "failover.lan_interface": full.replace('lan_interface = "lan0"\n', ""),
        "gateway": re.sub(r"\[\[gateway\]\]\n(?:[^\[\n].*\n|\n)*", "", full),  # every [[gateway]] table
    }
    for field, text in lacking.items():
        assert text != full
        path = topo.tmp / f"lacking-{field}.toml"
        path.write_text(text)
        for command in ("host", "run"):
            proc = topo.nets.exec("router", sys.executable, "-m", "failover.cli", command, "--config", str(path),
                                  check=False)
            assert proc.returncode == 2, (field, command, proc.stderr)
            assert field in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
            assert topo.rules() == [] and topo.table_routes() == [], (field, command)
            assert not Path(topo.socket_path).exists()
