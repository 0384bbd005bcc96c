"""A flapping WAN does not make the rule churn, and the end state is right.

Expected: during flapping (every 100-500 ms) the rule goes in once and stays (failback needs
min_clean_ms of clean WAN, and after a few flaps the penalty suppresses it); once the WAN is
stable, one failback: no rule, gw1 told down. Config: half-life 2 s so the test ends quickly.
"""

import random

import pytest

from failover.netns import wait_for

from .flapping import flap

DAMPENING = """
penalty = 1000
half_life_ms = 2000
suppress = 3000
reuse = 1500
max_penalty = 6000
min_clean_ms = 1000
"""


@pytest.fixture
def damped(topo):
    topo.start_host(topo.config(dampening=DAMPENING))
    return topo


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["carrier", "path"])
def test_flapping_wan_does_not_churn_the_rule(damped, kind):
    changes = flap(damped, kind, 20, random.Random(500))
    print(f"\n{kind} flapping for 20 s: {changes} rule changes")
    assert changes <= 2, f"{changes} rule changes in 20 s of flapping"
    # Stable again: after the penalty decays (<= 2 half-lives from the ceiling) it fails back once.
    wait_for(lambda: damped.rules() == [], timeout=15, interval=0.1, what="failback after the flapping")
    wait_for(lambda: damped.forwarding(1) == "0", what="gw1 told down")
    assert damped.state()["failover"] == "off"


def test_single_outage_fails_back_after_min_clean_time(damped):
    damped.set_isp(False)
    wait_for(lambda: damped.rules(), what="failover")
    damped.set_isp(True)
    wait_for(lambda: damped.rules() == [], timeout=5, what="failback")
    assert damped.state()["changes"] == "2"
