"""SIGHUP reloads the config of `failover run`: applied live, or refused whole.

Three gateways exist; the config starts with gw1 and gw2. The WAN's carrier is cut, then:

- the gateway list changes (gw3 added; the elected gateway pinned): the failover rule
  stays (an rtnetlink listener sees no rule notification at all), table 100's default and the
  told-up gateway stay, gw1's and gw2's probes keep running (their sent counters never restart),
  gw3 is probed and answers;
- a broken file: refused with its error in the log, nothing changes, the process lives on;
- a change that cannot be applied live (the rule's priority): refused, named.

Expected routing state (router namespace), throughout after the carrier loss:

    one rule "1000: from all lookup 100"; table 100's default via the elected gateway (told up)
"""

from __future__ import annotations

import signal
import time

import pytest

from failover.lab.netns import wait_for

from failover.lab.sidecarlab import hb_fixture
from failover.lab.rulewatch import RuleWatch
from failover.lab.routerlab import gateway_address


@pytest.fixture
def hb(tmp_path):
    yield from hb_fixture(tmp_path, n_gateways=3)


def sent(hb) -> dict[str, float]:
    out = {}
    for line in hb.http.get("/metrics").text.splitlines():
        if line.startswith("failover_heartbeats_sent_total{"):
            address = line.split('address="')[1].split('"')[0]
            out[address] = float(line.split()[-1])
    return out


def test_sighup_applies_a_new_gateway_list_during_failover_and_refuses_bad_files(hb):
    topo = hb.topo
    gw1, gw2, gw3 = (gateway_address(i) for i in (1, 2, 3))
    config = hb.write_config(gateways=[gw1, gw2], probe=False)
    host = topo.start_host(config, command="run")
    hb.sidecar = host
    wait_for(hb._api_ready, timeout=15, what="the sidecar's REST API")
    wait_for(hb.all_up, timeout=10, what="gw1 and gw2 up")
    assert set(hb.gateways()) == {gw1, gw2}

    topo.set_isp(False)
    wait_for(topo.has_failover_rule, what="the failover rule")
    # gw2 pinned: the election (free to move between equal veth gateways) holds still, so what
    # moves after the reload is the reload's doing; and gw2 is not the config's first gateway,
    # where a restarted daemon starts. The pin must survive the reload, too.
    elected, i = gw2, 2
    r = hb.http.request("POST", "/api/v1/elect", json={"address": elected}, headers=hb.auth())
    assert r.status_code == 200, r.text
    wait_for(lambda: topo.default_via() == gw2 and topo.forwarding(2) == "1", what="gw2 elected and told up")
    watch = RuleWatch(topo.nets.ns("router")).start()
    # Independent observer of table 100's routes: `ip monitor route` from here on.
    monitor = topo.nets.spawn("router", ["ip", "monitor", "route"], log=topo.tmp / "routes.log")
    try:
        before = sent(hb)
        # gw3 added and the election's hold changed; gw1 and gw2 unchanged.
        config.write_text(config.read_text().replace("hold_ms = 500", "hold_ms = 700")
                          + f'[[gateway]]\nname = "gw3"\naddress = "{gw3}"\n')
        host.send_signal(signal.SIGHUP)
        wait_for(lambda: "reloaded" in topo.log("host"), what="the reload logged")
        assert "scripts restarted with the new conf.lua" in topo.log("host")
        assert "election switch_margin 0.2, hold_ms 700" in topo.log("host")
        wait_for(lambda: gw3 in hb.gateways() and hb.gateways()[gw3]["status"] == "up", timeout=10,
                 what="gw3 probed and up")
        after = sent(hb)
        # Unchanged probes kept running: their counters went on from where they were.
        assert all(after[a] > before[a] for a in (gw1, gw2)), (before, after)
        time.sleep(0.5)
        watch.sync()
        assert watch.events == [], watch.events  # the rule never went, never came again
        assert "table 100" not in topo.log("routes"), topo.log("routes")  # T's default never moved
        assert topo.has_failover_rule() and topo.default_via() == elected
        assert topo.forwarding(i) == "1" and topo.state()["elected"] == elected
        assert hb.state()["elected"] == {"address": elected, "name": f"gw{i}", "pinned": True}
        assert host.poll() is None

        # A broken file: refused with its error; the running config (three gateways) stays.
        config.write_text(config.read_text() + '[[gateway]]\nname = "gw4"\naddress = "10.10.0.300"\n')
        host.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in topo.log("host"), what="the refusal logged")
        assert "gateway.3.address" in topo.log("host"), topo.log("host")
        time.sleep(0.3)
        assert host.poll() is None
        assert set(hb.gateways()) == {gw1, gw2, gw3}
        watch.sync()
        assert watch.events == [] and topo.has_failover_rule() and topo.default_via() == elected
    finally:
        topo.nets.stop(monitor)
        watch.close()


def test_sighup_refuses_what_cannot_change_live(hb):
    topo = hb.topo
    config = hb.write_config(probe=False)
    host = topo.start_host(config, command="run")
    hb.sidecar = host
    wait_for(hb._api_ready, timeout=15, what="the sidecar's REST API")
    config.write_text(config.read_text().replace("priority = 1000", "priority = 1001"))
    host.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload refused" in topo.log("host"), what="the refusal logged")
    assert "failover.priority cannot change without a restart" in topo.log("host")
    assert host.poll() is None
    assert "nothing changed" not in topo.log("host")
