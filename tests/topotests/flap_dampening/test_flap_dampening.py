"""A flapping WAN does not make the rule churn, the penalty is what holds failback, and the end
state is right.

Schedule (failover/lab/flapping.py): WAN carrier down 0.1-0.5 s, up 0.1-5 s, for 90 s; the up
periods straddle the 1 s clean time. Rule changes are counted by an rtnetlink listener in the
router, not by the daemon.

Expected, default dampening: at most 3 rule changes (the first failover, at most one failback,
one more failover; the penalty then stays above reuse while the flapping lasts), then, once the
WAN is stable, one failback: no rule, gw1 told down.
Expected, penalty off (the clean time alone): the same schedule makes the rule come and go.
"""

import random
import threading

import pytest

from failover.lab.netns import wait_for

from failover.lab.flapping import flap
from failover.lab.routerlab import NO_HOLD, RouterTopology

DAMPENING = {"penalty": 1000, "half_life_ms": 2000, "suppress": 1500, "reuse": 750, "max_penalty": 6000,
             "min_clean_ms": 1000}


@pytest.fixture
def damped(topo):
    topo.start_host(topo.config(dampening=DAMPENING))
    return topo


@pytest.fixture
def undamped(tmp_path):
    (tmp_path / "undamped").mkdir()
    t = RouterTopology.build(tmp_path / "undamped", n_gateways=2)
    try:
        t.start_host(t.config(dampening=NO_HOLD))
        yield t
    finally:
        t.cleanup()


@pytest.mark.slow
def test_90_s_of_flapping_makes_at_most_3_rule_changes_and_without_the_penalty_churns(topo, undamped):
    topo.start_host()  # the shipped dampening defaults
    counts = {}

    def run(name, t):
        counts[name] = flap(t, "carrier", 90, random.Random(500))

    # the same schedule on both routers at once
    threads = [threading.Thread(target=run, args=a) for a in (("default", topo), ("penalty off", undamped))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"\n90 s of carrier flapping: rule changes {counts}")
    assert counts["default"] <= 3, counts
    assert counts["penalty off"] > 3, counts
    # Stable again: the penalty decays below reuse and it fails back once.
    wait_for(lambda: topo.rules() == [], timeout=120, interval=0.2, what="failback after the flapping")
    wait_for(lambda: topo.forwarding(1) == "0", what="gw1 told down")
    assert topo.state()["failover"] == "off"


@pytest.mark.slow
def test_path_flapping_is_damped_too(topo):
    topo.start_host()  # the shipped dampening defaults
    changes = flap(topo, "path", 30, random.Random(501))
    assert changes <= 3, f"{changes} rule changes in 30 s of path flapping"


def test_single_outage_fails_back_after_min_clean_time(damped):
    damped.set_isp(False)
    wait_for(lambda: damped.rules(), what="failover")
    damped.set_isp(True)
    wait_for(lambda: damped.rules() == [], timeout=5, what="failback")
    assert damped.state()["changes"] == "2"


def test_the_path_checks_first_verdict_is_not_a_flap(topo):
    # With wan.probe set the daemon assumes the path up until the sidecar's first verdict; a first
    # "down" (the target not answering yet at start) fails over but adds no penalty, so a real
    # outage soon after fails back after the clean time, not after a flap's hold (~20 s).
    cfg = topo.config()
    cfg.write_text(cfg.read_text().replace('interface = "wan0"\n', 'interface = "wan0"\nprobe = "203.0.113.1"\n', 1))
    topo.start_host(cfg)
    assert topo.control("path down") == "ok"
    wait_for(lambda: topo.rules(), what="failover on the first verdict")
    assert topo.control("path up") == "ok"
    wait_for(lambda: topo.rules() == [], timeout=5, what="failback after the clean time")
    topo.set_isp(False)
    wait_for(lambda: topo.rules(), what="failover on a carrier loss")
    topo.set_isp(True)
    wait_for(lambda: topo.rules() == [], timeout=5, what="failback after the clean time: one flap only")
